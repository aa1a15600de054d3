import { resourceTypes, type SearchParamDefinition } from '../resource-types.js';

const commonSearch = [
  { name: '_id', type: 'token', definition: 'http://hl7.org/fhir/SearchParameter/Resource-id', documentation: 'Logical id; several comma-separated.' },
  { name: '_lastUpdated', type: 'date', definition: 'http://hl7.org/fhir/SearchParameter/Resource-lastUpdated', documentation: 'Prefixes eq ne lt le gt ge sa eb.' },
];

function searchNote(p: SearchParamDefinition): string {
  if (p.blind) {
    // Personal data is searched through keyed blind indexes (docs/security.md).
    if (p.type === 'string') return 'encrypted: exact match on a whole name part, case- and accent-insensitive';
    if (p.type === 'date') return 'encrypted: exact YYYY, YYYY-MM or YYYY-MM-DD, no ranges';
    return `encrypted: exact code (system in clear)${p.codeSystem === undefined ? '' : `; implicit system ${p.codeSystem}`}`;
  }
  if (p.codeSystem !== undefined) return `exact; implicit system ${p.codeSystem}`;
  if (p.type === 'reference') return "exact; Type/id, id, or an absolute URL on this server's base";
  if (p.type === 'date') return 'prefixes eq ne lt le gt ge sa eb';
  return 'exact';
}

/**
 * The CapabilityStatement is generated from the same table the server runs on, so it lists
 * exactly what is supported (R4 §3.1.0.14 capabilities).
 */
export function capabilityStatement(baseUrl: string, version: string, date: string): Record<string, unknown> {
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date,
    publisher: 'Tresor',
    kind: 'instance',
    software: { name: 'Tresor', version },
    implementation: { description: 'Tresor health-data vault', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['json', 'application/fhir+json'],
    rest: [
      {
        mode: 'server',
        security: {
          cors: false,
          description: 'Authorization: Bearer <API key>. Every request is bound to the tenant of its key.',
        },
        resource: resourceTypes.map((definition) => ({
          type: definition.type,
          profile: `http://hl7.org/fhir/StructureDefinition/${definition.type}`,
          interaction: ['read', 'vread', 'update', 'delete', 'history-instance', 'create', 'search-type'].map((code) => ({ code })),
          versioning: 'versioned-update',
          readHistory: true,
          updateCreate: true,
          conditionalCreate: true,
          conditionalRead: 'not-supported',
          conditionalUpdate: false,
          conditionalDelete: 'not-supported',
          referencePolicy: ['literal', 'local', 'enforced'],
          searchParam: [
            ...commonSearch,
            ...definition.searchParams.map((p) => ({ name: p.name, definition: p.definition, type: p.type, documentation: `${p.expression}; ${searchNote(p)}` })),
          ],
          // The patient's compartment in pages (privacy/everything.ts): _since, _type, _count.
          ...(definition.type === 'Patient' ? { operation: [{ name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' }] } : {}),
        })),
        interaction: [{ code: 'transaction' }, { code: 'batch' }],
        searchParam: [
          { name: '_count', type: 'number', documentation: 'Page size, 0 to the configured maximum (default 1000).' },
          { name: '_offset', type: 'number', documentation: 'Paging offset (reads every earlier match); follow the Bundle next link instead.' },
          { name: '_cursor', type: 'string', documentation: 'Where a next link\'s page starts (keyset paging); follow the link as given.' },
          { name: '_sort', type: 'string', documentation: '_lastUpdated, _id or the type\'s date parameter; prefix - for descending.' },
          { name: '_total', type: 'token', documentation: 'none skips the count; accurate counts every match; estimate may give an upper bound above 1000; by default the exact count up to 1000 matches, none above.' },
        ],
      },
    ],
  };
}
