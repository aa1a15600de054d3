import { createHash } from 'node:crypto';
import type pg from 'pg';

/**
 * Which node of a deployment runs its scheduled jobs (backups first): one at a time, by a lock in
 * the database every node shares — no home-made consensus (issue 8). On PostgreSQL it is a
 * session-level advisory lock (`pg_try_advisory_lock`) held by one connection set aside for it:
 * the server releases it when that connection ends — the node stopped, crashed, or lost the
 * primary in a failover — and the next node to ask takes it. On SQLite there is one node, and of
 * its server processes the one the primary names runs the jobs (platform/workers).
 */
export interface Leadership {
  /** Whether this node leads now: keeps the lock if it has it, else tries to take it. Never throws. */
  held(): Promise<boolean>;
  /** The last answer of `held()` (for metrics). */
  readonly leading: boolean;
  /** Gives the lock up. */
  close(): Promise<void>;
}

/** The only node there is (SQLite: the data directory belongs to one server). */
export function singleNode(): Leadership {
  return { held: async () => true, leading: true, close: async () => undefined };
}

/**
 * A server process that never leads: with `server.processes` > 1 on SQLite, one worker runs the
 * scheduled jobs (the one the primary names) and the others hold this.
 */
export function neverLeader(): Leadership {
  return { held: async () => false, leading: false, close: async () => undefined };
}

/** The advisory lock's 64-bit key, from a name (`pg_try_advisory_lock` takes a bigint), as a decimal string. */
export function advisoryKey(name: string): string {
  return createHash('sha256').update(`tresor leadership ${name}`, 'utf8').digest().readBigInt64BE(0).toString();
}

/**
 * Leadership by a PostgreSQL advisory lock named `name` (the deployment's schema prefix: two
 * deployments in one database do not share a leader). The connection holding the lock is checked
 * at each `held()`: a lost connection is a lost lock.
 */
export function postgresLeadership(pool: pg.Pool, name: string): Leadership {
  const key = advisoryKey(name);
  let client: pg.PoolClient | undefined;
  let broken = false;
  let leading = false;
  let closed = false;
  const drop = () => {
    const c = client;
    client = undefined;
    leading = false;
    // A broken connection is destroyed, never handed back to the pool (it may still hold the lock).
    c?.release(true);
  };
  const onError = () => {
    broken = true;
  };
  return {
    get leading() {
      return leading;
    },
    async held() {
      if (closed) return false;
      try {
        if (client !== undefined) {
          if (!broken) {
            // Still ours only if the connection that took it still answers.
            await client.query('SELECT 1');
            return (leading = true);
          }
          drop();
        }
        const candidate = await pool.connect();
        broken = false;
        candidate.on('error', onError);
        const result = await candidate.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS locked', [key]);
        if (result.rows[0]?.locked === true) {
          client = candidate;
          return (leading = true);
        }
        candidate.off('error', onError);
        candidate.release();
        return (leading = false);
      } catch {
        drop();
        return false;
      }
    },
    async close() {
      closed = true;
      const c = client;
      client = undefined;
      leading = false;
      if (c === undefined) return;
      try {
        await c.query('SELECT pg_advisory_unlock($1::bigint)', [key]);
        c.off('error', onError);
        c.release();
      } catch {
        c.release(true);
      }
    },
  };
}
