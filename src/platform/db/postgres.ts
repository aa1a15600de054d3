import { createHash } from 'node:crypto';
import type pg from 'pg';
import { lazyRequire } from '../lazy-require.js';
import { quoteIdent } from './quote-ident.js';
import { storageUnavailable } from './errors.js';
import type { SqlDatabase, SqlExecutor, SqlValue } from './types.js';

export interface PostgresOptions {
  readonly url: string;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
  /** Named prepared statements kept per connection, least recently used dropped first; 0: none. */
  readonly preparedStatements?: number;
  /** How long a caller waits for a pooled connection before a 503 (all of them busy, or none reachable). */
  readonly connectTimeoutMs?: number;
  /** Checkouts after which a pooled connection is closed and replaced; 0: never. */
  readonly connectionMaxUses?: number;
}

// Not imported: a deployment on SQLite never loads the PostgreSQL client.
const pgLibrary = lazyRequire<typeof pg>('pg');

const defaults = { preparedStatements: 200, connectTimeoutMs: 5_000, connectionMaxUses: 10_000 } as const;

interface Statement {
  readonly text: string;
  /** Derived from the text; each connection names its preparations of it `<key>_<n>`. */
  readonly key: string | undefined;
}
const statementCache = new Map<string, Statement>();

/** `?` → `$n`. Our SQL never holds `?` inside literals, so a plain scan is exact. */
function statementOf(sql: string): Statement {
  // Parameter-free text (DDL, a new tenant's whole schema in one query) is not kept: an upgrade
  // walking 10,000 schemas would otherwise fill the cache with 10,000 texts of ~20 KB each.
  if (!sql.includes('?')) return { text: sql, key: undefined };
  let statement = statementCache.get(sql);
  if (statement === undefined) {
    let n = 0;
    const text = sql.replace(/\?/g, () => `$${++n}`);
    // Statements without parameters are DDL, maintenance and one-offs: not worth a slot.
    statement = { text, key: n === 0 ? undefined : `tresor_${createHash('sha256').update(text).digest('hex').slice(0, 32)}` };
    if (statementCache.size > 4096) statementCache.clear();
    statementCache.set(sql, statement);
  }
  return statement;
}

// Per connection, its prepared statements by statement key, least recently used first (a Map
// keeps insertion order), and a counter that makes each preparation's name new.
interface Prepared {
  readonly names: Map<string, string>;
  next: number;
}
const preparedOn = new WeakMap<pg.ClientBase, Prepared>();

/**
 * The query config for `statement` on `client`: named (parsed once per connection, then only
 * bound and executed) while the connection keeps fewer than `limit` statements, the least
 * recently used one being deallocated to make room. The bound matters because every tenant's
 * statements differ (schema-qualified tables): without it, a long-lived connection of a node
 * with thousands of tenants would keep an ever-growing plan cache in its server process.
 */
function preparedConfig(client: pg.ClientBase, statement: Statement, values: unknown[], limit: number): pg.QueryConfig {
  if (statement.key === undefined || limit === 0) return { text: statement.text, values };
  let prepared = preparedOn.get(client);
  if (prepared === undefined) {
    prepared = { names: new Map(), next: 0 };
    preparedOn.set(client, prepared);
  }
  const { names } = prepared;
  const known = names.get(statement.key);
  if (known !== undefined) {
    names.delete(statement.key);
    names.set(statement.key, known);
    return { name: known, text: statement.text, values };
  }
  if (names.size >= limit) {
    const [oldestKey, oldest] = names.entries().next().value as [string, string];
    names.delete(oldestKey);
    // Pipelined, the evicted statement may still be on its way (its ParseComplete not yet in):
    // a name is therefore never used twice on a connection, and node-postgres's record of it
    // (it offers no way to forget one) is dropped only once the server has deallocated it.
    const parsed = (client as unknown as { connection?: { parsedStatements?: Record<string, unknown> } }).connection?.parsedStatements;
    client
      .query(`DEALLOCATE "${oldest}"`)
      .catch(() => {})
      .finally(() => {
        if (parsed !== undefined) delete parsed[oldest];
      });
  }
  const name = `${statement.key}_${(prepared.next += 1)}`;
  names.set(statement.key, name);
  return { name, text: statement.text, values };
}

