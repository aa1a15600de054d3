import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createLoginThrottle, delayAfter, throttlePolicy, type LoginThrottle } from '../../../src/identity/throttle.js';
import { fixedClock } from '../../../src/platform/clock.js';
import { engines, startTestApp, type TestApp } from '../../support/harness.js';

for (const engine of engines()) {
  describe(`login throttling (NIST SP 800-63B-4 §3.2.2, OWASP ASVS 5 V6.1.1 / V6.3.1) [${engine}]`, () => {
    let t: TestApp;
    let throttle: LoginThrottle;
    const clock = fixedClock(new Date('2026-11-23T12:00:00Z'));

    before(async () => {
      t = await startTestApp(engine);
      throttle = createLoginThrottle({ db: t.app.storage.platform, clock });
    });
    after(() => t.close());

    it('V6.3.1: free attempts, then delays that double from the last failure up to 15 minutes', async () => {
      const account = 'hmac-of:alexandra@nordklinik.example';
      for (let i = 1; i <= throttlePolicy.freeFailures; i += 1) {
        assert.deepEqual(await throttle.check(account, '198.51.100.7', 'nordklinik'), { allowed: true }, `attempt ${i}`);
        await throttle.failed(account, '198.51.100.7', 'nordklinik');
      }
      assert.deepEqual(await throttle.check(account, '198.51.100.7', 'nordklinik'), { allowed: false, reason: 'delay', retryAfterSeconds: 1 });
      clock.advance(1000);
      assert.deepEqual(await throttle.check(account, '198.51.100.7', 'nordklinik'), { allowed: true });
      await throttle.failed(account, '198.51.100.7', 'nordklinik');
      assert.deepEqual(await throttle.check(account, '203.0.113.9', 'nordklinik'), { allowed: false, reason: 'delay', retryAfterSeconds: 2 }, 'whatever address the next attempt comes from');
      assert.deepEqual([6, 10, 14, 15, 99].map(delayAfter), [2000, 32_000, 512_000, 900_000, 900_000]);

      // A success starts over.
      clock.advance(2000);
      await throttle.succeeded(account);
      assert.deepEqual(await throttle.check(account, '198.51.100.7', 'nordklinik'), { allowed: true });
      assert.equal((await throttle.failed(account, '198.51.100.7', 'nordklinik')).failures, 1);
    });

    it('locks an account at 100 consecutive failures until it is unlocked — the same for an identifier no account has', async () => {
      const nobody = 'hmac-of:nobody@nordklinik.example';
      let last = { locked: false, failures: 0 };
      for (let i = 0; i < throttlePolicy.lockAfterFailures; i += 1) {
        clock.advance(throttlePolicy.maxDelayMs);
        last = await throttle.failed(nobody, `192.0.2.${i % 200}`, 'nordklinik');
      }
      assert.deepEqual(last, { locked: true, failures: 100 });
      clock.advance(24 * 60 * 60_000);
      assert.deepEqual(await throttle.check(nobody, '192.0.2.1', 'nordklinik'), { allowed: false, reason: 'locked', retryAfterSeconds: 0 }, 'time alone does not unlock');
      await throttle.succeeded(nobody);
      assert.equal((await throttle.check(nobody, '192.0.2.1', 'nordklinik')).allowed, false, 'only an unlock does');
      await throttle.unlock(nobody);
      assert.deepEqual(await throttle.check(nobody, '192.0.2.1', 'nordklinik'), { allowed: true });
    });

    it('refuses a source address after 100 failures in 10 minutes, across accounts (password spraying), until the window passes', async () => {
      const sprayer = '203.0.113.66';
      for (let i = 0; i < throttlePolicy.sourceMaxFailures; i += 1) await throttle.failed(`hmac-of:user${i}@nordklinik.example`, sprayer, 'nordklinik');
      const refused = await throttle.check('hmac-of:fresh@nordklinik.example', sprayer, 'nordklinik');
      assert.deepEqual(refused, { allowed: false, reason: 'source', retryAfterSeconds: 600 });
      assert.deepEqual(await throttle.check('hmac-of:fresh@nordklinik.example', '198.51.100.8', 'nordklinik'), { allowed: true }, 'other addresses are not affected');
      clock.advance(throttlePolicy.sourceWindowMs);
      assert.deepEqual(await throttle.check('hmac-of:fresh@nordklinik.example', sprayer, 'nordklinik'), { allowed: true });
    });

    it('counts an address across the nodes of a deployment: two throttles on one database share one budget (issue 8: no limit in a process\'s memory)', async () => {
      const nodeA = createLoginThrottle({ db: t.app.storage.platform, clock });
      const nodeB = createLoginThrottle({ db: t.app.storage.platform, clock });
      const sprayer = '203.0.113.77';
      for (let i = 0; i < throttlePolicy.sourceMaxFailures; i += 1) await (i % 2 === 0 ? nodeA : nodeB).failed(`hmac-of:spray${i}@nordklinik.example`, sprayer, 'nordklinik');
      assert.equal((await nodeA.check('hmac-of:other@nordklinik.example', sprayer, 'nordklinik')).allowed, false);
      assert.equal((await nodeB.check('hmac-of:other@nordklinik.example', sprayer, 'nordklinik')).allowed, false);
      clock.advance(throttlePolicy.sourceWindowMs);
      assert.equal((await nodeB.check('hmac-of:other@nordklinik.example', sprayer, 'nordklinik')).allowed, true);
    });

    it("one tenant's failures from an address do not refuse another tenant's users behind it, until the global ceiling", async () => {
      const nat = '198.51.100.200';
      for (let i = 0; i < throttlePolicy.sourceMaxFailures; i += 1) await throttle.failed(`hmac-of:a${i}@a.example`, nat, 'tenant-a');
      assert.equal((await throttle.check('hmac-of:fresh@a.example', nat, 'tenant-a')).allowed, false, "the flooding tenant's own budget is spent");
      assert.deepEqual(await throttle.check('hmac-of:nurse@b.example', nat, 'tenant-b'), { allowed: true }, 'another tenant behind the same address signs in');
      // The global ceiling: failures at any tenants from one address, in one window.
      const tenants = ['tenant-b', 'tenant-c', 'tenant-d', 'tenant-e', 'tenant-f', 'tenant-g'];
      for (let i = throttlePolicy.sourceMaxFailures; i < throttlePolicy.sourceCeilingFailures; i += 1) {
        await throttle.failed(`hmac-of:spray${i}@x.example`, nat, tenants[i % tenants.length] as string);
      }
      const ceiling = await throttle.check('hmac-of:someone@z.example', nat, 'tenant-z');
      assert.equal(ceiling.allowed, false, 'the global ceiling refuses the address at every tenant, one it never failed at too');
      assert.deepEqual(await throttle.check('hmac-of:someone@z.example', '198.51.100.201', 'tenant-z'), { allowed: true }, 'other addresses are not affected');
      clock.advance(throttlePolicy.sourceWindowMs);
      assert.deepEqual(await throttle.check('hmac-of:someone@z.example', nat, 'tenant-z'), { allowed: true });
    });

    it('stores keyed hashes only: no identifier or address in the table', async () => {
      const rows = JSON.stringify(await t.app.storage.platform.query(`SELECT * FROM ${t.app.storage.platform.table('login_throttle')}`));
      assert.doesNotMatch(rows, /198\.51|203\.0|192\.0/);
    });
  });
}
