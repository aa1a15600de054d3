import { createHash, createHmac, randomBytes } from 'node:crypto';
import type pg from 'pg';
import { migrate } from '../platform/db/migrate.js';
import { quoteIdent } from '../platform/db/quote-ident.js';
import type { Migration, SqlDatabase, SqlExecutor, SqlValue } from '../platform/db/types.js';
import { BackupError } from './errors.js';

/**
 * PostgreSQL data sets (one schema each) as a stream of rows, for snapshots (SPEC B1–B3).
 *
 * A schema cannot be copied page for page as a SQLite file can, so a snapshot reads its rows:
 * one connection, one REPEATABLE READ READ ONLY transaction, so every table is read as of the
 * same instant while writers go on (PostgreSQL docs §13.2.2 Repeatable Read Isolation Level: all
 * statements of the transaction see one snapshot, taken at its first statement).
 *
 * Format `pg-rows/1`: UTF-8 lines, each one JSON value, in this order —
 *   {"format":"pg-rows/1","migrations":[…]}                 the schema's applied migration ids
 *   {"table":"t","columns":[["c","bigint"],…],"key":["c"]}   per table, sorted by name (C order)
 *   ["1","text",null,"\\x00ff","t",…]                         one line per row
 *   {"end":"t","rows":N}
 *   {"sequence":"s","value":"42","called":true}              per sequence, sorted by name
 *   {"done":true,"tables":T,"sequences":S}
 * Every value is PostgreSQL's own text output of the column (NULL is null), which its input
 * function reads back exactly for every built-in type (PostgreSQL docs chapter 8: a type's
 * external representation is defined by its input and output functions — what COPY and pg_dump
 * rely on too); the few settings that shape that text (bytea_output, DateStyle, IntervalStyle,
 * TimeZone, extra_float_digits; §20.11.1–2) are fixed for both directions. The same rows give the
 * same bytes, so unchanged rows give unchanged chunks.
 *
 * Chunks are cut at row boundaries by content (content-defined chunking, as in restic or borg,
 * at row granularity): a chunk ends after a row once it holds `chunkBytes / 4`, when a keyed hash
 * of that row's line falls below a threshold proportional to the line's length (so the expected
 * chunk is about `chunkBytes` whatever the row sizes), or before a row that would take it past
 * `4 × chunkBytes`; a table's end always ends a chunk. A changed row changes the chunk it is in
 * (two at most, when it moves a boundary); an inserted row does not shift the boundaries after
 * it, so later chunks keep their names. The hash is keyed (HMAC with a key derived from the
 * backup key) so chunk sizes tell whoever holds the repository nothing about which rows exist.
 */

export const pgRowsFormat = 'pg-rows/1';

/** The schema-level result of an export: what a manifest records of the data set. */
export interface PgExport {
  readonly bytes: number;
  /** SHA-256 of the whole stream, hex. */
  readonly sha256: string;
  /** Rows per table, as of the snapshot. */
  readonly counts: Readonly<Record<string, number>>;
  /** The migration ids the schema had applied (the data set's schema version). */
  readonly migrations: readonly string[];
}

export interface PgExportOptions {
  /** Target average chunk size in bytes (`config.backup.chunkKiB` × 1024). */
  readonly chunkBytes: number;
  /** Key of the hash that places chunk boundaries (≥ 16 bytes; snapshots.ts derives it from the backup key). */
  readonly boundaryKey: Uint8Array;
  /** Rows per page of the keyset scan; default 1000. */
  readonly pageRows?: number;
  /** How long to wait for a table's ACCESS SHARE lock (DDL holding it); default 60 s. */
  readonly lockTimeoutMs?: number;
  /** Called as each table is done (for a progress bar). */
  readonly onTable?: (done: number, total: number) => void;
  /**
   * `share` (a move to another region, regions/move-tenant.ts): every table is locked IN SHARE
   * MODE before the snapshot is taken, and stays locked until the transaction ends — writers of
   * the schema on any connection either committed before the snapshot or wait. Not READ ONLY
   * then (PostgreSQL allows only the weaker lock modes in a read-only transaction).
   */
  readonly lock?: 'access-share' | 'share';
  /** Runs after the last chunk, inside the exporting transaction and under its locks, before COMMIT; a throw rolls it back. */
  readonly beforeCommit?: (client: pg.PoolClient) => Promise<void>;
}

