import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testEvent, testRealm } from '../../../test/support/detection-events.js';
import { wideApp } from './wide-app.js';

describe('change.wide-app', () => {
  const run = (scope: string, config = wideApp.defaults) =>
    wideApp.evaluate(testEvent({ action: 'app.registered', detail: `app c-42 (Pocket Chart, confidential); scope ${scope}; awaiting approval` }), undefined, config, testRealm);

  it('raises system/*.* as high, listing the wide scopes and the client id but not the app’s name', () => {
    const { findings, state } = run('openid system/*.* patient/Observation.rs');
    assert.equal(findings?.[0]?.subject, 'app:c-42');
    assert.equal(findings?.[0]?.severity, 'high');
    assert.match(findings?.[0]?.summary ?? '', /system\/\*\.\*/);
    assert.doesNotMatch(findings?.[0]?.summary ?? '', /Observation|Pocket Chart/);
    assert.equal(state, undefined, 'keeps no state');
  });

  it('raises patient/*.write as high, user/*.rs and system/Observation.rs at the rule’s severity', () => {
    assert.equal(run('patient/*.write').findings?.[0]?.severity, 'high');
    assert.equal(run('user/*.rs').findings?.[0]?.severity, undefined);
    assert.equal(run('system/Observation.rs').findings?.[0]?.severity, undefined);
  });

  it('does not trigger on an app asking for a few record types of the patient in context', () => {
    assert.deepEqual(run('openid fhirUser launch/patient patient/Observation.rs patient/Patient.r offline_access'), {});
  });

  it('follows the switches: without systemScopes a system scope on one type passes', () => {
    assert.deepEqual(run('system/Observation.rs', { systemScopes: false, wildcardScopes: true }), {});
  });
});
