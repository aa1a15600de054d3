import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { scopeFormat, type PatientAccess, type Scope, type Suspect, type TenantScope } from '../breach/index.js';
import { assess, itemKey } from './assessment.js';
import type { AssessmentInput, ComputedItem } from './assessment-types.js';

const aware = Date.parse('2026-03-02T09:00:00Z');
const h = 3_600_000;
const day = 24 * h;

function tenantScope(tenantId: string, patients: number, options: { disclosure?: PatientAccess['disclosure']; classes?: string[]; attempts?: number } = {}): TenantScope {
  const disclosure = options.disclosure ?? 'in-clear';
  const classes = options.classes ?? ['personal', 'health'];
  const list = Array.from({ length: patients }, (_, i) => ({ patient: `Patient/${tenantId}-${i}`, disclosure, first: disclosure === 'in-clear' ? aware - day : null, last: disclosure === 'in-clear' ? aware - h : null, accesses: disclosure === 'in-clear' ? 2 : 0, classes: disclosure === 'in-clear' ? classes : [] }));
  return {
    tenantId,
    trail: { events: patients * 2, firstSeq: 1, lastSeq: patients * 2 },
    patients: { count: patients, truncated: false, list },
    records: { count: patients * 3, truncated: false, list: [] },
    classes: disclosure === 'in-clear' ? { inClear: classes, ciphertextOnly: [] } : { inClear: ['internal'], ciphertextOnly: classes },
    attempts: { count: options.attempts ?? 0, first: null, last: null, byAction: {} },
    changes: { count: 0, records: 0 },
    reasoning: { disclosedBy: {}, otherEvents: {}, sealedClasses: [], rules: [] },
  };
}

function scopeOf(tenants: TenantScope[], suspect: Suspect = { kind: 'api-key', values: ['key-1'] }): Scope {
  return { format: scopeFormat, inputs: { from: aware - 3 * day, to: aware - 1, suspect, tenants: tenants.map((t) => t.tenantId) }, tenants, totals: { tenants: tenants.length, patients: 0, records: 0, attempts: 0, inClear: true }, computedAt: aware, durationMs: 1, hash: 'x' };
}

const input = (scope: Scope, more: Partial<AssessmentInput> = {}): AssessmentInput => ({ scope, residency: {}, awareAt: aware, role: 'processor', regimes: ['gdpr', 'hipaa', 'pci'], ...more });
const item = (items: ComputedItem[], rule: string, tenant = 'clinic') => {
  const found = items.find((i) => i.key === itemKey(rule, tenant));
  assert.ok(found, `${rule}@${tenant}`);
  return found;
};
const answers = (items: ComputedItem[], tenant = 'clinic') => Object.fromEntries(items.filter((i) => i.tenantId === tenant).map((i) => [i.rule, i.answer]));