export interface PgImport {
  /** Rows per table as loaded from the stream, counted in the database before any upgrade migration. */
  readonly counts: Readonly<Record<string, number>>;
  /** The migration ids the snapshot had applied. */
  readonly migrations: readonly string[];
  /** The code's migrations the snapshot lacked, applied after its rows (an upgrade), in order. */
  readonly upgraded: readonly string[];
}

export interface PgImportOptions {
  /** Row counts the stream must load (a manifest's), checked before anything is committed. */
  readonly expectedCounts?: Readonly<Record<string, number>>;
  /** The migration ids the stream must declare (a manifest's), checked likewise. */
  readonly expectedMigrations?: readonly string[];
  /** Clock for the `applied_at` of upgrade migrations; default Date.now. */
  readonly now?: () => number;
  /** Names the data set in errors (default the target schema). */
  readonly label?: string;
}

type Value = string | null;

interface TableInfo {
  readonly name: string;
  readonly oid: number;
  readonly columns: ReadonlyArray<readonly [name: string, type: string]>;
  /** Primary key columns in key order; empty when the table has none. */
  readonly key: readonly string[];
}

const q = quoteIdent;
const qualified = (schema: string, name: string) => `${q(schema)}.${q(name)}`;

/**
 * Fixed text forms for both directions (PostgreSQL docs §20.11.1 Statement Behavior: bytea_output;
 * §20.11.2 Locale and Formatting: DateStyle, IntervalStyle, TimeZone, extra_float_digits ≥ 1
 * gives the shortest exact float text). `set_config(…, true)` = SET LOCAL, parameterised.
 */
async function setTextFormats(client: pg.PoolClient): Promise<void> {
  await client.query(
    `SELECT set_config('bytea_output', 'hex', true), set_config('DateStyle', 'ISO, YMD', true), set_config('IntervalStyle', 'postgres', true),
            set_config('TimeZone', 'UTC', true), set_config('extra_float_digits', '1', true)`,
  );
}

