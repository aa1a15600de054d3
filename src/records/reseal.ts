import { KeyError, type DataKey, type Keys } from '../keys/index.js';
import type { SqlDatabase, SqlExecutor } from '../platform/db/index.js';
import { resealEnvelopes } from './sealing.js';

/**
 * The records' half of a key rotation: finds stored versions sealed under a data key version
 * older than the tenant's new generation and seals them again under the subject's new version,
 * a batch at a time, in key order, so a job can stop anywhere and go on from its cursor.
 */
export type ResealTable = 'resources' | 'resource_versions';

export interface ResealCursor {
  readonly table: ResealTable;
  readonly type: string;
  readonly id: string;
  /** resource_versions only. */
  readonly versionId: number;
}

export interface ResealStep {
  /** Rows looked at (re-encrypted, or left because their subject was erased or they failed). */
  readonly rows: number;
  readonly fields: number;
  /** Rows that failed their integrity check: they keep their old key version, which is then not retired. */
  readonly failed: ReadonlyArray<{ table: ResealTable; type: string; id: string; versionId: number }>;
  /** Where to go on from; null when both tables are done. */
  readonly cursor: ResealCursor | null;
}

interface StaleRow {
  readonly resource_type: string;
  readonly id: string;
  readonly version_id: number;
  readonly sealed: string;
}

export interface Resealer {
  /** Stored versions still sealed under a key version older than `generation` (erased subjects' excepted). */
  countStale(db: SqlExecutor, generation: number): Promise<number>;
  /** Re-encrypts up to `limit` rows after `cursor` (null: from the start). */
  step(tenantId: string, db: SqlDatabase, generation: number, cursor: ResealCursor | null, limit: number): Promise<ResealStep>;
  /** From now on the data set refuses writes sealed under a version older than `generation`. */
  raiseFloor(db: SqlDatabase, generation: number): Promise<void>;
  /** Key ids that stored versions still use below `generation` (what must not be retired). */
  keyIdsInUse(db: SqlExecutor, generation: number): Promise<string[]>;
}

const start: ResealCursor = { table: 'resources', type: '', id: '', versionId: 0 };

