/**
 * The rules' states of the realms this process evaluates, kept between batches so that a batch
 * reads from the data set only the keys it has not seen yet (most batches: none). The data set
 * stays the truth — every change is written through inside the batch's transaction — and a
 * realm's states count only while its cursor is where this process last moved it: another mover
 * (another node or process, a restore) shows as a different cursor at the next batch, and the
 * realm's states are dropped and read again. So is a batch whose transaction did not commit.
 */
export interface RealmStates {
  /** The cursor these states belong to: the states after every event up to it. */
  cursor: number;
  /** Per rule id, per key: the state, or undefined for a key known to have none. */
  readonly rules: Map<string, Map<string, unknown>>;
  size: number;
}

export interface StateCache {
  /** The realm's states at `cursor`: the kept ones when the cursor is still theirs, else a new, empty set. */
  at(realm: string, cursor: number): RealmStates;
  /** After a batch committed: the realm's states are now those after `cursor`. */
  moved(realm: string, states: RealmStates, cursor: number): void;
  /** Forgets a realm (a batch that did not commit, a prune). */
  drop(realm: string): void;
}

/** Remembers what a key's state is in `states` (undefined: it has none), counting toward the bound. */
export function remember(states: RealmStates, rule: string, key: string, state: unknown): void {
  let keys = states.rules.get(rule);
  if (keys === undefined) {
    keys = new Map();
    states.rules.set(rule, keys);
  }
  if (!keys.has(key)) states.size += 1;
  keys.set(key, state);
}

/**
 * Bounded: at most `maxRealms` realms (least recently evaluated dropped first) and `maxStates`
 * keys per realm (a realm past it is dropped and read from the data set again as it goes).
 */
export function createStateCache(maxRealms: number, maxStates: number): StateCache {
  const realms = new Map<string, RealmStates>();
  return {
    at(realm, cursor) {
      const kept = realms.get(realm);
      if (kept !== undefined) {
        realms.delete(realm);
        if (kept.cursor === cursor) {
          realms.set(realm, kept);
          return kept;
        }
      }
      const fresh: RealmStates = { cursor, rules: new Map(), size: 0 };
      realms.set(realm, fresh);
      while (realms.size > maxRealms) realms.delete(realms.keys().next().value as string);
      return fresh;
    },
    moved(realm, states, cursor) {
      if (realms.get(realm) !== states || states.size > maxStates) {
        realms.delete(realm);
        return;
      }
      states.cursor = cursor;
    },
    drop(realm) {
      realms.delete(realm);
    },
  };
}
