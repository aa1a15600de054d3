import { KeyError, type DataKey, type Keys } from '../keys/index.js';
import type { SqlDatabase, SqlExecutor } from '../platform/db/index.js';
import { resealVersion } from './sealing.js';

/**
 * The records' half of a key rotation: finds stored versions sealed under a data key version
 * older than the tenant's new generation and seals them again under the subject's new version
 * (with any free text still stored in clear from before it was sealed), a batch at a time, in key order, so a job can stop anywhere and go on from its cursor.
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
  /** Rows sealed again under the new key (each one envelope). */
  readonly resealed: number;
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
  /** The elements stored in clear (JSON object text). */
  readonly content: string;
  /** null: nothing was sealed (a version stored before free text was sealed; see below). */
  readonly sealed: string | null;
  /** The data key that sealed the row, as recorded beside it (records/003); null with `sealed`. */
  readonly key_id: string | null;
  readonly key_version: number | null;
  /** The record's key subject, for a row that names no key. */
  readonly key_subject: string | null;
}

export interface Resealer {
  /** Stored versions still sealed under a key version older than `generation` (erased subjects' excepted). */
  countStale(db: SqlExecutor, generation: number): Promise<number>;
  /** One job's run: the keys it unwrapped stay memoised until `close`. */
  session(tenantId: string): ResealSession;
  /** From now on the data set refuses writes sealed under a version older than `generation`. */
  raiseFloor(db: SqlDatabase, generation: number): Promise<void>;
  /** Key ids that stored versions still use below `generation` (what must not be retired). */
  keyIdsInUse(db: SqlExecutor, generation: number): Promise<string[]>;
}

export interface ResealSession {
  /**
   * Re-encrypts every stale row after `from` (null: from the start), `limit` rows per batch,
   * yielding after each batch is committed. The next batch is read and encrypted while the
   * previous one waits for its commit to be durable.
   */
  pass(db: SqlDatabase, generation: number, from: ResealCursor | null, limit: number): AsyncGenerator<ResealStep>;
  close(): Promise<void>;
}

const start: ResealCursor = { table: 'resources', type: '', id: '', versionId: 0 };

/**
 * Keys a rotation job has unwrapped, kept across its batches (the key caches empty whenever the
 * key store changes, which a rotation does all the time). Safe against a concurrent shred: a
 * shred destroys every version of the subject, including the one this memo would seal under,
 * so data re-encrypted with a memoised key after a shred is as unreadable as before.
 */
interface KeyMemo {
  /** `<key id>.<version>` → key (undefined: destroyed; null: not in the key store at all). */
  readonly old: Map<string, DataKey | undefined | null>;
  /** subject → its key of the new generation (undefined: destroyed). */
  readonly next: Map<string, DataKey | undefined | null>;
}

const memoLimit = 50_000;

const updateChunk = 100;

/**
 * One statement for many rows (UPDATE … FROM VALUES, SQLite ≥ 3.33 and PostgreSQL), each row
 * changed only if nobody wrote it since it was read: a newer write is under the new key already.
 */
function resealSql(db: SqlExecutor, table: string, count: number): string {
  const cast = db.dialect === 'postgres';
  const first = cast ? '(?::text, ?::text, ?::integer, ?::text, ?::text, ?::text, ?::text, ?::integer)' : '(?, ?, ?, ?, ?, ?, ?, ?)';
  const values = [first, ...Array.from({ length: count - 1 }, () => '(?, ?, ?, ?, ?, ?, ?, ?)')].join(', ');
  const v = cast ? 'v(resource_type, id, version_id, old_sealed, new_content, new_sealed, key_id, key_version)' : 'v';
  const [type, id, version, old, content, fresh, keyId, keyVersion] = cast
    ? ['v.resource_type', 'v.id', 'v.version_id', 'v.old_sealed', 'v.new_content', 'v.new_sealed', 'v.key_id', 'v.key_version']
    : ['v.column1', 'v.column2', 'v.column3', 'v.column4', 'v.column5', 'v.column6', 'v.column7', 'v.column8'];
  return `UPDATE ${table} SET content = ${content}, sealed = ${fresh}, key_id = ${keyId}, key_version = ${keyVersion} FROM (VALUES ${values}) AS ${v} WHERE ${table}.resource_type = ${type} AND ${table}.id = ${id} AND ${table}.version_id = ${version} AND ${table}.sealed ${cast ? 'IS NOT DISTINCT FROM' : 'IS'} ${old}`;
}

