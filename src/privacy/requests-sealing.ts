import { KeyError, open, seal, type Keys } from '../keys/index.js';
import type { SqlDatabase, SqlExecutor } from '../platform/db/index.js';
import type { SealedElsewhere } from '../rotation/index.js';
import type { RequestTexts } from './requests-types.js';

/**
 * What people wrote in a request, sealed under the subject's data key as `<key id>.<version>.<AES-256-GCM
 * envelope, base64url>`, bound to the tenant and the request (the AAD): a sealed text moved to
 * another request or tenant does not open.
 */
const aad = (tenantId: string, id: string) => `privacy-request|${tenantId}|${id}`;

interface SealedParts {
  readonly keyId: string;
  readonly version: number;
  readonly body: string;
}

function partsOf(sealed: string): SealedParts {
  const [body, version, ...keyId] = sealed.split('.').reverse();
  return { keyId: keyId.reverse().join('.'), version: Number(version), body: body ?? '' };
}

/** Nothing when there is nothing to seal, or the subject's key was shredded (the subject is erased). */
export async function sealRequestTexts(keys: Keys, tenantId: string, id: string, subject: string, texts: RequestTexts): Promise<string | undefined> {
  if (Object.keys(texts).length === 0) return undefined;
  let key;
  try {
    key = await keys.dataKeyFor(tenantId, subject);
  } catch (error) {
    if (error instanceof KeyError && error.code === 'key-shredded') return undefined;
    throw error;
  }
  return `${key.keyId}.${key.version}.${seal(key.key, Buffer.from(JSON.stringify(texts), 'utf8'), aad(tenantId, id)).toString('base64url')}`;
}

/**
 * The texts, or undefined when the subject's key was shredded (they were erased: what they wrote
 * is gone, as it should be). A key that is merely missing is an error, never "no text".
 */
export async function openRequestTexts(keys: Keys, tenantId: string, id: string, sealed: string | undefined): Promise<RequestTexts | undefined> {
  if (sealed === undefined) return undefined;
  const { keyId, version, body } = partsOf(sealed);
  try {
    const key = await keys.dataKey(tenantId, keyId, version);
    return JSON.parse(open(key.key, Buffer.from(body, 'base64url'), aad(tenantId, id)).toString('utf8')) as RequestTexts;
  } catch (error) {
    if (error instanceof KeyError && error.code === 'key-shredded') return undefined;
    throw error;
  }
}

/**
 * The requests' part of a tenant key rotation (rotation.ts): texts still sealed under a data key
 * version older than the new generation are sealed again under their subject's current key, so
 * retiring the old versions leaves them readable; an erased subject's stay as they are (unreadable).
 */
export function requestTextsSealed(keys: Keys): SealedElsewhere {
  const stale = async (db: SqlExecutor, generation: number) =>
    (await db.query<{ id: string; subject: string; sealed: string }>(`SELECT id, subject, sealed FROM ${db.table('privacy_requests')} WHERE sealed IS NOT NULL`)).filter(
      (row) => partsOf(row.sealed).version < generation,
    );
  return {
    name: 'privacy requests',
    async reseal(tenantId: string, db: SqlDatabase, generation: number) {
      let moved = 0;
      for (const row of await stale(db, generation)) {
        const texts = await openRequestTexts(keys, tenantId, row.id, row.sealed);
        if (texts === undefined) continue;
        const again = await sealRequestTexts(keys, tenantId, row.id, row.subject, texts);
        if (again === undefined) continue;
        // Only if unchanged meanwhile: a change sealed the texts anew under the current key.
        moved += await db.execute(`UPDATE ${db.table('privacy_requests')} SET sealed = ? WHERE id = ? AND sealed = ?`, [again, row.id, row.sealed]);
      }
      return moved;
    },
    async keyIdsInUse(db: SqlExecutor, generation: number) {
      return [...new Set((await stale(db, generation)).map((row) => partsOf(row.sealed).keyId))];
    },
  };
}