describe('notification assessment', () => {
  it('a key read health data of 1,200 patients in clear: authority, patients, HIPAA individuals and HHS; no media under 501 per State', () => {
    const residency = { clinic: { byJurisdiction: { 'US/CA': 450, 'US/NV': 350, 'US/OR': 400 }, unknown: 0 } };
    const items = assess(input(scopeOf([tenantScope('clinic', 1200)]), { residency }));
    assert.deepEqual(answers(items), {
      'gdpr.33-1': 'yes',
      'gdpr.33-2': 'yes',
      'gdpr.34-1': 'yes',
      'hipaa.164-402': 'yes',
      'hipaa.164-404': 'yes',
      'hipaa.164-406': 'no',
      'hipaa.164-408': 'yes',
      'hipaa.164-410': 'yes',
      'pci.12-10-1': 'not-applicable',
    });
    const authority = item(items, 'gdpr.33-1');
    assert.equal(authority.cite, 'GDPR Art. 33(1)');
    assert.match(authority.reasoning, /1,200 patients .* disclosed in clear through the API by a valid API key; classes: personal, health; health data \(Art\. 9\) involved/);
    assert.equal(authority.dueAt, aware + 72 * h);
    assert.equal(authority.contents?.length, 4);
    assert.match(item(items, 'hipaa.164-406').reasoning, /US\/CA 450/);
    assert.equal(item(items, 'hipaa.164-404').dueAt, aware + 60 * day);
    // 1,200 ≥ 500: HHS now, with the individual notices.
    assert.equal(item(items, 'hipaa.164-408').dueAt, aware + 60 * day);
  });

  it('media notice when more than 500 residents of one State; unknown addresses count cautiously, and it says so', () => {
    const over = assess(input(scopeOf([tenantScope('clinic', 600)]), { residency: { clinic: { byJurisdiction: { 'US/CA': 501, 'US/NV': 99 }, unknown: 0 } } }));
    assert.equal(item(over, 'hipaa.164-406').answer, 'yes');
    assert.match(item(over, 'hipaa.164-406').notify, /US\/CA/);
    const exactly = assess(input(scopeOf([tenantScope('clinic', 600)]), { residency: { clinic: { byJurisdiction: { 'US/CA': 500, 'US/NV': 100 }, unknown: 0 } } }));
    assert.equal(item(exactly, 'hipaa.164-406').answer, 'no', '500 is not more than 500');
    const unknown = assess(input(scopeOf([tenantScope('clinic', 600)]), { residency: { clinic: { byJurisdiction: { 'US/CA': 450 }, unknown: 150 } } }));
    assert.equal(item(unknown, 'hipaa.164-406').answer, 'yes');
    assert.match(item(unknown, 'hipaa.164-406').reasoning, /150 without a known address, counted as residents of US\/CA/);
    const unresolved = assess(input(scopeOf([tenantScope('clinic', 600)])));
    assert.equal(item(unresolved, 'hipaa.164-406').answer, 'yes', 'nobody resolved: all unknown');
  });

  it('fewer than 500: HHS in the annual log, due 60 days after the end of the calendar year', () => {
    const items = assess(input(scopeOf([tenantScope('clinic', 12)])));
    const hhs = item(items, 'hipaa.164-408');
    assert.equal(hhs.answer, 'yes');
    assert.equal(hhs.dueAt, Date.UTC(2027, 0, 1) + 60 * day - 1);
    assert.match(hhs.deadline.wording, /end of 2026/);
  });

  it('only ciphertext exposed, keys safe: Art. 34(3)(a) and the HIPAA encryption safe harbour, explained', () => {
    const items = assess(input(scopeOf([tenantScope('clinic', 1200, { disclosure: 'ciphertext-only', classes: ['personal', 'health', 'payment'] })], { kind: 'raw-files', keysExposed: false })));
    assert.deepEqual(answers(items), {
      'gdpr.33-1': 'no',
      'gdpr.33-2': 'yes',
      'gdpr.34-1': 'no',
      'hipaa.164-402': 'no',
      'hipaa.164-404': 'no',
      'hipaa.164-406': 'no',
      'hipaa.164-408': 'no',
      'hipaa.164-410': 'no',
      'pci.12-10-1': 'decide',
    });
    assert.match(item(items, 'gdpr.34-1').reasoning, /Art\. 34\(3\)\(a\) applies: the data was encrypted and unintelligible/);
    assert.match(item(items, 'hipaa.164-402').reasoning, /encryption safe harbour.*HHS guidance \(74 FR 42740\).*not unsecured PHI/);
    assert.match(item(items, 'gdpr.33-1').reasoning, /only as ciphertext in the raw database or backup files, without the keys/);
  });

  it('raw files with the keys: everything counts as in clear', () => {
    const items = assess(input(scopeOf([tenantScope('clinic', 5)], { kind: 'raw-files', keysExposed: true })));
    assert.equal(item(items, 'gdpr.34-1').answer, 'yes');
    assert.equal(item(items, 'hipaa.164-402').answer, 'yes');
  });

  it('payment data in clear: card brands and acquirer, within our 24 h target', () => {
    const items = assess(input(scopeOf([tenantScope('clinic', 3, { classes: ['personal', 'payment'] })])));
    assert.equal(item(items, 'pci.12-10-1').answer, 'yes');
    assert.equal(item(items, 'pci.12-10-1').dueAt, aware + 24 * h);
    assert.equal(item(items, 'gdpr.34-1').answer, 'yes');
  });

  it('personal data only, in clear: whether the risk is high is a person’s decision', () => {
    const items = assess(input(scopeOf([tenantScope('clinic', 3, { classes: ['personal'] })])));
    assert.equal(item(items, 'gdpr.34-1').answer, 'decide');
    assert.equal(item(items, 'gdpr.33-1').answer, 'yes');
  });

  it('attempts only: nothing to notify but the controller', () => {
    const items = assess(input(scopeOf([tenantScope('clinic', 0, { attempts: 7 })])));
    assert.equal(item(items, 'gdpr.33-1').answer, 'no');
    assert.match(item(items, 'gdpr.33-1').reasoning, /7 refused or failed attempts/);
    assert.equal(item(items, 'gdpr.33-2').answer, 'yes');
    assert.equal(item(items, 'hipaa.164-402').answer, 'no');
  });

  it('one checklist per affected tenant; untouched tenants have none', () => {
    const items = assess(input(scopeOf([tenantScope('clinic', 700), tenantScope('other', 500), tenantScope('quiet', 0)])));
    assert.deepEqual([...new Set(items.map((i) => i.tenantId))], ['clinic', 'other']);
    assert.equal(item(items, 'gdpr.34-1', 'other').notify, 'The 500 affected patients (by the controller)');
  });

  it('the platform as controller: no processor or business associate notices', () => {
    const items = assess(input(scopeOf([tenantScope('clinic', 3)]), { role: 'controller' }));
    assert.equal(item(items, 'gdpr.33-2').answer, 'not-applicable');
    assert.equal(item(items, 'hipaa.164-410').answer, 'not-applicable');
    assert.match(item(items, 'gdpr.33-1').notify, /^The competent supervisory authority$/);
  });

  it('regimes turned off leave no items', () => {
    const items = assess(input(scopeOf([tenantScope('clinic', 3)]), { regimes: ['gdpr'] }));
    assert.deepEqual([...new Set(items.map((i) => i.regime))], ['gdpr']);
  });

  it('an override of 164.402 (a documented risk assessment) carries into the HIPAA notices', () => {
    const scope = scopeOf([tenantScope('clinic', 3)]);
    const items = assess(input(scope, { overrides: new Map([[itemKey('hipaa.164-402', 'clinic'), 'no']]) }));
    assert.equal(item(items, 'hipaa.164-402').answer, 'yes', 'the computed answer stays');
    assert.equal(item(items, 'hipaa.164-404').answer, 'no');
    assert.equal(item(items, 'hipaa.164-410').answer, 'no');
    const undecided = assess(input(scope, { overrides: new Map([[itemKey('hipaa.164-402', 'clinic'), 'decide']]) }));
    assert.equal(item(undecided, 'hipaa.164-404').answer, 'decide');
  });

  it('names no patient in any text', () => {
    const items = assess(input(scopeOf([tenantScope('clinic', 4)])));
    assert.ok(items.every((i) => !JSON.stringify(i).includes('Patient/')));
  });
});