/** Ordinary tables of a schema with their columns (generated columns left out: they are computed) and primary key. */
async function tablesOf(client: pg.PoolClient, schema: string): Promise<TableInfo[]> {
  const tables = await client.query<{ oid: number; name: string }>(
    `SELECT c.oid AS oid, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r' AND NOT c.relispartition ORDER BY c.relname COLLATE "C"`,
    [schema],
  );
  const out: TableInfo[] = [];
  for (const { oid, name } of tables.rows) {
    const columns = await client.query<{ name: string; type: string }>(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
        WHERE attrelid = $1::oid AND attnum > 0 AND NOT attisdropped AND attgenerated = '' ORDER BY attnum`,
      [oid],
    );
    const key = await client.query<{ name: string }>(
      `SELECT a.attname AS name FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY k.ord`,
      [oid],
    );
    out.push({ name, oid: Number(oid), columns: columns.rows.map((c) => [c.name, c.type] as const), key: key.rows.map((k) => k.name) });
  }
  return out;
}

async function sequencesOf(client: pg.PoolClient, schema: string): Promise<string[]> {
  const rows = await client.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'S' ORDER BY c.relname COLLATE "C"`,
    [schema],
  );
  return rows.rows.map((r) => r.name);
}

/** Cuts the stream into chunks at row boundaries (see the module comment). */
class RowChunker {
  private parts: Buffer[] = [];
  private size = 0;
  readonly whole = createHash('sha256');
  bytes = 0;
  private readonly min: number;
  private readonly max: number;
  private readonly span: number;

  constructor(
    chunkBytes: number,
    private readonly key: Uint8Array,
    private readonly emit: (plain: Buffer) => Promise<void>,
  ) {
    this.min = Math.max(1, Math.floor(chunkBytes / 4));
    this.max = chunkBytes * 4;
    this.span = Math.max(1, chunkBytes - this.min);
  }

  /** A row's line: the chunk may end after it (content-defined). */
  async row(line: Buffer): Promise<void> {
    await this.append(line);
    if (this.size >= this.min && this.hits(line)) await this.flush();
  }

  /** Any other line: never a boundary of its own. */
  async line(line: Buffer): Promise<void> {
    await this.append(line);
  }

  /** Ends the current chunk (a table boundary, the end of the stream). */
  async flush(): Promise<void> {
    if (this.size === 0) return;
    const plain = this.parts.length === 1 ? (this.parts[0] as Buffer) : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    await this.out(plain);
  }

  private async append(line: Buffer): Promise<void> {
    // A row that would take the chunk past the maximum starts the next one.
    if (this.size > 0 && this.size + line.length > this.max) await this.flush();
    this.parts.push(line);
    this.size += line.length;
    // Only a single line longer than the maximum gets here: cut it into maximum-size pieces.
    if (this.size > this.max) {
      const all = Buffer.concat(this.parts, this.size);
      let offset = 0;
      for (; all.length - offset > this.max; offset += this.max) await this.out(all.subarray(offset, offset + this.max));
      this.parts = [all.subarray(offset)];
      this.size = all.length - offset;
    }
  }

  /** P(boundary) = line length / span, so boundaries come about every `span` bytes past the minimum. */
  private hits(line: Buffer): boolean {
    if (line.length >= this.span) return true;
    const h = createHmac('sha256', this.key).update(line).digest().readUInt32BE(0);
    return h < Math.floor((line.length / this.span) * 0x1_0000_0000);
  }

  private async out(plain: Buffer): Promise<void> {
    this.whole.update(plain);
    this.bytes += plain.length;
    await this.emit(plain);
  }
}

const jsonLine = (value: unknown) => Buffer.from(`${JSON.stringify(value)}\n`, 'utf8');

/**
 * Reads every table of `schema` at one point in time and hands the `pg-rows/1` stream to
 * `onChunk` in content-defined chunks (in order; the next chunk waits for the promise).
 */
export async function exportPgSchema(pool: pg.Pool, schema: string, onChunk: (plain: Buffer) => Promise<void>, options: PgExportOptions): Promise<PgExport> {
  if (options.boundaryKey.length < 16) throw new TypeError('boundaryKey must be at least 16 bytes');
  if (!(options.chunkBytes >= 1024)) throw new TypeError('chunkBytes must be at least 1024');
  const pageRows = options.pageRows ?? 1000;
  const chunker = new RowChunker(options.chunkBytes, options.boundaryKey, onChunk);
  const counts: Record<string, number> = {};
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    if (options.lock === 'share') {
      // The snapshot of a REPEATABLE READ transaction is taken by its first query (§13.2.2), and
      // LOCK TABLE and SET are no queries: so the locks come first and the snapshot after them,
      // once every writer that held a table committed or rolled back (LOCK documentation: "acquire
      // locks before executing any queries"). The table names are read before the transaction.
      const names = (await tablesOf(client, schema)).map((t) => t.name);
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await client.query('SET LOCAL statement_timeout = 0');
      await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.floor(options.lockTimeoutMs ?? 60_000))}`);
      if (names.length > 0) await lockShared(client, names.map((name) => qualified(schema, name)));
      await setTextFormats(client);
      const now = (await tablesOf(client, schema)).map((t) => t.name);
      if (now.join('\n') !== names.join('\n')) throw new BackupError('restore-refused', `the tables of ${schema} changed while it was being locked (a migration ran): try again`, { status: 503, expose: true });
    } else {
      // §13.2.2: one snapshot for every statement of the transaction; READ ONLY (it also runs on a standby).
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await setTextFormats(client);
    }
    // A page over a large table without a primary key sorts the whole table once; the request-sized
    // statement limit of the pool would cut that short. The transaction only reads.
    // Waiting for a table's lock (a running migration) is bounded, though: better a failed
    // backup, retried by the next run, than one that waits for ever.
    await client.query("SELECT set_config('statement_timeout', '0', true), set_config('lock_timeout', $1, true)", [String(options.lockTimeoutMs ?? 60_000)]);
    const found = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (found.rowCount === 0) throw new BackupError('restore-refused', `no PostgreSQL schema ${schema} to snapshot`, { status: 500, expose: true });
    const tables = await tablesOf(client, schema);
    // As pg_dump does: ACCESS SHARE on every table (PostgreSQL docs §13.3.1 Table-Level Locks) —
    // writers go on, but DDL (a migration of a newer node) waits until the snapshot is read.
    if (tables.length > 0 && options.lock !== 'share') await client.query(`LOCK TABLE ${tables.map((t) => qualified(schema, t.name)).join(', ')} IN ACCESS SHARE MODE`);
    const migrations = tables.some((t) => t.name === 'schema_migrations')
      ? (await client.query<{ id: string }>(`SELECT id FROM ${qualified(schema, 'schema_migrations')} ORDER BY applied_at, id COLLATE "C"`)).rows.map((r) => r.id)
      : [];
    await chunker.line(jsonLine({ format: pgRowsFormat, migrations }));
    await chunker.flush();
    let done = 0;
    for (const table of tables) {
      if (table.columns.length === 0) throw new BackupError('restore-refused', `table ${table.name} of ${schema} has no columns: not supported`, { status: 500, expose: true });
      await chunker.line(jsonLine({ table: table.name, columns: table.columns, key: table.key }));
      const rows = await exportTable(client, schema, table, pageRows, async (row) => chunker.row(jsonLine(row)));
      await chunker.line(jsonLine({ end: table.name, rows }));
      await chunker.flush();
      counts[table.name] = rows;
      options.onTable?.(++done, tables.length);
    }
    const sequences = await sequencesOf(client, schema);
    for (const name of sequences) {
      // A sequence is not transactional: this is its state now, never behind any value the snapshot holds.
      const state = await client.query<{ value: string; called: boolean }>(`SELECT last_value::text AS value, is_called AS called FROM ${qualified(schema, name)}`);
      const { value, called } = state.rows[0] as { value: string; called: boolean };
      await chunker.line(jsonLine({ sequence: name, value, called }));
    }
    await chunker.line(jsonLine({ done: true, tables: tables.length, sequences: sequences.length }));
    await chunker.flush();
    await options.beforeCommit?.(client);
    await client.query('COMMIT');
    return { bytes: chunker.bytes, sha256: chunker.whole.digest('hex'), counts, migrations };
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => (broken = rollbackError instanceof Error ? rollbackError : new Error('rollback failed')));
    throw error;
  } finally {
    client.release(broken);
  }
}

/**
 * Takes SHARE on every table, one after the other. A writer holding ROW EXCLUSIVE on a later table
 * that goes on to write an earlier one waits for this transaction while it waits for the writer:
 * PostgreSQL breaks such a deadlock by failing one side (40P01). When that is this side, the locks
 * taken so far are given back (to a savepoint — no query, so still no snapshot) and it tries again
 * after a pause, a few times.
 */
async function lockShared(client: pg.PoolClient, tables: readonly string[]): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    await client.query('SAVEPOINT lock_tables');
    try {
      await client.query(`LOCK TABLE ${tables.join(', ')} IN SHARE MODE`);
      await client.query('RELEASE SAVEPOINT lock_tables');
      return;
    } catch (error) {
      if ((error as { code?: unknown }).code !== '40P01' || attempt >= 5) throw error;
      await client.query('ROLLBACK TO SAVEPOINT lock_tables');
      await new Promise((resolve) => setTimeout(resolve, 20 + Math.floor(Math.random() * 80) * attempt));
    }
  }
}

/**
 * One table's rows in a total order: by primary key, read page by page with keyset pagination
 * (`WHERE (k1, k2) > (last row's key) ORDER BY k1, k2 LIMIT n`: each page is an index range scan,
 * unlike OFFSET; row constructor comparison, PostgreSQL docs §9.24.5). A table without a primary
 * key is ordered by all its columns' text (C collation) through one cursor, so it is sorted once,
 * not once per page; equal rows are interchangeable, so the order is still deterministic.
 */
async function exportTable(client: pg.PoolClient, schema: string, table: TableInfo, pageRows: number, onRow: (row: Value[]) => Promise<void>): Promise<number> {
  // Columns are qualified by the table's alias: a bare `ORDER BY "id"` would name the output
  // column `"id"::text` and sort by text.
  const select = table.columns.map(([name]) => `src.${q(name)}::text`).join(', ');
  const from = `${qualified(schema, table.name)} AS src`;
  let rows = 0;
  if (table.key.length > 0) {
    const keyIndex = table.key.map((k) => table.columns.findIndex(([name]) => name === k));
    if (keyIndex.some((i) => i < 0)) throw new BackupError('restore-refused', `the primary key of ${table.name} has a generated column: not supported`, { status: 500, expose: true });
    const order = table.key.map((k) => `src.${q(k)}`).join(', ');
    const firstPage = `SELECT ${select} FROM ${from} ORDER BY ${order} LIMIT $1`;
    const nextPage = `SELECT ${select} FROM ${from} WHERE (${order}) > (${table.key.map((_, i) => `$${i + 2}`).join(', ')}) ORDER BY ${order} LIMIT $1`;
    let last: Value[] | undefined;
    for (;;) {
      const page = await client.query<Value[]>({ text: last === undefined ? firstPage : nextPage, values: last === undefined ? [pageRows] : [pageRows, ...keyIndex.map((i) => last?.[i] ?? null)], rowMode: 'array' });
      for (const row of page.rows) await onRow(row);
      rows += page.rows.length;
      if (page.rows.length < pageRows) return rows;
      last = page.rows[page.rows.length - 1];
    }
  }
  const cursor = q(`tresor_export_${randomBytes(4).toString('hex')}`);
  await client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR SELECT ${select} FROM ${from} ORDER BY ${table.columns.map(([name]) => `src.${q(name)}::text COLLATE "C"`).join(', ')}`);
  for (;;) {
    const page = await client.query<Value[]>({ text: `FETCH FORWARD ${pageRows} FROM ${cursor}`, rowMode: 'array' });
    for (const row of page.rows) await onRow(row);
    rows += page.rows.length;
    if (page.rows.length < pageRows) break;
  }
  await client.query(`CLOSE ${cursor}`);
  return rows;
}

/** The lines of a stream cut anywhere (chunk boundaries need not fall on line ends). */
async function* linesOf(chunks: AsyncIterable<Buffer>, corrupt: (why: string) => BackupError): AsyncGenerator<Buffer> {
  let carry: Buffer[] = [];
  for await (const chunk of chunks) {
    let start = 0;
    for (let end = chunk.indexOf(10, start); end !== -1; end = chunk.indexOf(10, start)) {
      const piece = chunk.subarray(start, end);
      yield carry.length === 0 ? piece : Buffer.concat([...carry, piece]);
      carry = [];
      start = end + 1;
    }
    if (start < chunk.length) carry.push(chunk.subarray(start));
  }
  if (carry.length > 0) throw corrupt('it ends in the middle of a record');
}

/** `?` placeholders → `$n`, as postgres.ts does for the same migration SQL. */
const numbered = (sql: string) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

/**
 * The storage contract over one client that is already inside a transaction, so `migrate`
 * (the same code that migrates live data sets) runs as part of the import's transaction.
 */
function inTransaction(client: pg.PoolClient, schema: string, hooks: Array<() => void>): SqlDatabase {
  const executor: SqlExecutor = {
    dialect: 'postgres',
    table: (name) => qualified(schema, name),
    query: async <T>(sql: string, params: readonly SqlValue[] = []) => (await client.query(numbered(sql), params as unknown[])).rows as T[],
    execute: async (sql, params = []) => (await client.query(numbered(sql), params as unknown[])).rowCount ?? 0,
    afterCommit: (fn) => void hooks.push(fn),
  };
  return { ...executor, transaction: (fn) => fn(executor), dataVersion: () => undefined, scrub: async () => {}, close: async () => {} };
}

const maxParams = 65_535; // the protocol's limit of bind parameters per statement
const batchBytes = 4 * 1024 * 1024;

/**
 * Rebuilds a `pg-rows/1` stream as the new schema `targetSchema`, all in one transaction (a
 * failure, a damaged stream included, leaves nothing behind): creates the schema, applies the
 * code's migrations the snapshot had applied (so tables, indexes, triggers and functions are
 * those of that version), replaces whatever rows those migrations seeded by the snapshot's rows
 * (user triggers off while loading: the rows are restored as they were, not written anew),
 * checks each table's count, sets each sequence, then applies the code's remaining migrations —
 * a snapshot of an older version comes back upgraded. A snapshot with a migration this code
 * does not know (a newer version's) is refused.
 *
 * Migrations the snapshot applied need not be a prefix of the code's list, only all known to it:
 * the lists are each module's chain concatenated (app.ts), so a version that adds `records/004`
 * puts it before `audit/…` ids an older data set already has — exactly what `migrate` does to a
 * live data set on upgrade, and what this does too (known applied ones in code order, the rows,
 * then the rest).
 */
export async function importPgSchema(pool: pg.Pool, targetSchema: string, chunks: AsyncIterable<Buffer>, migrations: readonly Migration[], options: PgImportOptions = {}): Promise<PgImport> {
  const label = options.label ?? targetSchema;
  const corrupt = (why: string) => new BackupError('object-corrupt', `${label}: the snapshot's rows cannot be restored: ${why}`, { status: 500, expose: true });
  const target = q(targetSchema);
  const client = await pool.connect();
  let broken: Error | undefined;
  let where = 'creating the schema';
  try {
    await client.query('BEGIN');
    await setTextFormats(client);
    const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [targetSchema]);
    if ((exists.rowCount ?? 0) > 0) throw new BackupError('restore-refused', `schema ${targetSchema} already exists: a restore goes into a new schema`, { status: 409, expose: true });
    await client.query(`CREATE SCHEMA ${target}`);

    const lines = linesOf(chunks, corrupt)[Symbol.asyncIterator]();
    let lineNo = 0;
    const next = async (): Promise<unknown> => {
      const { value, done } = await lines.next();
      if (done === true) throw corrupt('it ends early');
      lineNo += 1;
      try {
        return JSON.parse(value.toString('utf8')) as unknown;
      } catch {
        // JSON.parse quotes its input in its message: never passed on (it is record content).
        throw corrupt(`record ${lineNo} is not valid JSON`);
      }
    };

    where = 'reading the header';
    const header = (await next()) as { format?: unknown; migrations?: unknown };
    if (header === null || typeof header !== 'object' || header.format !== pgRowsFormat || !Array.isArray(header.migrations) || !header.migrations.every((m) => typeof m === 'string')) {
      throw corrupt(`it is not a ${pgRowsFormat} stream`);
    }
    const applied = header.migrations as string[];
    if (options.expectedMigrations !== undefined && (applied.length !== options.expectedMigrations.length || applied.some((m, i) => m !== options.expectedMigrations?.[i]))) {
      throw corrupt('its migrations differ from the manifest’s');
    }
    const known = new Set(migrations.map((m) => m.id));
    const unknown = applied.filter((id) => !known.has(id));
    if (unknown.length > 0) {
      throw new BackupError('restore-refused', `${label}: the snapshot was taken by a newer Tresor (migrations ${unknown.join(', ')} are unknown to this version): restore it with that version or later`, { status: 409, expose: true });
    }
    const appliedSet = new Set(applied);
    const hooks: Array<() => void> = [];
    const db = inTransaction(client, targetSchema, hooks);
    const now = options.now ?? Date.now;
    where = 'applying the snapshot’s migrations';
    await migrate(db, migrations.filter((m) => appliedSet.has(m.id)), targetSchema, now);

    const tables = new Map((await tablesOf(client, targetSchema)).map((t) => [t.name, t]));
    const sequences = new Set(await sequencesOf(client, targetSchema));
    // The snapshot's rows replace whatever the migrations seeded (schema_migrations included).
    where = 'emptying the new tables';
    if (tables.size > 0) await client.query(`TRUNCATE ${[...tables.keys()].map((t) => qualified(targetSchema, t)).join(', ')}`);
    for (const t of tables.keys()) await client.query(`ALTER TABLE ${qualified(targetSchema, t)} DISABLE TRIGGER USER`);

    const loaded: Record<string, number> = {};
    const seenSequences = new Set<string>();
    for (;;) {
      const record = (await next()) as Record<string, unknown>;
      if (record === null || typeof record !== 'object' || Array.isArray(record)) throw corrupt(`record ${lineNo} is out of place`);
      if (typeof record['table'] === 'string') {
        const name = record['table'];
        where = `loading table ${name}`;
        const table = tables.get(name);
        if (table === undefined) throw new BackupError('restore-refused', `${label}: the snapshot has a table ${name} that this version’s migrations do not make`, { status: 409, expose: true });
        if (name in loaded) throw corrupt(`table ${name} appears twice`);
        const columns = record['columns'];
        if (!Array.isArray(columns) || JSON.stringify(columns) !== JSON.stringify(table.columns)) {
          throw new BackupError('restore-refused', `${label}: table ${name} has other columns in the snapshot than this version’s migrations make`, { status: 409, expose: true });
        }
        loaded[name] = await loadTable(client, targetSchema, table, next, corrupt);
        continue;
      }
      if (typeof record['sequence'] === 'string') {
        const name = record['sequence'];
        where = `setting sequence ${name}`;
        if (!sequences.has(name) || seenSequences.has(name)) throw corrupt(`sequence ${name} is unknown or appears twice`);
        if (typeof record['value'] !== 'string' || !/^-?\d{1,19}$/.test(record['value']) || typeof record['called'] !== 'boolean') throw corrupt(`sequence ${name} has no valid state`);
        // §9.17 Sequence Manipulation Functions: setval(regclass, bigint, is_called).
        await client.query('SELECT setval($1::regclass, $2::int8, $3::boolean)', [qualified(targetSchema, name), record['value'], record['called']]);
        seenSequences.add(name);
        continue;
      }
      if (record['done'] === true) {
        if (record['tables'] !== Object.keys(loaded).length || record['sequences'] !== seenSequences.size) throw corrupt('its table or sequence count is wrong');
        break;
      }
      throw corrupt(`record ${lineNo} is out of place`);
    }
    // Read to the very end: the stream's source checks its whole length and SHA-256 there.
    for (let rest = await lines.next(); rest.done !== true; rest = await lines.next()) throw corrupt('it goes on after its end');
    const missingTables = [...tables.keys()].filter((t) => !(t in loaded));
    const missingSequences = [...sequences].filter((s) => !seenSequences.has(s));
    if (missingTables.length > 0 || missingSequences.length > 0) throw corrupt(`it lacks ${[...missingTables, ...missingSequences].join(', ')}`);

    where = 'checking row counts';
    for (const t of tables.keys()) await client.query(`ALTER TABLE ${qualified(targetSchema, t)} ENABLE TRIGGER USER`);
    const counts: Record<string, number> = {};
    for (const t of [...tables.keys()].sort()) {
      const counted = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${qualified(targetSchema, t)}`);
      counts[t] = Number(counted.rows[0]?.n);
      if (counts[t] !== loaded[t]) throw corrupt(`table ${t} holds ${counts[t]} rows after loading ${loaded[t]}`);
    }
    for (const [t, n] of Object.entries(options.expectedCounts ?? {})) {
      if (counts[t] !== n) throw corrupt(`table ${t} has ${counts[t] ?? 0} rows, the manifest says ${n}`);
    }

    where = 'upgrading';
    const upgraded = migrations.filter((m) => !appliedSet.has(m.id)).map((m) => m.id);
    await migrate(db, migrations, targetSchema, now);
    await client.query('COMMIT');
    for (const hook of hooks) hook();
    return { counts, migrations: applied, upgraded };
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => (broken = rollbackError instanceof Error ? rollbackError : new Error('rollback failed')));
    if (error instanceof BackupError) throw error;
    // PostgreSQL's messages and details can quote values (record content): only its code is named.
    const code = (error as { code?: unknown }).code;
    throw new BackupError('restore-refused', `${label}: restoring into schema ${targetSchema} failed while ${where}${typeof code === 'string' ? ` (PostgreSQL error ${code})` : ''}; nothing was kept`, { status: 500, expose: true, cause: error });
  } finally {
    client.release(broken);
  }
}

/** Inserts one table's rows in multi-row, parameterised INSERTs; returns how many. */
async function loadTable(client: pg.PoolClient, schema: string, table: TableInfo, next: () => Promise<unknown>, corrupt: (why: string) => BackupError): Promise<number> {
  const width = table.columns.length;
  const maxRows = Math.max(1, Math.min(1000, Math.floor(maxParams / width)));
  const head = `INSERT INTO ${qualified(schema, table.name)} (${table.columns.map(([name]) => q(name)).join(', ')}) OVERRIDING SYSTEM VALUE VALUES `;
  const statements = new Map<number, string>();
  const statementFor = (rows: number) => {
    let sql = statements.get(rows);
    if (sql === undefined) {
      const tuples: string[] = [];
      for (let r = 0; r < rows; r++) tuples.push(`(${table.columns.map((_, c) => `$${r * width + c + 1}`).join(', ')})`);
      sql = head + tuples.join(', ');
      statements.set(rows, sql);
    }
    return sql;
  };
  let params: Value[] = [];
  let pending = 0;
  let pendingBytes = 0;
  let inserted = 0;
  const flush = async () => {
    if (pending === 0) return;
    // Values go as text of unknown type: INSERT reads each with its column's input function.
    inserted += (await client.query(statementFor(pending), params)).rowCount ?? 0;
    params = [];
    pending = 0;
    pendingBytes = 0;
  };
  for (;;) {
    const record = await next();
    if (Array.isArray(record)) {
      if (record.length !== width || !record.every((v) => v === null || typeof v === 'string')) throw corrupt(`a row of ${table.name} does not match its columns`);
      for (const v of record as Value[]) {
        params.push(v);
        pendingBytes += v === null ? 0 : v.length;
      }
      pending += 1;
      if (pending >= maxRows || pendingBytes >= batchBytes) await flush();
      continue;
    }
    const end = record as { end?: unknown; rows?: unknown } | null;
    if (end === null || typeof end !== 'object' || end.end !== table.name || typeof end.rows !== 'number') throw corrupt(`table ${table.name} does not end where it should`);
    await flush();
    if (inserted !== end.rows) throw corrupt(`table ${table.name} has ${inserted} rows, its end says ${end.rows}`);
    return inserted;
  }
}

/**
 * Puts a restored schema in the place of the live one (a restore into the running system): in one
 * transaction, renames the live schema to `<live>_old_<hex>`, the restored one to the live name,
 * and drops the old one with everything in it. Transactional DDL makes it atomic for every other
 * session: a statement sees the old tables or the new ones, never neither (a statement that
 * resolved the live name before the commit and waits for a lock looks the name up again once it
 * has it, and reads the new table).
 *
 * Locks (PostgreSQL docs §13.3.1 Table-Level Locks; ALTER SCHEMA, DROP SCHEMA): the renames lock
 * no table; dropping the old schema takes ACCESS EXCLUSIVE on each of its tables, so the swap
 * waits for transactions already reading or writing the live tables to end, and meanwhile new
 * statements on those tables queue behind it (for the length of the swap, usually milliseconds).
 * `lockTimeoutMs` (default 5 s) bounds that wait: past it the swap fails and changes nothing.
 *
 * PL/pgSQL bodies are stored as text and resolve names when they run (§43.11 PL/pgSQL Under the
 * Hood), and migrations name tables schema-qualified (`t('key_floor')`): a function made in the
 * restored schema would go on naming it by its temporary name. So each function body that names
 * the restored schema is re-created naming the live one, inside the same transaction. Only our
 * own migrations' definitions are rewritten, by the exact quoted schema name.
 */
export async function swapPgSchema(pool: pg.Pool, liveSchema: string, restoredSchema: string, options: { lockTimeoutMs?: number } = {}): Promise<{ dropped: string | undefined }> {
  q(liveSchema);
  q(restoredSchema);
  if (liveSchema === restoredSchema) throw new TypeError('swapPgSchema: the live and the restored schema are the same');
  const old = `${liveSchema.slice(0, 50)}_old_${randomBytes(4).toString('hex')}`;
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query("SELECT set_config('lock_timeout', $1, true)", [String(options.lockTimeoutMs ?? 5000)]);
    const found = await client.query<{ nspname: string }>('SELECT nspname FROM pg_namespace WHERE nspname = ANY($1::text[])', [[liveSchema, restoredSchema]]);
    const names = new Set(found.rows.map((r) => r.nspname));
    if (!names.has(restoredSchema)) throw new BackupError('restore-refused', `no restored schema ${restoredSchema} to swap in`, { status: 409, expose: true });
    if (names.has(liveSchema)) await client.query(`ALTER SCHEMA ${q(liveSchema)} RENAME TO ${q(old)}`);
    await client.query(`ALTER SCHEMA ${q(restoredSchema)} RENAME TO ${q(liveSchema)}`);
    const functions = await client.query<{ definition: string }>(
      `SELECT pg_get_functiondef(p.oid) AS definition FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = $1 AND p.prokind IN ('f', 'p') AND strpos(p.prosrc, $2) > 0`,
      [liveSchema, q(restoredSchema)],
    );
    for (const { definition } of functions.rows) await client.query(definition.split(q(restoredSchema)).join(q(liveSchema)));
    if (names.has(liveSchema)) await client.query(`DROP SCHEMA ${q(old)} CASCADE`);
    await client.query('COMMIT');
    return { dropped: names.has(liveSchema) ? old : undefined };
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => (broken = rollbackError instanceof Error ? rollbackError : new Error('rollback failed')));
    if (error instanceof BackupError) throw error;
    const code = (error as { code?: unknown }).code;
    const why = code === '55P03' ? 'the live tables stayed in use past the lock timeout' : `PostgreSQL error ${typeof code === 'string' ? code : 'unknown'}`;
    throw new BackupError('restore-refused', `swapping schema ${restoredSchema} in for ${liveSchema} failed (${why}); nothing changed`, { status: 503, expose: true, cause: error });
  } finally {
    client.release(broken);
  }
}

/** Drops a schema and everything in it, when it exists (scratch schemas of verify, failed restores). */
export async function dropPgSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS ${q(schema)} CASCADE`);
}
