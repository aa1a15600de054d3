import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { engines, startTestApp, type TestApp } from '../../support/harness.js';
import { registerApp } from '../../support/oauth.js';
import { signIn, signInOperator, signInWithTotp, testPassword } from '../../support/people.js';

/**
 * The sign-in and credential rules over real HTTP traffic: attacks sent as a client would send
 * them (from the addresses they would come from), evaluated by the engine afterwards, raised as
 * one alert each — and the benign look-alikes raising nothing. Thresholds are lowered where the
 * defaults would need hundreds of requests; brute force runs at its defaults.
 */
for (const engine of engines()) {
  describe(`sign-in and credential rules [${engine}]`, () => {
    let t: TestApp;
    // The TOTP codes are computed for the app's clock (the harness's starts here and moves 1 ms a reading).
    const now = () => Date.parse('2026-01-01T00:00:00Z');
    before(async () => {
      t = await startTestApp(engine, {
        detection: {
          walkSeconds: 3600,
          rules: {
            'auth.password-spraying': { accounts: 4 },
            'auth.credential-stuffing': { failures: 8, sources: 4, accounts: 4 },
            'auth.client-auth-burst': { failures: 5 },
          },
        },
      });
      // Each scenario in its own tenant: realm-wide windows do not mix.
      for (const tenant of ['bf', 'spray', 'stuff', 'busy', 'keys', 'roam']) await t.tenant(tenant);
      // The engine starts at each chain's head: look once, so that everything after counts.
      for (const realm of ['bf', 'spray', 'stuff', 'busy', 'keys', 'roam', 'operators']) await t.app.detection?.evaluate(realm);
    });
    after(() => t.close());

    const post = (url: string, body: unknown, remoteAddress = '127.0.0.1') =>
      t.app.http.inject({ method: 'POST', url, remoteAddress, headers: { 'content-type': 'application/json' }, payload: JSON.stringify(body) });
    const login = (tenant: string, email: string, password: string, remoteAddress?: string) => post(`/tenants/${tenant}/auth/login`, { email, password }, remoteAddress);
    const alerts = async (realm: string, rule: string) => {
      await t.app.detection?.evaluate(realm);
      return t.app.alerts.list(realm, { rule });
    };

    it('auth.brute-force: password guesses into the throttle raise one alert at the defaults — the throttled attempts are recorded and count', async () => {
      const alice = await signIn(t, 'bf', 'clinician', 'alice@bf.example');
      await signIn(t, 'bf', 'clinician', 'bob@bf.example');
      for (let i = 0; i < 5; i += 1) assert.equal((await login('bf', 'alice@bf.example', `guess number ${i}`)).statusCode, 401);
      for (let i = 5; i < 10; i += 1) {
        const refused = await login('bf', 'alice@bf.example', `guess number ${i}`);
        assert.equal(refused.statusCode, 429, 'the throttle refuses before any password work');
      }
      // Benign: Bob mistypes twice, then gets it right.
      for (let i = 0; i < 2; i += 1) assert.equal((await login('bf', 'bob@bf.example', 'almost my password')).statusCode, 401);
      assert.equal((await login('bf', 'bob@bf.example', testPassword)).statusCode, 200);

      const raised = await alerts('bf', 'auth.brute-force');
      assert.deepEqual(raised.map((a) => a.subject), [`Account/${alice.accountId}`]);
      assert.equal(raised[0]?.count, 1);
      assert.equal(raised[0]?.severity, 'high');
      const detail = await t.app.alerts.get('bf', raised[0]?.id as string);
      assert.deepEqual(detail.events.map((e) => e.action), [...Array<string>(5).fill('auth.login_failed'), ...Array<string>(5).fill('auth.login_throttled')]);
      const throttled = await t.app.audit.query('bf', { count: 50, actions: ['auth.login_throttled'] });
      assert.ok(throttled.every((e) => e.status === 429 && e.detail === 'password delay' && e.resources[0] === `Account/${alice.accountId}`));
      assert.ok(!JSON.stringify(detail).includes('guess number') && !JSON.stringify(detail).includes('alice@'), 'neither the password nor the typed address');
    });

    it('auth.brute-force: a refused flood is recorded at most 20 times per address and window (the trail cannot be flooded)', async () => {
      for (let i = 0; i < 40; i += 1) assert.equal((await login('bf', 'alice@bf.example', 'flooding guess')).statusCode, 429);
      assert.equal((await t.app.audit.query('bf', { count: 100, actions: ['auth.login_throttled'] })).length, 20);
      assert.equal((await login('bf', 'alice@bf.example', 'from elsewhere', '198.51.100.99')).statusCode, 429);
      assert.equal((await t.app.audit.query('bf', { count: 100, actions: ['auth.login_throttled'] })).length, 21, 'another address has its own budget');
    });

    it('auth.brute-force: wrong second-factor codes, then the second factor\'s throttle, raise it too', async () => {
      const carol = await signInWithTotp(t, 'bf', 'clinician', 'carol@bf.example', now);
      await t.app.detection?.evaluate('bf');
      const started = await login('bf', 'carol@bf.example', testPassword);
      const { ticket } = JSON.parse(started.body) as { ticket: string };
      for (let i = 0; i < 10; i += 1) {
        // From an address of its own: 127.0.0.1 spent its recorded refusals in the test before.
        const answer = await post('/tenants/bf/auth/second-factor', { ticket, code: '000000' }, '198.51.100.40');
        assert.equal(answer.statusCode, i < 5 ? 401 : 429);
      }
      const raised = (await alerts('bf', 'auth.brute-force')).filter((a) => a.subject === `Account/${carol.accountId}`);
      assert.equal(raised.length, 1);
      const events = (await t.app.alerts.get('bf', raised[0]?.id as string)).events;
      assert.deepEqual([...new Set(events.map((e) => e.action))], ['auth.mfa_failed', 'auth.login_throttled']);
      assert.ok(events.filter((e) => e.action === 'auth.login_throttled').every((e) => e.detail === 'second-factor delay'));
    });

    it('auth.operator-sign-in and auth.brute-force in the operators\' realm', async () => {
      const operator = await signInOperator(t, 'operator', 'ops@hosting.example', now);
      const signIns = await alerts('operators', 'auth.operator-sign-in');
      assert.deepEqual(signIns.map((a) => a.subject), [`Account/${operator.accountId}`]);
      assert.equal(signIns[0]?.severity, 'low');
      assert.match(signIns[0]?.summary ?? '', /\(operator\) signed in from 127\.0\.0\.1/);
      // Benign for brute force: that sign-in; then ten wrong passwords are not.
      assert.equal((await alerts('operators', 'auth.brute-force')).length, 0);
      for (let i = 0; i < 10; i += 1) assert.ok([401, 429].includes((await post('/platform/auth/login', { email: 'ops@hosting.example', password: `operator guess ${i}` })).statusCode));
      assert.deepEqual((await alerts('operators', 'auth.brute-force')).map((a) => a.subject), [`Account/${operator.accountId}`]);
      assert.equal((await t.app.alerts.list('bf', { rule: 'auth.operator-sign-in' })).length, 0, 'tenants\' sign-ins are not operators\'');
    });

    it('auth.password-spraying: one address failing at many accounts, unknown addresses counted by pseudonym', async () => {
      await signIn(t, 'spray', 'clinician', 'erin@spray.example');
      await signIn(t, 'spray', 'front-desk', 'finn@spray.example');
      const sprayer = '198.51.100.20';
      for (const email of ['erin@spray.example', 'finn@spray.example', 'nobody@spray.example', 'ghost@spray.example', 'nobody@spray.example']) {
        assert.equal((await login('spray', email, 'Summer2026!', sprayer)).statusCode, 401);
      }
      // Benign: three colleagues mistyping behind the practice's address.
      for (const email of ['erin@spray.example', 'finn@spray.example', 'gina@spray.example']) assert.equal((await login('spray', email, 'typo', '198.51.100.21')).statusCode, 401);

      const raised = await alerts('spray', 'auth.password-spraying');
      assert.deepEqual(raised.map((a) => a.subject), [sprayer]);
      assert.equal(raised[0]?.count, 2, 'the crossing and the repeat after it');
      assert.match(raised[0]?.summary ?? '', /against 4 accounts from 198\.51\.100\.20/);
      const detail = await t.app.alerts.get('spray', raised[0]?.id as string);
      assert.equal(detail.events.length, 5);
      const pseudonyms = detail.events.filter((e) => e.resources.length === 0).map((e) => e.detail);
      assert.equal(pseudonyms.length, 3);
      assert.ok(pseudonyms.every((p) => /^unknown-account:[0-9a-f]{16}$/.test(p)));
      assert.equal(pseudonyms[0], pseudonyms[2], 'the same typed address, the same pseudonym');
      assert.notEqual(pseudonyms[0], pseudonyms[1]);
      assert.ok(!JSON.stringify(detail).includes('nobody') && !JSON.stringify(detail).includes('Summer2026'));
    });

    it('auth.credential-stuffing: many addresses, many accounts, no success; a busy morning with typos raises nothing', async () => {
      for (let i = 0; i < 9; i += 1) assert.equal((await login('stuff', `leaked${i}@mail.example`, `leaked-password-${i}`, `203.0.113.${30 + i}`)).statusCode, 401);
      const raised = await alerts('stuff', 'auth.credential-stuffing');
      assert.deepEqual(raised.map((a) => a.subject), ['realm:stuff']);
      assert.equal(raised[0]?.severity, 'critical');
      assert.equal(raised[0]?.count, 2);
      assert.equal((await t.app.alerts.get('stuff', raised[0]?.id as string)).events.length, 9);
      assert.equal((await alerts('stuff', 'auth.password-spraying')).length, 0, 'one attempt per address is no spray');

      for (let i = 0; i < 8; i += 1) await signIn(t, 'busy', 'clinician', `staff${i}@busy.example`);
      for (let i = 0; i < 8; i += 1) assert.equal((await login('busy', `staff${i}@busy.example`, 'typo', `203.0.113.${60 + i}`)).statusCode, 401);
      assert.equal((await alerts('busy', 'auth.credential-stuffing')).length, 0);
    });

    it('auth.client-auth-burst: wrong API keys, tokens and client secrets from one address, recorded without what was presented', async () => {
      const { client } = await registerApp(t, 'keys', { name: 'Lab export', kind: 'backend', role: 'service-reader', scope: 'system/Patient.rs', redirectUris: [] });
      const attacker = '203.0.113.50';
      const wrongKey = (i: number) => `tresor_sk_${'0'.repeat(15)}${i}_${'A'.repeat(43)}`;
      const bearer = (value: string, remoteAddress: string, tenant = 'keys') => t.app.http.inject({ method: 'GET', url: `/tenants/${tenant}/fhir/Patient`, remoteAddress, headers: { authorization: `Bearer ${value}` } });
      for (let i = 0; i < 3; i += 1) assert.equal((await bearer(wrongKey(i), attacker)).statusCode, 401);
      assert.equal((await bearer('keys.not-a-real-token-aaaaaaaaaaaaaaaaaaaa', attacker)).statusCode, 401);
      const token = await t.app.http.inject({
        method: 'POST',
        url: '/tenants/keys/oauth/token',
        remoteAddress: attacker,
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${client.clientId}:wrong-client-secret`).toString('base64')}` },
        payload: 'grant_type=client_credentials&scope=system%2FPatient.rs',
      });
      assert.equal(token.statusCode, 401, token.body);
      // Benign: an integration with a revoked key, twice, from its own server.
      for (let i = 0; i < 2; i += 1) assert.equal((await bearer(wrongKey(9), '203.0.113.51')).statusCode, 401);
      // A tenant that does not exist gets no trail made for it by a stranger's request.
      assert.equal((await bearer(wrongKey(8), attacker, 'nosuch')).statusCode, 401);
      assert.equal(await t.app.tenants.get('nosuch'), undefined);

      const raised = await alerts('keys', 'auth.client-auth-burst');
      assert.deepEqual(raised.map((a) => a.subject), [attacker]);
      assert.match(raised[0]?.summary ?? '', /5 failed client authentications \(api_key, access_token, client_secret\)/);
      const events = (await t.app.alerts.get('keys', raised[0]?.id as string)).events;
      assert.deepEqual(events.map((e) => e.detail), ['api_key', 'api_key', 'api_key', 'access_token', 'client_secret']);
      assert.equal(events[4]?.actor.id, `client:${client.clientId}`, 'the client it claimed to be, which exists');
      const trail = JSON.stringify(await t.app.audit.query('keys', { count: 100, actions: ['auth.credential_failed'] }));
      assert.ok(!trail.includes('AAAAAAAA') && !trail.includes('wrong-client-secret') && !trail.includes('not-a-real-token'), 'never the presented credential');
    });

    it('auth.new-source: a known credential from a new address; first use, known places and patients raise nothing', async () => {
      const dora = await signIn(t, 'roam', 'clinician', 'dora@roam.example');
      assert.equal((await login('roam', 'dora@roam.example', testPassword)).statusCode, 200);
      assert.equal((await login('roam', 'dora@roam.example', testPassword, '198.51.100.77')).statusCode, 200);
      const key = await t.key('roam', 'service');
      const read = (remoteAddress: string) => t.app.http.inject({ method: 'GET', url: '/tenants/roam/fhir/Patient', remoteAddress, headers: { authorization: `Bearer ${key}` } });
      assert.equal((await read('127.0.0.1')).statusCode, 200);
      assert.equal((await read('127.0.0.1')).statusCode, 200);
      assert.equal((await read('192.0.2.5')).statusCode, 200);
      // Benign: a patient signs in from home, then from the phone.
      await signIn(t, 'roam', 'patient', 'pat@roam.example', { patient: 'Patient/p1' });
      assert.equal((await login('roam', 'pat@roam.example', testPassword, '192.0.2.200')).statusCode, 200);

      const raised = await alerts('roam', 'auth.new-source');
      const keyId = /^tresor_sk_([0-9a-f]{16})_/.exec(key)?.[1];
      assert.deepEqual(raised.map((a) => a.subject).sort(), [`Account/${dora.accountId}`, `apikey:${keyId}`].sort());
      assert.ok(raised.every((a) => a.severity === 'low'));
      assert.match(raised.find((a) => a.subject.startsWith('Account/'))?.summary ?? '', /used from 198\.51\.100\.77, an address it has not used before/);
      assert.ok(!JSON.stringify(raised).includes('dora@'));
    });
  });
}
