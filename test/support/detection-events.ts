import type { DetectionEvent, EventRule, RealmContext, RuleConfig } from '../../src/detection/index.js';

/** An audit event as rules see it, for rule unit tests: defaults of a failed tenant sign-in, overridden per test. */
export function auditEvent(fields: Partial<DetectionEvent> & { readonly seq: number }): DetectionEvent {
  return {
    action: 'auth.login_failed',
    outcome: 'failure',
    status: 401,
    actor: { id: 'unknown', role: 'none', client: 'tresor-auth' },
    purpose: 'HOPERAT',
    resources: [],
    subjects: [],
    classes: [],
    requestId: '',
    sourceIp: '203.0.113.7',
    detail: '',
    tenantId: 'clinic',
    at: Date.parse('2026-03-02T09:00:00Z') + fields.seq * 1000,
    ...fields,
  };
}

export const tenantRealm: RealmContext = { realm: 'clinic', operators: false, timeZone: 'Europe/Berlin', workingHours: { days: [1, 2, 3, 4, 5], start: '07:00', end: '19:00' } };

/**
 * Runs a rule over events as the engine would (state per key carried from one to the next) and
 * returns every finding with the state it left per key.
 */
export function runRule<S, C extends RuleConfig>(rule: EventRule<S, C>, events: readonly DetectionEvent[], overrides: Partial<C> = {}, realm: RealmContext = tenantRealm) {
  const config = { ...rule.defaults, ...overrides } as C;
  const states = new Map<string, S>();
  const findings: Array<{ subject: string; summary: string; severity?: string; evidence: readonly number[] }> = [];
  for (const event of events) {
    if (!rule.actions.includes(event.action)) continue;
    const key = rule.key?.(event, config);
    const outcome = rule.evaluate(event, key === undefined ? undefined : states.get(key), config, realm);
    if (key !== undefined && outcome.state !== undefined) {
      if (outcome.state === null) states.delete(key);
      else states.set(key, outcome.state);
    }
    for (const f of outcome.findings ?? []) findings.push({ ...f, evidence: f.evidence ?? [event.seq] });
  }
  return { findings, states };
}


/**
 * An audit event as the engine hands it to a rule, for the rules' unit tests: a clinic's
 * administrator acting from the console unless told otherwise.
 */
export function testEvent(fields: Partial<DetectionEvent> & Pick<DetectionEvent, 'action'>): DetectionEvent {
  return {
    outcome: 'success',
    status: 200,
    actor: { id: 'account:admin-1', role: 'tenant-admin', client: 'session' },
    purpose: 'HOPERAT',
    resources: [],
    subjects: [],
    classes: [],
    requestId: 'req-1',
    sourceIp: '192.0.2.10',
    detail: '',
    tenantId: 'clinic',
    seq: 1,
    at: Date.parse('2026-03-02T09:00:00Z'),
    ...fields,
  };
}

export const testRealm: RealmContext = {
  realm: 'clinic',
  operators: false,
  timeZone: 'Europe/Berlin',
  workingHours: { days: [1, 2, 3, 4, 5], start: '07:00', end: '19:00' },
};
