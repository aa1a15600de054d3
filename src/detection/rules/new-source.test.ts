import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditEvent, runRule } from '../../../test/support/detection-events.js';
import { newSource } from './new-source.js';

const signIn = (seq: number, sourceIp: string, role = 'clinician') =>
  auditEvent({ seq, action: 'auth.login_succeeded', outcome: 'success', status: 200, actor: { id: 'account:usr_a', role, client: 'tresor-auth' }, resources: ['Account/usr_a'], sourceIp });
const keyRead = (seq: number, sourceIp: string) => auditEvent({ seq, action: 'record.read', outcome: 'success', status: 200, actor: { id: '0123456789abcdef', role: 'service', client: 'lab interface' }, resources: ['Observation/1/_history/1'], sourceIp });
const appRead = (seq: number, sourceIp: string) => auditEvent({ seq, action: 'record.read', outcome: 'success', status: 200, actor: { id: 'account:usr_a', role: 'clinician', client: 'oauth:app_x' }, sourceIp });

describe('auth.new-source', () => {
  it('raises when a known credential is used from an address it has not used before: sign-in, API key, app token', () => {
    const { findings } = runRule(newSource, [signIn(1, '203.0.113.7'), signIn(2, '203.0.113.7'), signIn(3, '198.51.100.9'), keyRead(4, '192.0.2.1'), keyRead(5, '192.0.2.2'), appRead(6, '192.0.2.1'), appRead(7, '192.0.2.3')]);
    assert.deepEqual(
      findings.map((f) => f.subject),
      ['Account/usr_a', 'apikey:0123456789abcdef', 'oauth:app_x|account:usr_a'],
    );
    assert.match(findings[0]?.summary ?? '', /Account\/usr_a used from 198\.51\.100\.9, an address it has not used before \(1 known\)/);
  });

  it('does not raise for the first use ever (no history), for known addresses, for patients by default, or for a new IPv6 address in a known /64', () => {
    const events = [
      signIn(1, '203.0.113.7'),
      signIn(2, '203.0.113.7'),
      signIn(3, '2001:db8:1:2::10'),
      signIn(4, '2001:db8:1:2:aaaa::11'),
      auditEvent({ seq: 5, action: 'auth.login_succeeded', outcome: 'success', status: 200, actor: { id: 'account:usr_p', role: 'patient', client: 'tresor-auth' }, resources: ['Account/usr_p'], sourceIp: '192.0.2.1' }),
      auditEvent({ seq: 6, action: 'auth.login_succeeded', outcome: 'success', status: 200, actor: { id: 'account:usr_p', role: 'patient', client: 'tresor-auth' }, resources: ['Account/usr_p'], sourceIp: '192.0.2.2' }),
      keyRead(7, '192.0.2.1'),
    ];
    const { findings } = runRule(newSource, events);
    assert.deepEqual(findings.map((f) => f.summary.split(' ')[3]), ['2001:db8:1:2::10,'], 'only the first IPv6 network is new; its neighbour is not');
  });

  it('forgets the least recently used address past the bound, so the state stays small', () => {
    const events = Array.from({ length: 500 }, (_, i) => signIn(i + 1, `10.0.${i >> 8}.${i & 255}`));
    const { states, findings } = runRule(newSource, [...events, signIn(501, '10.0.0.0')], { addressesKept: 20 });
    assert.equal(states.get('Account/usr_a')?.networks.length, 20);
    assert.equal(findings.length, 500, 'every new one after the first, and the long-forgotten first again');
  });
});