export function createResealer(keys: Keys): Resealer {
  async function staleRows(db: SqlExecutor, generation: number, cursor: ResealCursor, limit: number): Promise<StaleRow[]> {
    if (cursor.table === 'resources') {
      // Erased resources (deleted = 2) stay as they are: their key is gone for good.
      return db.query<StaleRow>(
        `SELECT resource_type, id, version_id, sealed FROM ${db.table('resources')} WHERE (resource_type, id) > (?, ?) AND key_version < ? AND deleted < 2 ORDER BY resource_type, id LIMIT ?`,
        [cursor.type, cursor.id, generation, limit],
      );
    }
    return db.query<StaleRow>(
      `SELECT resource_type, id, version_id, sealed FROM ${db.table('resource_versions')} WHERE (resource_type, id, version_id) > (?, ?, ?) AND key_version < ? ORDER BY resource_type, id, version_id LIMIT ?`,
      [cursor.type, cursor.id, cursor.versionId, generation, limit],
    );
  }

  return {
    async countStale(db, generation) {
      const rows = await db.query<{ n: number | string }>(
        `SELECT (SELECT COUNT(*) FROM ${db.table('resources')} WHERE key_version < ? AND deleted < 2) + (SELECT COUNT(*) FROM ${db.table('resource_versions')} WHERE key_version < ?) AS n`,
        [generation, generation],
      );
      return Number(rows[0]?.n ?? 0);
    },

    async step(tenantId, db, generation, from, limit) {
      let cursor = from ?? start;
      let rows = await staleRows(db, generation, cursor, limit);
      if (rows.length === 0 && cursor.table === 'resources') {
        cursor = { ...start, table: 'resource_versions' };
        rows = await staleRows(db, generation, cursor, limit);
      }
      if (rows.length === 0) return { rows: 0, fields: 0, failed: [], cursor: null };

      // Each old key once per batch; then each subject's new key, made together (one commit on SQLite).
      const oldKeys = new Map<string, Promise<DataKey | undefined>>();
      const oldKey = (keyId: string, version: number) => {
        const name = `${keyId}.${version}`;
        let found = oldKeys.get(name);
        if (found === undefined) {
          found = keys.dataKey(tenantId, keyId, version).catch((error: unknown) => {
            if (error instanceof KeyError && error.code === 'key-shredded') return undefined;
            throw error;
          });
          oldKeys.set(name, found);
        }
        return found;
      };
      const envelopeKey = /^\["v1\.([0-9a-f]{16})\.(\d{1,9})\./;
      const subjects = new Map<string, Promise<DataKey | undefined>>();
      for (const row of rows) {
        const match = envelopeKey.exec(row.sealed);
        if (match === null) continue;
        const key = await oldKey(match[1] as string, Number(match[2]));
        if (key !== undefined && !subjects.has(key.subject)) {
          subjects.set(
            key.subject,
            keys.dataKeyFor(tenantId, key.subject).catch((error: unknown) => {
              // Shredded since the batch was read: the data stays sealed under the destroyed key.
              if (error instanceof KeyError && error.code === 'key-shredded') return undefined;
              throw error;
            }),
          );
        }
      }
      const lookup = async (keyId: string, version: number) => {
        const key = await oldKey(keyId, version);
        if (key === undefined) throw new KeyError('key-shredded', 'destroyed', { status: 410 });
        return key;
      };

      const updates: Array<{ row: StaleRow; sealed: string; next: DataKey }> = [];
      const failed: Array<{ table: ResealTable; type: string; id: string; versionId: number }> = [];
      let fields = 0;
      for (const row of rows) {
        const where = { table: cursor.table, type: row.resource_type, id: row.id, versionId: Number(row.version_id) };
        const match = envelopeKey.exec(row.sealed);
        if (match === null) {
          failed.push(where);
          continue;
        }
        const old = await oldKey(match[1] as string, Number(match[2]));
        const next = old === undefined ? undefined : await subjects.get(old.subject);
        if (next === undefined) continue; // an erased subject's data stays under its destroyed key
        try {
          const result = await resealEnvelopes({ tenantId, type: row.resource_type, id: row.id, versionId: where.versionId }, row.sealed, lookup, next);
          updates.push({ row, sealed: result.sealed, next });
          fields += result.fields;
        } catch (error) {
          if (!(error instanceof KeyError)) throw error;
          if (error.code === 'integrity-failed') failed.push(where);
          else if (error.code !== 'key-shredded') throw error;
        }
      }

      const table = db.table(cursor.table);
      await db.transaction(async (tx) => {
        for (const { row, sealed, next } of updates) {
          // Only if nobody wrote the row since it was read: a newer write is under the new key already.
          await tx.execute(`UPDATE ${table} SET sealed = ?, key_id = ?, key_version = ? WHERE resource_type = ? AND id = ? AND version_id = ? AND sealed = ?`, [
            sealed,
            next.keyId,
            next.version,
            row.resource_type,
            row.id,
            row.version_id,
            row.sealed,
          ]);
        }
      });
      const last = rows[rows.length - 1] as StaleRow;
      return { rows: rows.length, fields, failed, cursor: { table: cursor.table, type: last.resource_type, id: last.id, versionId: Number(last.version_id) } };
    },

    async raiseFloor(db, generation) {
      await db.execute(`UPDATE ${db.table('key_floor')} SET version = ? WHERE id = 1 AND version < ?`, [generation, generation]);
    },

    async keyIdsInUse(db, generation) {
      const rows = await db.query<{ key_id: string }>(
        `SELECT DISTINCT key_id FROM ${db.table('resources')} WHERE key_version < ? UNION SELECT DISTINCT key_id FROM ${db.table('resource_versions')} WHERE key_version < ?`,
        [generation, generation],
      );
      return rows.map((r) => r.key_id);
    },
  };
}
