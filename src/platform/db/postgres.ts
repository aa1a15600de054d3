import type pg from 'pg';
import { lazyRequire } from '../lazy-require.js';
import { quoteIdent } from './quote-ident.js';
import { storageUnavailable } from './errors.js';
import type { SqlDatabase, SqlExecutor, SqlValue } from './types.js';

export interface PostgresOptions {
  readonly url: string;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
}

// Not imported: a deployment on SQLite never loads the PostgreSQL client.
const pgLibrary = lazyRequire<typeof pg>('pg');

const placeholderCache = new Map<string, string>();

/** `?` → `$n`. Our SQL never holds `?` inside literals, so a plain scan is exact. */
function toNumbered(sql: string): string {
  let numbered = placeholderCache.get(sql);
  if (numbered === undefined) {
    let n = 0;
    numbered = sql.replace(/\?/g, () => `$${++n}`);
    if (placeholderCache.size > 2048) placeholderCache.clear();
    placeholderCache.set(sql, numbered);
  }
  return numbered;
}

// Connection-level failures (class 08, admin shutdown 57P01/57P02/57P03, read-only standby
// 25006 during failover) are transient: answer 503 so clients retry, never a wrong answer.
const transientSqlStates = /^(08|57P0|53300|25006|40001|40P01)/;
const transientNodeCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH']);

function isTransient(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') {
    const message = error instanceof Error ? error.message : '';
    return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/.test(message);
  }
  return transientSqlStates.test(code) || transientNodeCodes.has(code);
}

const lostClients = new WeakSet<pg.PoolClient | pg.Client>();

/** Whether a client's connection was lost while it was checked out (it must not go back to the pool). */
export function connectionLost(client: pg.PoolClient): boolean {
  return lostClients.has(client);
}

function translate(error: unknown): unknown {
  return isTransient(error) ? storageUnavailable(error) : error;
}

// BIGINT (oid 20) columns hold millisecond timestamps and counts, well inside 2^53.
// Parsers are given per pool so no global state of `pg` is changed.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 ? (value: string) => Number(value) : pgLibrary().types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

export function createPostgresPool(options: PostgresOptions): pg.Pool {
  const pool = new (pgLibrary().Pool)({
    connectionString: options.url,
    max: options.poolSize,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    statement_timeout: options.statementTimeoutMs,
    application_name: 'tresor',
    types,
  });
  // An idle client that loses its server emits 'error' on the pool; without a listener Node
  // would crash. The next query reports the failure (as a 503) instead.
  pool.on('error', () => {});
  // So does a checked-out client whose server goes away between two queries — a transaction
  // waiting on encryption, the leadership connection — when the dying server's last message
  // ("terminating connection due to unexpected postmaster exit", a failover) has no query to go
  // to. Heard here, the process lives; the client is marked and destroyed when released.
  pool.on('connect', (client) => {
    client.on('error', () => lostClients.add(client));
  });
  return pool;
}

function executorFor(client: pg.Pool | pg.PoolClient, schema: string, onWrite: () => void = () => {}, hooks?: Array<() => void>): SqlExecutor {
  const qualifiedSchema = quoteIdent(schema);
  return {
    dialect: 'postgres',
    table: (name) => `${qualifiedSchema}.${quoteIdent(name)}`,
    async query<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
      try {
        const result = await client.query(toNumbered(sql), params as unknown[]);
        return result.rows as T[];
      } catch (error) {
        throw translate(error);
      }
    },
    async execute(sql, params = []) {
      try {
        const result = await client.query(toNumbered(sql), params as unknown[]);
        onWrite();
        return result.rowCount ?? 0;
      } catch (error) {
        throw translate(error);
      }
    },
    afterCommit: (fn) => (hooks === undefined ? fn() : void hooks.push(fn)),
  };
}

// Autovacuum analyses a table only after 10 % of it changed and a naptime passed; a new
// tenant filled by a bulk import meanwhile gets nested-loop plans 100× slower than with
// statistics. So each data set analyses itself after every `analyzeEvery` committed writes.
const analyzeEvery = 5000; // write statements (a create is four or five)

async function analyzeSchema(pool: pg.Pool, schema: string): Promise<void> {
  const tables = await pool.query<{ tablename: string }>('SELECT tablename FROM pg_tables WHERE schemaname = $1', [schema]);
  for (const { tablename } of tables.rows) await pool.query(`ANALYZE ${quoteIdent(schema)}.${quoteIdent(tablename)}`);
}

/** One data set = one schema in a shared database; the pool is shared by all data sets. */
export function openPostgresDatabase(pool: pg.Pool, schema: string): SqlDatabase {
  const base = executorFor(pool, schema);
  let writesSinceAnalyze = 0;
  let analyzing = false;
  const countWrites = (writes: number) => {
    writesSinceAnalyze += writes;
    if (writesSinceAnalyze < analyzeEvery || analyzing) return;
    writesSinceAnalyze = 0;
    analyzing = true;
    // Off the request path; a failure only means the next threshold tries again.
    analyzeSchema(pool, schema)
      .catch(() => {})
      .finally(() => (analyzing = false));
  };
  return {
    ...base,
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (error) {
        throw translate(error);
      }
      let broken: unknown;
      try {
        await client.query('BEGIN');
        let writes = 0;
        const hooks: Array<() => void> = [];
        const value = await fn(executorFor(client, schema, () => (writes += 1), hooks));
        await client.query('COMMIT');
        countWrites(writes);
        for (const hook of hooks) hook();
        return value;
      } catch (error) {
        broken = isTransient(error) || isTransient((error as { cause?: unknown }).cause) ? error : undefined;
        if (broken === undefined) await client.query('ROLLBACK').catch((rollbackError: unknown) => (broken = rollbackError));
        throw translate(error);
      } finally {
        // A connection that failed mid-transaction is destroyed, not returned to the pool.
        if (broken === undefined && lostClients.has(client)) broken = true;
        client.release(broken instanceof Error ? broken : broken === undefined ? undefined : true);
      }
    },
    dataVersion: () => undefined,
    async scrub() {
      // VACUUM cannot run inside a transaction; each table on its own (dead tuples → free space).
      const tables = await pool.query<{ tablename: string }>('SELECT tablename FROM pg_tables WHERE schemaname = $1', [schema]).catch((error: unknown) => {
        throw translate(error);
      });
      for (const { tablename } of tables.rows) await pool.query(`VACUUM ${quoteIdent(schema)}.${quoteIdent(tablename)}`).catch((error: unknown) => {
        throw translate(error);
      });
    },
    async close() {
      // The pool belongs to the storage engine, which ends it once.
    },
  };
}
