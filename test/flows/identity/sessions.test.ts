import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fixedClock } from '../../../src/platform/clock.js';
import { sweepIdentity } from '../../../src/identity/index.js';
import { engines, startTestApp, type TestApp } from '../../support/harness.js';

const minute = 60_000;

for (const engine of engines()) {
  describe(`sessions (OWASP ASVS 5 V7) [${engine}]`, () => {
    let t: TestApp;
    const clock = fixedClock(new Date('2026-11-23T08:00:00Z'));
    const ip = { secondFactor: true, sourceIp: '198.51.100.20' };

    before(async () => {
      t = await startTestApp(engine, {}, { clock });
      await t.tenant('clinic');
    });
    after(() => t.close());

    it('V7.2.3 / V7.3.1: a 256-bit token, stored only as its hash, that ends after 15 minutes without a request', async () => {
      const { token, session } = await t.app.sessions.start('clinic', 'usr_a', ip);
      assert.match(token, /^clinic\.[A-Za-z0-9_-]{43}$/, "the tenant, then 256 random bits");
      assert.equal((await t.app.sessions.resolve('clinic', token))?.id, session.id);
      const db = await t.app.storage.tenant('clinic');
      const stored = JSON.stringify(await db.query(`SELECT * FROM ${db.table('sessions')}`));
      assert.ok(!stored.includes(token), 'the token is not stored');
      // Activity keeps it alive…
      for (let i = 0; i < 6; i += 1) {
        clock.advance(10 * minute);
        assert.ok(await t.app.sessions.resolve('clinic', token), `alive after ${(i + 1) * 10} active minutes`);
      }
      // …15 quiet minutes end it.
      clock.advance(15 * minute);
      assert.equal(await t.app.sessions.resolve('clinic', token), undefined);
      assert.equal(await t.app.sessions.resolve('clinic', 'x'.repeat(43)), undefined);
    });

    it('V7.3.2: ends 12 hours after login however active it was', async () => {
      const { token } = await t.app.sessions.start('clinic', 'usr_b', ip);
      for (let elapsed = 0; elapsed < 12 * 60 - 10; elapsed += 10) {
        clock.advance(10 * minute);
        assert.ok(await t.app.sessions.resolve('clinic', token));
      }
      clock.advance(10 * minute);
      assert.equal(await t.app.sessions.resolve('clinic', token), undefined);
    });

    it('V7.4.3 / V7.4.5 / V7.5.2: lists and revokes sessions one by one or all but the current one', async () => {
      const first = await t.app.sessions.start('clinic', 'usr_c', ip);
      const second = await t.app.sessions.start('clinic', 'usr_c', { secondFactor: false, sourceIp: '203.0.113.5' });
      const third = await t.app.sessions.start('clinic', 'usr_c', ip);
      await t.app.sessions.start('clinic', 'usr_other', ip);
      assert.deepEqual((await t.app.sessions.list('clinic', 'usr_c')).map((s) => s.id).sort(), [first, second, third].map((s) => s.session.id).sort());
      assert.equal(await t.app.sessions.revoke('clinic', second.session.id), true);
      assert.equal(await t.app.sessions.resolve('clinic', second.token), undefined);
      assert.equal(await t.app.sessions.revokeAll('clinic', 'usr_c', third.session.id), 1, 'the first only: the second was revoked already');
      assert.equal(await t.app.sessions.resolve('clinic', first.token), undefined);
      assert.ok(await t.app.sessions.resolve('clinic', third.token), 'the current session stays');
      assert.equal((await t.app.sessions.list('clinic', 'usr_other')).length, 1, 'other accounts untouched');
    });

    it('V7.2.4: a new token for the same session on re-authentication or a change of privilege; the old one stops at once', async () => {
      const { token, session } = await t.app.sessions.start('clinic', 'usr_d', ip);
      const fresh = await t.app.sessions.rotate('clinic', token);
      assert.ok(fresh !== undefined && fresh !== token);
      assert.equal(await t.app.sessions.resolve('clinic', token), undefined);
      assert.equal((await t.app.sessions.resolve('clinic', fresh))?.id, session.id);
      assert.equal(await t.app.sessions.rotate('clinic', token), undefined, 'an old token cannot be rotated');
    });

    it('CSRF (OWASP CSRF Prevention Cheat Sheet, synchronizer token): bound to the session, checked in constant time', async () => {
      const a = await t.app.sessions.start('clinic', 'usr_e', ip);
      const b = await t.app.sessions.start('clinic', 'usr_e', ip);
      const csrf = t.app.sessions.csrfToken(a.token);
      assert.equal(t.app.sessions.checkCsrf(a.token, csrf), true);
      assert.equal(t.app.sessions.checkCsrf(b.token, csrf), false, 'another session’s token');
      assert.equal(t.app.sessions.checkCsrf(a.token, undefined), false);
      assert.equal(t.app.sessions.checkCsrf(a.token, `${csrf}x`), false);
    });

    it('ended sessions and spent tokens are swept a day after they stopped working; live ones stay', async () => {
      const db = await t.app.storage.tenant('clinic');
      const count = async (table: string) => Number((await db.query<{ n: number }>(`SELECT COUNT(*) AS n FROM ${db.table(table)}`))[0]?.n);
      await sweepIdentity(t.app.storage, 'clinic', clock, 15);
      const ended = await t.app.sessions.start('clinic', 'usr_sweep', ip);
      await t.app.sessions.revoke('clinic', ended.session.id);
      const { setupToken } = await t.app.accounts.invite({ tenantId: 'clinic', role: 'front-desk', email: 'sweep.me@clinic.example', by: { id: 'cli:test', role: 'operator', client: 'test' } });
      await t.app.accounts.completeSetup({ tenantId: 'clinic', token: setupToken, password: 'seven hungry otters swim the fjord', sourceIp: '127.0.0.1' });
      const [sessionsBefore, tokensBefore] = [await count('sessions'), await count('account_tokens')];
      assert.deepEqual(await sweepIdentity(t.app.storage, 'clinic', clock, 15), { tokens: 0, sessions: 0 }, 'nothing within the day of grace');
      clock.advance(25 * 60 * minute);
      const live = await t.app.sessions.start('clinic', 'usr_sweep', ip);
      const swept = await sweepIdentity(t.app.storage, 'clinic', clock, 15);
      assert.ok(swept.sessions >= 1 && swept.tokens >= 1, JSON.stringify(swept));
      assert.equal(await count('sessions'), sessionsBefore - swept.sessions + 1);
      assert.equal(await count('account_tokens'), tokensBefore - swept.tokens);
      assert.ok(await t.app.sessions.resolve('clinic', live.token), 'a live session stays');
    });
  });
}