export function createResealer(keys: Keys): Resealer {
  // A live version without any sealed element (key_version NULL) was stored before structured
  // values were sealed: every such version has at least `meta` in clear, which is sealed now.
  async function staleRows(db: SqlExecutor, generation: number, cursor: ResealCursor, limit: number): Promise<StaleRow[]> {
    if (cursor.table === 'resources') {
      // Erased resources (deleted = 2) stay as they are: their key is gone for good.
      return db.query<StaleRow>(
        `SELECT resource_type, id, version_id, content, sealed, key_id, key_version, key_subject FROM ${db.table('resources')} WHERE (resource_type, id) > (?, ?) AND (key_version < ? OR (key_version IS NULL AND deleted = 0)) AND deleted < 2 ORDER BY resource_type, id LIMIT ?`,
        [cursor.type, cursor.id, generation, limit],
      );
    }
    const versions = db.table('resource_versions');
    return db.query<StaleRow>(
      `SELECT v.resource_type, v.id, v.version_id, v.content, v.sealed, v.key_id, v.key_version, (SELECT r.key_subject FROM ${db.table('resources')} r WHERE r.resource_type = v.resource_type AND r.id = v.id AND r.deleted < 2) AS key_subject FROM ${versions} v WHERE (v.resource_type, v.id, v.version_id) > (?, ?, ?) AND (v.key_version < ? OR (v.key_version IS NULL AND v.deleted = 0)) ORDER BY v.resource_type, v.id, v.version_id LIMIT ?`,
      [cursor.type, cursor.id, cursor.versionId, generation, limit],
    );
  }

  type Failure = { table: ResealTable; type: string; id: string; versionId: number };
  interface Prepared {
    readonly table: ResealTable;
    readonly rows: StaleRow[];
    /** null when a row needs no write (erased subject). */
    readonly outcomes: Array<{ plain: string; sealed: string; fields: number; next: DataKey } | 'failed' | null>;
  }

  function session(tenantId: string): ResealSession {
    // Each old key once per job; each subject's new key made once (together per batch: one commit on SQLite).
    const memo: KeyMemo = { old: new Map(), next: new Map() };
    /** Fetches (in one query or transaction each) the keys of `wanted` the memo lacks. */
    async function fill(map: Map<string, DataKey | undefined | null>, wanted: Iterable<string>, fetch: (missing: string[]) => Promise<Map<string, DataKey | undefined>>): Promise<void> {
      const missing = [...new Set(wanted)].filter((k) => !map.has(k));
      if (missing.length === 0) return;
      if (map.size + missing.length > memoLimit) map.clear();
      const got = await fetch(missing);
      for (const k of missing) map.set(k, got.has(k) ? got.get(k) : null);
    }

    /** Reads the next batch after `cursor` and encrypts it; undefined when both tables are done. */
    async function prepare(db: SqlDatabase, generation: number, from: ResealCursor, limit: number): Promise<Prepared | undefined> {
      let cursor = from;
      let rows = await staleRows(db, generation, cursor, limit);
      if (rows.length === 0 && cursor.table === 'resources') {
        cursor = { ...start, table: 'resource_versions' };
        rows = await staleRows(db, generation, cursor, limit);
      }
      if (rows.length === 0) return undefined;
      const refs = rows.map((row) => (row.key_id === null ? null : `${row.key_id}.${Number(row.key_version)}`));
      await fill(memo.old, refs.filter((ref): ref is string => ref !== null), (missing) => keys.dataKeysByRef(tenantId, missing));
      // null: a key the store does not have — a failure, reported. (An envelope naming another key
      // than the row records fails its integrity check below.) A row that names no key is sealed
      // under its record's subject's new key.
      const olds = refs.map((ref) => (ref === null ? undefined : memo.old.get(ref)));
      const subjects = rows.map((row, i) => {
        const old = olds[i];
        return refs[i] === null ? (row.key_subject ?? undefined) : old === null || old === undefined ? undefined : old.subject;
      });
      // Each subject's new key, made for the whole batch in one transaction.
      await fill(memo.next, subjects.filter((subject): subject is string => subject !== undefined), (missing) => keys.dataKeysFor(tenantId, missing));
      const nexts = subjects.map((subject) => (subject === undefined ? undefined : (memo.next.get(subject) ?? undefined)));
      const outcomes: Prepared['outcomes'] = rows.map((_, i) => (refs[i] !== null && olds[i] === null ? 'failed' : null));
      const lookup = async (keyId: string, version: number) => {
        const ref = `${keyId}.${version}`;
        const key = memo.old.get(ref);
        if (key !== undefined && key !== null) return key;
        // Destroyed: an erased subject. Any other key than the row's own: the row was tampered with.
        if (key === undefined && memo.old.has(ref)) throw new KeyError('key-shredded', 'destroyed', { status: 410 });
        throw new KeyError('integrity-failed', 'an envelope names a key its row does not use', { status: 500 });
      };
      for (const [i, row] of rows.entries()) {
        const next = nexts[i];
        if ((refs[i] !== null && olds[i] === null) || next === undefined) continue;
        try {
          outcomes[i] = { ...(await resealVersion({ tenantId, type: row.resource_type, id: row.id, versionId: Number(row.version_id) }, { plain: row.content, sealed: row.sealed }, lookup, next)), next };
        } catch (error) {
          if (!(error instanceof KeyError)) throw error;
          if (error.code === 'integrity-failed') outcomes[i] = 'failed';
          else if (error.code !== 'key-shredded') throw error;
        }
      }
      return { table: cursor.table, rows, outcomes };
    }

    async function write(db: SqlDatabase, batch: Prepared): Promise<ResealStep> {
      const table = db.table(batch.table);
      const updates = batch.rows.flatMap((row, i) => {
        const outcome = batch.outcomes[i];
        return outcome === null || outcome === 'failed' || outcome === undefined ? [] : [{ row, ...outcome }];
      });
      const failed: Failure[] = batch.rows
        .filter((_, i) => batch.outcomes[i] === 'failed')
        .map((row) => ({ table: batch.table, type: row.resource_type, id: row.id, versionId: Number(row.version_id) }));
      await db.transaction(async (tx) => {
        for (let at = 0; at < updates.length; at += updateChunk) {
          const part = updates.slice(at, at + updateChunk);
          await tx.execute(resealSql(tx, table, part.length), part.flatMap(({ row, plain, sealed, next }) => [row.resource_type, row.id, row.version_id, row.sealed, plain, sealed, next.keyId, next.version]));
        }
      });
      const last = batch.rows[batch.rows.length - 1] as StaleRow;
      return {
        rows: batch.rows.length,
        resealed: updates.length,
        fields: updates.reduce((sum, u) => sum + u.fields, 0),
        failed,
        cursor: { table: batch.table, type: last.resource_type, id: last.id, versionId: Number(last.version_id) },
      };
    }

    return {
      async *pass(db, generation, from, limit) {
        let pending = prepare(db, generation, from ?? start, limit);
        try {
          for (;;) {
            const batch = await pending;
            if (batch === undefined) return;
            const written = batch.rows[batch.rows.length - 1] as StaleRow;
            // The next batch is read and encrypted while this one is written.
            pending = prepare(db, generation, { table: batch.table, type: written.resource_type, id: written.id, versionId: Number(written.version_id) }, limit);
            yield await write(db, batch);
          }
        } finally {
          // Stopped early (abort, error): the batch in flight is dropped, never written.
          pending.catch(() => undefined);
        }
      },
      async close() {
        memo.old.clear();
        memo.next.clear();
      },
    };
  }

  return {
    async countStale(db, generation) {
      const rows = await db.query<{ n: number | string }>(
        `SELECT (SELECT COUNT(*) FROM ${db.table('resources')} WHERE (key_version < ? OR (key_version IS NULL AND deleted = 0)) AND deleted < 2) + (SELECT COUNT(*) FROM ${db.table('resource_versions')} WHERE key_version < ? OR (key_version IS NULL AND deleted = 0)) AS n`,
        [generation, generation],
      );
      return Number(rows[0]?.n ?? 0);
    },

    session,

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
