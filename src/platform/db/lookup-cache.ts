import type { SqlDatabase } from './types.js';

export interface LookupCache<V> {
  /** The cached value, or `load()`'s; `undefined` results are never cached. */
  get(key: string, load: () => Promise<V | undefined>): Promise<V | undefined>;
  delete(key: string): void;
  clear(): void;
}

export interface LookupCacheOptions {
  /** Bound on staleness where the engine cannot report changes (PostgreSQL, several nodes). */
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly now?: () => number;
}

/**
 * A read-through cache for hot, small lookups on the platform data set (API keys, tenant
 * status), checked on every request. Where the engine reports commits (SQLite data_version),
 * any commit anywhere empties it, so a revocation by the admin CLI counts at once; elsewhere an
 * entry lives at most `ttlMs`.
 */
export function createLookupCache<V>(db: SqlDatabase, { ttlMs, maxEntries, now = () => performance.now() }: LookupCacheOptions): LookupCache<V> {
  const entries = new Map<string, { value: V; expires: number }>();
  let seenVersion: number | undefined;
  return {
    async get(key, load) {
      const version = db.dataVersion();
      if (version !== seenVersion) {
        entries.clear();
        seenVersion = version;
      }
      const hit = entries.get(key);
      if (hit !== undefined && (version !== undefined || hit.expires > now())) return hit.value;
      const value = await load();
      if (value !== undefined) {
        if (entries.size >= maxEntries) entries.delete(entries.keys().next().value as string);
        entries.set(key, { value, expires: now() + ttlMs });
      }
      return value;
    },
    delete(key) {
      entries.delete(key);
    },
    clear() {
      entries.clear();
    },
  };
}
