import type { Keys } from '../keys/index.js';
import type { Placement } from './placement.js';

/** OAuth issuers' signing keys are a tenant's (oauth/provider.ts names them `oauth|<tenant>`). */
const tenantOfPurpose = (purpose: string): string | undefined => (purpose.startsWith('oauth|') ? purpose.slice('oauth|'.length) : undefined);

/**
 * One `Keys` over a key store per region: a tenant's key-encryption, index and data keys — and
 * its OAuth issuer's signing keys — are wrapped under its region's master key and stored in its
 * region's key store, so neither the keys nor the master key that opens them leave the region.
 * What belongs to no tenant stays with the home region: the platform's signing keys (audit
 * checkpoints, file integrity baseline) and the master key versions held for the home region's
 * backups. A master key rotation rotates the home region's key ring; re-wrapping after it walks
 * every region, each onto its own current master version.
 */
export function createRegionalKeys(byRegion: ReadonlyMap<string, Keys>, home: string, placement: Placement): Keys {
  const homeKeys = byRegion.get(home);
  if (homeKeys === undefined) throw new TypeError(`no key store for the home region ${home}`);
  const all = [...byRegion.values()];
  const regionKeys = (region: string): Keys => {
    const keys = byRegion.get(region);
    if (keys === undefined) throw new TypeError(`no key store for region ${region}`);
    return keys;
  };
  const of = async (tenantId: string): Promise<Keys> => regionKeys(await placement.resolve(tenantId));
  const ofPurpose = async (purpose: string): Promise<Keys> => {
    const tenantId = tenantOfPurpose(purpose);
    return tenantId === undefined ? homeKeys : of(tenantId);
  };
  return {
    dataKeyFor: async (tenantId, subject) => (await of(tenantId)).dataKeyFor(tenantId, subject),
    dataKey: async (tenantId, keyId, version) => (await of(tenantId)).dataKey(tenantId, keyId, version),
    dataKeysFor: async (tenantId, subjects) => (await of(tenantId)).dataKeysFor(tenantId, subjects),
    dataKeysByRef: async (tenantId, refs) => (await of(tenantId)).dataKeysByRef(tenantId, refs),
    indexKey: async (tenantId) => (await of(tenantId)).indexKey(tenantId),
    shred: async (tenantId, subject) => (await of(tenantId)).shred(tenantId, subject),
    generation: async (tenantId) => (await of(tenantId)).generation(tenantId),
    beginGeneration: async (tenantId, generation) => (await of(tenantId)).beginGeneration(tenantId, generation),
    retireBefore: async (tenantId, generation, keep) => (await of(tenantId)).retireBefore(tenantId, generation, keep),
    async rewrapUnderMaster(limit) {
      let moved = 0;
      for (const keys of all) if (moved < limit) moved += await keys.rewrapUnderMaster(limit - moved);
      return moved;
    },
    countBelowMaster: (version) => homeKeys.countBelowMaster(version),
    unusedMasterVersions: () => homeKeys.unusedMasterVersions(),
    masterVersionsInUse: () => homeKeys.masterVersionsInUse(),
    holds: () => homeKeys.holds(),
    hold: (holder, versions, until) => homeKeys.hold(holder, versions, until),
    releaseHolds: (holders) => homeKeys.releaseHolds(holders),
    signer: async (purpose) => (await ofPurpose(purpose)).signer(purpose),
    signingPublicKey: async (purpose, version) => (await ofPurpose(purpose)).signingPublicKey(purpose, version),
    signingKeys: async (purpose, make) => (await ofPurpose(purpose)).signingKeys(purpose, make),
    addSigningKey: async (purpose, privateKey) => (await ofPurpose(purpose)).addSigningKey(purpose, privateKey),
    retireSigningKeys: async (purpose, version) => (await ofPurpose(purpose)).retireSigningKeys(purpose, version),
    async census() {
      return (await Promise.all(all.map((keys) => keys.census()))).flat();
    },
    forget() {
      for (const keys of all) keys.forget();
    },
    forgetTenant(tenantId) {
      for (const keys of all) keys.forgetTenant(tenantId);
    },
  };
}
