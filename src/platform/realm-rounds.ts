/**
 * Which realms a background job's round visits. Every realm at the first round and at each
 * `fullEvery`-th one — so nothing is missed for long: work this process never heard of (another
 * node's change, one a crash cut off) is found there — and in between only the realms with work:
 * marked by a change in this process, or left with work by their own last visit. A round over
 * thousands of quiet tenants then opens none of them most of the time.
 */
export interface RealmRounds {
  /** The realms of this round, out of all there are, and whether it is a full round. */
  pick(all: readonly string[]): { realms: string[]; full: boolean };
  /** A change in this process gave the realm work. */
  mark(realm: string): void;
  /** After a visit: whether the realm still has work (due later, or more than a round takes). */
  settle(realm: string, busy: boolean): void;
}

export function realmRounds(fullEvery: number): RealmRounds {
  const busy = new Set<string>();
  let round = 0;
  return {
    pick(all) {
      const full = round % Math.max(1, fullEvery) === 0;
      round += 1;
      if (full) return { realms: [...all], full };
      const known = new Set(all);
      for (const realm of busy) if (!known.has(realm)) busy.delete(realm);
      return { realms: all.filter((realm) => busy.has(realm)), full };
    },
    mark: (realm) => void busy.add(realm),
    settle(realm, still) {
      if (still) busy.add(realm);
      else busy.delete(realm);
    },
  };
}
