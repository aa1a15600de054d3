import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Provider, { type Adapter } from 'oidc-provider';
import { dropPgSchemas, engines } from '../../test/support/harness.js';
import { openStorage, sqliteDefaults, type SqlDatabase, type Storage } from '../platform/db/index.js';
import { createAdapterClass, sweepArtifacts, type AdapterDeps } from './adapter.js';
import { oauthArtifactMigrations } from './artifact-migrations.js';

const migrations = { platform: [], keys: [], tenant: oauthArtifactMigrations };
const start = Date.parse('2026-01-01T00:00:00Z');
const minimalClient = { client_id: 'c', client_secret: 'x', redirect_uris: ['https://app.example/cb'] };

/** oidc-provider passes on whatever its `ttl` setting returns, undefined included, whatever its types say. */
const noTtl = undefined as unknown as number;

/** A fresh opaque token, as oidc-provider makes them (43 characters, 256 bits). */
const token = () => randomBytes(32).toString('base64url');

for (const engine of engines()) {
  describe(`OAuth artifact adapter (${engine})`, () => {
    let storage: Storage;
    let dataDir: string;
    const schemaPrefix = `t${randomBytes(5).toString('hex')}`;
    let tenantSeq = 0;

    before(async () => {
      dataDir = mkdtempSync(join(tmpdir(), 'tresor-oauth-'));
      storage = await openStorage(
        engine === 'sqlite'
          ? { engine: 'sqlite', dataDir, sqlite: sqliteDefaults }
          : { engine: 'postgres', postgres: { url: process.env['TRESOR_TEST_PG_URL'] as string, poolSize: 3, statementTimeoutMs: 10_000, schemaPrefix } },
        migrations,
      );
    });

    after(async () => {
      await storage.close();
      if (engine === 'postgres') await dropPgSchemas(schemaPrefix);
      rmSync(dataDir, { recursive: true, force: true });
    });

    /** A tenant data set of its own per test, and a clock the test moves. */
    async function setup(clients: Record<string, Record<string, unknown>> = {}) {
      tenantSeq += 1;
      const db = await storage.tenant(`t${tenantSeq}`, { create: true });
      const clock = { now: start };
      const lookedUp: string[] = [];
      const deps: AdapterDeps = {
        db: async () => db,
        now: () => clock.now,
        findClient: async (id) => {
          lookedUp.push(id);
          return clients[id];
        },
      };
      const Adapter = createAdapterClass(deps);
      return { db, clock, lookedUp, deps, Adapter, adapter: (model: string): Adapter => new Adapter(model) };
    }

    async function rows(db: SqlDatabase) {
      return db.query<Record<string, unknown>>(`SELECT * FROM ${db.table('oauth_artifacts')} ORDER BY model, id`);
    }

    /** Every column of every row as text: what a reader of the table (or a backup of it) sees. */
    async function tableText(db: SqlDatabase): Promise<string> {
      return JSON.stringify(await rows(db));
    }

    it('round-trips a payload and gives back its jti, which it did not store', async () => {
      const { db, adapter } = await setup();
      const accessTokens = adapter('AccessToken');
      const id = token();
      const payload = { jti: id, kind: 'AccessToken', accountId: 'a1', clientId: 'c', grantId: 'g1', scope: 'openid', iat: 1, exp: 2, extra: { tenant: 't' } };
      await accessTokens.upsert(id, payload, 3600);
      assert.deepEqual(await accessTokens.find(id), payload);
      const [row] = await rows(db);
      assert.equal(JSON.parse(row?.['payload'] as string).jti, undefined);
      assert.equal(row?.['grant_id'], 'g1');
      assert.equal(row?.['expires_at'], start + 3_600_000);
      assert.equal(row?.['consumed_at'], null);
      assert.equal(await adapter('RefreshToken').find(id), undefined, 'models do not share ids');
      assert.equal(await accessTokens.find(token()), undefined);
      await assert.rejects(accessTokens.upsert(token(), { $cutAtId: [] }, 60), /reserved/, 'the one field name the adapter keeps for itself');
    });

    it('stores no bearer id anywhere: a reader of the table finds no token, cookie or interaction id', async () => {
      const { db, adapter } = await setup();
      const secrets: string[] = [];
      for (const model of ['AccessToken', 'RefreshToken', 'AuthorizationCode', 'ClientCredentials', 'PushedAuthorizationRequest', 'RegistrationAccessToken']) {
        const id = token();
        secrets.push(id);
        await adapter(model).upsert(id, { jti: id, kind: model, grantId: 'g', clientId: 'c' }, 60);
      }
      const sessionId = token();
      secrets.push(sessionId);
      await adapter('Session').upsert(sessionId, { jti: sessionId, kind: 'Session', uid: 'u1', accountId: 'a1', exp: 9 }, 60);
      // An Interaction's id is its cookie; its own returnTo names it, and its session carries the login cookie.
      const interactionId = token();
      secrets.push(interactionId);
      const interaction = {
        jti: interactionId,
        kind: 'Interaction',
        returnTo: `http://localhost/tenants/t1/oauth/auth/${interactionId}?again=${interactionId}`,
        session: { accountId: 'a1', uid: 'u1', cookie: sessionId },
        params: { client_id: 'c', state: '$cutAtId 100% literal' },
      };
      await adapter('Interaction').upsert(interactionId, interaction, 60);

      const text = await tableText(db);
      for (const secret of secrets) assert.ok(!text.includes(secret), 'no column of any row holds a bearer id');
      assert.equal((await rows(db)).length, 8);

      const found = await adapter('Interaction').find(interactionId);
      assert.equal(found?.['returnTo'], interaction.returnTo, 'fields naming the id are whole again');
      assert.deepEqual(found?.['session'], { accountId: 'a1', uid: 'u1' }, 'the login cookie is dropped (oidc-provider never reads it)');
      assert.deepEqual(found?.['params'], interaction.params);
      assert.equal(found?.['jti'], interactionId);
      assert.equal((await adapter('Session').find(sessionId))?.['jti'], sessionId);
    });

    it('keeps Grant ids as given (a handle every token of the grant names, not a secret)', async () => {
      const { db, adapter } = await setup();
      await adapter('Grant').upsert('grant-1', { jti: 'grant-1', kind: 'Grant', accountId: 'a1', clientId: 'c' }, 60);
      assert.deepEqual((await rows(db)).map((row) => row['id']), ['grant-1']);
      assert.deepEqual(await adapter('Grant').find('grant-1'), { jti: 'grant-1', kind: 'Grant', accountId: 'a1', clientId: 'c' });
    });

    it('hides expired rows from every lookup; no expiresIn means no expiry', async () => {
      const { clock, adapter } = await setup();
      const sessions = adapter('Session');
      const codes = adapter('DeviceCode');
      const id = token();
      await sessions.upsert(id, { jti: id, uid: 'u1' }, 10);
      await codes.upsert('dc', { jti: 'dc', userCode: 'ABCD-EFGH' }, 10);
      await adapter('Grant').upsert('g', { jti: 'g' }, noTtl);
      await adapter('Grant').upsert('g0', { jti: 'g0' }, 0);
      clock.now = start + 9_999;
      assert.ok(await sessions.find(id));
      assert.ok(await sessions.findByUid('u1'));
      assert.ok(await codes.findByUserCode('ABCD-EFGH'));
      clock.now = start + 10_000;
      assert.equal(await sessions.find(id), undefined);
      assert.equal(await sessions.findByUid('u1'), undefined);
      assert.equal(await codes.findByUserCode('ABCD-EFGH'), undefined);
      clock.now = start + 365 * 86_400_000;
      assert.ok(await adapter('Grant').find('g'));
      assert.ok(await adapter('Grant').find('g0'));
    });

    it('consume marks the artifact consumed (epoch seconds), and an upsert sets it to what its payload says', async () => {
      const { clock, adapter } = await setup();
      const codes = adapter('AuthorizationCode');
      const id = token();
      await codes.upsert(id, { jti: id, grantId: 'g' }, 60);
      assert.equal((await codes.find(id))?.consumed, undefined);
      clock.now = start + 1_500;
      await codes.consume(id);
      const consumed = await codes.find(id);
      assert.equal(consumed?.consumed, Math.floor((start + 1_500) / 1000));
      assert.equal(consumed?.jti, id);
      await codes.consume(token()); // an unknown id changes nothing
      await codes.upsert(id, { ...consumed, exp: 5 }, 60);
      assert.equal((await codes.find(id))?.consumed, Math.floor((start + 1_500) / 1000), 'a re-save keeps the consumption');
      await codes.upsert(id, { jti: id, grantId: 'g' }, 60);
      assert.equal((await codes.find(id))?.consumed, undefined, 'a payload without `consumed` clears it');
    });

    it('destroy deletes the artifact of its own model only', async () => {
      const { adapter } = await setup();
      const id = token();
      await adapter('AccessToken').upsert(id, { jti: id }, 60);
      await adapter('RefreshToken').upsert(id, { jti: id }, 60);
      await adapter('AccessToken').destroy(id);
      assert.equal(await adapter('AccessToken').find(id), undefined);
      assert.ok(await adapter('RefreshToken').find(id));
      await adapter('AccessToken').destroy(id); // twice is fine
    });

    it("revokeByGrantId removes only that grant's rows of that model", async () => {
      const { adapter } = await setup();
      const [a1, a2, a3, r1] = [token(), token(), token(), token()];
      await adapter('AccessToken').upsert(a1, { jti: a1, grantId: 'g1' }, 60);
      await adapter('AccessToken').upsert(a2, { jti: a2, grantId: 'g1' }, 60);
      await adapter('AccessToken').upsert(a3, { jti: a3, grantId: 'g2' }, 60);
      await adapter('RefreshToken').upsert(r1, { jti: r1, grantId: 'g1' }, 60);
      await adapter('AccessToken').revokeByGrantId('g1');
      assert.equal(await adapter('AccessToken').find(a1), undefined);
      assert.equal(await adapter('AccessToken').find(a2), undefined);
      assert.ok(await adapter('AccessToken').find(a3), 'another grant keeps its tokens');
      assert.ok(await adapter('RefreshToken').find(r1), 'another model keeps its rows (oidc-provider revokes model by model)');
    });

    it('findByUid finds the session without its id; the latest save of a uid answers', async () => {
      const { clock, adapter } = await setup();
      const sessions = adapter('Session');
      const [oldId, newId] = [token(), token()];
      await sessions.upsert(oldId, { jti: oldId, kind: 'Session', uid: 'u1', accountId: 'a1' }, 60);
      clock.now = start + 1_000;
      await sessions.upsert(newId, { jti: newId, kind: 'Session', uid: 'u1', accountId: 'a2' }, 60);
      assert.deepEqual(await sessions.findByUid('u1'), { kind: 'Session', uid: 'u1', accountId: 'a2' }, 'no jti: it is the login cookie, not stored');
      await sessions.destroy(newId);
      assert.equal((await sessions.findByUid('u1'))?.['accountId'], 'a1');
      assert.equal(await sessions.findByUid('u2'), undefined);
      assert.equal(await adapter('AccessToken').findByUid('u1'), undefined, 'the uid belongs to the Session model');
    });

    it('findByUserCode finds the device code with its jti (the device flow saves it under that id)', async () => {
      const { adapter } = await setup();
      const codes = adapter('DeviceCode');
      const id = token();
      const payload = { jti: id, kind: 'DeviceCode', userCode: 'WDJB-MJHT', clientId: 'c', params: { scope: 'openid' } };
      await codes.upsert(id, payload, 600);
      assert.deepEqual(await codes.findByUserCode('WDJB-MJHT'), payload);
      assert.deepEqual(await codes.find(id), payload);
      assert.equal(await codes.findByUserCode('XXXX-XXXX'), undefined);
    });

    it('Client reads delegate to the client register and writes are refused', async () => {
      const { db, lookedUp, adapter } = await setup({ c: minimalClient });
      const clients = adapter('Client');
      assert.deepEqual(await clients.find('c'), minimalClient);
      assert.equal(await clients.find('nope'), undefined);
      assert.deepEqual(lookedUp, ['c', 'nope']);
      await assert.rejects(clients.upsert('d', { client_id: 'd' }, 0), /read-only/);
      await assert.rejects(clients.destroy('c'), /read-only/);
      await assert.rejects(clients.consume('c'), /read-only/);
      assert.equal((await rows(db)).length, 0);
    });

    it('sweepArtifacts deletes exactly the expired rows', async () => {
      const { db, clock, adapter } = await setup();
      const [gone, edge, live] = [token(), token(), token()];
      await adapter('AccessToken').upsert(gone, { jti: gone }, 5);
      await adapter('AccessToken').upsert(edge, { jti: edge }, 10);
      await adapter('AccessToken').upsert(live, { jti: live }, 11);
      await adapter('Grant').upsert('forever', { jti: 'forever' }, noTtl);
      clock.now = start + 10_000;
      assert.equal(await sweepArtifacts(db, clock.now), 2);
      assert.equal((await rows(db)).length, 2);
      assert.ok(await adapter('AccessToken').find(live));
      assert.ok(await adapter('Grant').find('forever'));
      assert.equal(await sweepArtifacts(db, clock.now), 0);
    });

    it('serves a real oidc-provider: tokens found by value and revoked by grant, sessions and interactions stored without their cookies', async () => {
      const { db, Adapter } = await setup({ c: minimalClient });
      // Keys and settings of its own, so that it runs quietly (no development-only defaults).
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const provider = new Provider('http://localhost/tenants/t1/oauth', {
        adapter: Adapter,
        clients: [],
        jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'k1', use: 'sig', alg: 'RS256' }] },
        cookies: { keys: [randomBytes(32).toString('base64url')] },
        features: { devInteractions: { enabled: false } },
        ttl: { AccessToken: 3600 },
      });
      const client = await provider.Client.find('c');
      assert.equal(client?.clientId, 'c', 'clients come from the register');
      const issue = (grantId: string) => new provider.AccessToken({ accountId: 'a', client: client!, grantId, scope: 'openid', gty: 'authorization_code' }).save();
      const value = await issue('g');
      const other = await issue('h');
      assert.ok(!(await tableText(db)).includes(value), 'the token value is not in the table');
      const found = await provider.AccessToken.find(value);
      assert.equal(found?.jti, value);
      assert.equal(found?.accountId, 'a');
      assert.equal(found?.grantId, 'g');
      assert.equal(found?.isValid, true);
      await provider.AccessToken.revokeByGrantId('g');
      assert.equal(await provider.AccessToken.find(value), undefined);
      assert.ok(await provider.AccessToken.find(other), "another grant's token lives on");

      // A login session and an interaction as oidc-provider itself shapes them: neither cookie is in the table.
      const session = new provider.Session();
      session.loginAccount({ accountId: 'a' });
      await session.save(600);
      const interactionId = token();
      // (The type definitions leave out the constructor oidc-provider's own authorization code uses.)
      const InteractionModel = provider.Interaction as unknown as new (id: string, payload: Record<string, unknown>) => InstanceType<typeof provider.Interaction>;
      const interaction = new InteractionModel(interactionId, { session, returnTo: `http://localhost/tenants/t1/oauth/auth/${interactionId}`, params: { client_id: 'c' }, prompt: { name: 'consent' } });
      await interaction.save(600);
      const text = await tableText(db);
      assert.ok(!text.includes(session.jti) && !text.includes(interactionId));
      assert.equal((await provider.Session.find(session.jti))?.accountId, 'a');
      assert.equal((await provider.Session.findByUid(session.uid))?.accountId, 'a');
      const foundInteraction = await provider.Interaction.find(interactionId);
      assert.equal(foundInteraction?.returnTo, `http://localhost/tenants/t1/oauth/auth/${interactionId}`);
      assert.equal(foundInteraction?.session?.uid, session.uid);
    });
  });
}
