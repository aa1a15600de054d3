import type { SqlExecutor } from '../platform/db/index.js';
import type { SealedElsewhere } from '../rotation/index.js';

/**
 * The personal downloads' part of a tenant key rotation (rotation.ts). A ready download's files
 * are sealed under the patient's data key version of the day they were made; they live only
 * until their links expire (`privacyExports.linkDays`). Rather than rewrite files a patient may be
 * downloading at that moment, the rotation leaves such a version in place — it keeps its key-
 * encryption key with it — and the next rotation retires it once the download has expired.
 */
export function exportFilesSealed(): SealedElsewhere {
  return {
    name: 'personal downloads',
    reseal: async () => 0,
    async keyIdsInUse(db: SqlExecutor, generation: number) {
      const rows = await db.query<{ key_id: string }>(`SELECT DISTINCT key_id FROM ${db.table('privacy_exports')} WHERE state = 'ready' AND key_id IS NOT NULL AND key_version < ?`, [generation]);
      return rows.map((r) => r.key_id);
    },
  };
}
