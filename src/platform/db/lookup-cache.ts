import type { SqlDatabase } from './types.js';

export interface LookupCache<V> {
  /** The cached value, or `load()`'s; `undefined` results are never cached. */
  get(key: string, load: () => Promise<V | undefined>): Promise<V | undefined>;
  delete(key: string): void;
  /** Drops every entry whose key starts with `group` followed by `|` (e.g. one tenant's). */
  deleteGroup(group: string): void;
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
  // Keys by their group (the text before the first `|`), so a group leaves without a scan.
  const groups = new Map<string, Set<string>>();
  const groupOf = (key: string) => {
    const bar = key.indexOf('|');
    return bar < 0 ? undefined : key.slice(0, bar);
  };
  const remove = (key: string) => {
    entries.delete(key);
    const group = groupOf(key);
    if (group === undefined) return;
    const members = groups.get(group);
    members?.delete(key);
    if (members?.size === 0) groups.delete(group);
  };
  const clear = () => {
    entries.clear();
    groups.clear();
  };
  let seenVersion: number | undefined;
  return {
    async get(key, load) {
      const version = db.dataVersion();
      if (version !== seenVersion) {
        clear();
        seenVersion = version;
      }
      const hit = entries.get(key);
      if (hit !== undefined && (version !== undefined || hit.expires > now())) return hit.value;
      const value = await load();
      if (value !== undefined) {
        if (entries.size >= maxEntries) remove(entries.keys().next().value as string);
        entries.set(key, { value, expires: now() + ttlMs });
        const group = groupOf(key);
        if (group !== undefined) {
          const members = groups.get(group) ?? new Set<string>();
          members.add(key);
          groups.set(group, members);
        }
      }
      return value;
    },
    delete: remove,
    deleteGroup(group) {
      for (const key of groups.get(group) ?? []) entries.delete(key);
      groups.delete(group);
    },
    clear,
  };
}