/** How many statements `client` keeps prepared now (tests check the bound). */
export function preparedCount(client: pg.ClientBase): number {
  return preparedOn.get(client)?.names.size ?? 0;
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
    // A PostgreSQL backend caches the catalog entries of every table it touched and never
    // forgets them: one connection that walked 10,000 tenant schemas grew from 21 to 863 MiB
    // (bench/results/2026-12-07-many-tenants-pg.md). Replaced after this many checkouts, a
    // connection's cache stays bounded by the tenants it can reach in that many uses.
    maxUses: (options.connectionMaxUses ?? defaults.connectionMaxUses) === 0 ? Infinity : (options.connectionMaxUses ?? defaults.connectionMaxUses),
    // A request that finds every connection busy waits this long, then gets a 503 with
    // Retry-After (transient), never an unbounded wait.
    connectionTimeoutMillis: options.connectTimeoutMs ?? defaults.connectTimeoutMs,
    statement_timeout: options.statementTimeoutMs,
    application_name: 'tresor',
    // Queries issued before the previous one's answer go out at once (a transaction's BEGIN with
    // its first statement, independent writes together): one round trip instead of several.
    // The server still runs them in order, and inside a transaction the first failure fails the
    // rest and the transaction, as it would one by one.
    pipeline: true,
    // Prepared statements skip parsing and analysis; the plan is still made per execution with
    // the actual values, so a search for a patient with 100 matches and one with 100,000 each get
    // their own plan (a generic plan chosen for one can be very wrong for the other).
    options: '-c plan_cache_mode=force_custom_plan',
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

const corked = new WeakSet<pg.ClientBase>();

/**
 * Holds the connection's socket writes until the current run of JavaScript ends, so that the
 * statements issued together (a transaction's BEGIN and first statement, independent writes) leave
 * in one system call instead of one each: sends to PostgreSQL were about a sixth of a create's CPU time.
 */
function corkUntilNextTick(client: pg.ClientBase): void {
  if (corked.has(client)) return;
  const stream = (client as unknown as { connection?: { stream?: { cork?: () => void; uncork?: () => void } } }).connection?.stream;
  if (stream?.cork === undefined || stream.uncork === undefined) return;
  stream.cork();
  corked.add(client);
  process.nextTick(() => {
    corked.delete(client);
    stream.uncork?.();
  });
}

/** Runs one statement on a checked-out connection, prepared within the connection's bound. */
function run(client: pg.PoolClient, sql: string, params: readonly SqlValue[], limit: number): Promise<pg.QueryResult> {
  corkUntilNextTick(client);
  return client.query(preparedConfig(client, statementOf(sql), params as unknown[], limit));
}

/**
 * Outside a transaction: one statement on a connection borrowed for it (as `pool.query` does, so
 * that it can be prepared there). A connection that failed is destroyed, not handed back.
 */
async function runPooled(pool: pg.Pool, sql: string, params: readonly SqlValue[], limit: number): Promise<pg.QueryResult> {
  const client = await pool.connect();
  let failed: unknown;
  try {
    return await run(client, sql, params, limit);
  } catch (error) {
    failed = error;
    throw error;
  } finally {
    const broken = lostClients.has(client) || (failed !== undefined && isTransient(failed));
    client.release(broken ? (failed instanceof Error ? failed : true) : undefined);
  }
}

function executorFor(target: { pool: pg.Pool } | { client: pg.PoolClient }, schema: string, limit: number, onWrite: () => void = () => {}, hooks?: Array<() => void>): SqlExecutor {
  const qualifiedSchema = quoteIdent(schema);
  const send = 'pool' in target ? (sql: string, params: readonly SqlValue[]) => runPooled(target.pool, sql, params, limit) : (sql: string, params: readonly SqlValue[]) => run(target.client, sql, params, limit);
  return {
    dialect: 'postgres',
    table: (name) => `${qualifiedSchema}.${quoteIdent(name)}`,
    async query<T>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
      try {
        const result = await send(sql, params);
        return result.rows as T[];
      } catch (error) {
        throw translate(error);
      }
    },
    async execute(sql, params = []) {
      try {
        const result = await send(sql, params);
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
export function openPostgresDatabase(pool: pg.Pool, schema: string, options: Pick<PostgresOptions, 'preparedStatements'> = {}): SqlDatabase {
  const limit = options.preparedStatements ?? defaults.preparedStatements;
  const base = executorFor({ pool }, schema, limit);
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
        // Not awaited: BEGIN travels with the transaction's first statement (pipeline mode). Should
        // it fail, that statement fails too, and so does the await below before any COMMIT.
        corkUntilNextTick(client);
        const begin = client.query('BEGIN');
        begin.catch(() => {});
        let writes = 0;
        const hooks: Array<() => void> = [];
        const value = await fn(executorFor({ client }, schema, limit, () => (writes += 1), hooks));
        await begin;
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
