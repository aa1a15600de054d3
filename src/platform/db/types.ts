/**
 * The storage contract every module's `store.ts` is written against: a handful of verbs,
 * SQL with `?` placeholders only (parameterised, OWASP ASVS 5 V1.2.4), the same text for both
 * engines. Identifiers that vary (schema-qualified table names) come from `table()`, never
 * from user input.
 */
export type Dialect = 'sqlite' | 'postgres';
export type SqlValue = string | number | bigint | null | Uint8Array;
export type Row = Record<string, unknown>;

export interface SqlExecutor {
  readonly dialect: Dialect;
  /** The qualified, quoted name of one of this data set's tables. */
  table(name: string): string;
  /** Runs a statement that returns rows (SELECT, or INSERT/UPDATE … RETURNING). */
  query<T = Row>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  /**
   * Optional, outside transactions: a read-only SELECT's rows as arrays of the selected values
   * in the order selected (SQLite's raw rows: for wide rows about half the cost of building an
   * object per row). Callers fall back to `query` where it is absent (PostgreSQL).
   */
  queryArrays?(sql: string, params?: readonly SqlValue[]): Promise<unknown[][]>;
  /** Runs a statement and returns the number of rows it changed. */
  execute(sql: string, params?: readonly SqlValue[]): Promise<number>;
  /**
   * Inside a transaction: runs `fn` once the transaction has committed durably, and never if it
   * rolls back. Outside one: runs it at once. `fn` must not throw (it only schedules work).
   */
  afterCommit(fn: () => void): void;
}

export interface SqlDatabase extends SqlExecutor {
  /**
   * Runs `fn` atomically and resolves only once the commit is durable. `fn` must use the
   * executor it is given, never the outer database (that would wait on itself).
   */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  /**
   * A number that changes whenever anything (this process or another) committed to the data
   * set, where the engine can tell cheaply (SQLite: PRAGMA data_version, read at most once a
   * millisecond); undefined where it cannot (PostgreSQL). Lets read caches be exact, to the
   * millisecond, instead of bounded by a time-to-live.
   */
  dataVersion(): number | undefined;
  /**
   * Makes deleted and overwritten bytes unrecoverable from the data set's own files: SQLite
   * checkpoints and truncates its WAL (old page images), PostgreSQL vacuums away dead tuples.
   * For crypto-shredding; slow, so only after rare, deliberate destruction.
   */
  scrub(): Promise<void>;
  close(): Promise<void>;
}

export interface Migration {
  /** `<module>/<NNN>-<what>`: each module owns its chain; lists are applied in the order given. */
  readonly id: string;
  /** DDL per dialect; `t` qualifies a table name for the data set being migrated. */
  readonly up: Readonly<Record<Dialect, (t: (table: string) => string) => readonly string[]>>;
}
