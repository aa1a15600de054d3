/**
 * @module keys
 * Keys and the AES-256-GCM envelope: a master key from a provider (local key ring file or
 * environment; a KMS through the KeyProvider interface), per-tenant key-encryption and index
 * keys, per-subject data keys, crypto-shredding. Keeps its own key store apart from records.
 * Does not decide what is encrypted (the data register in records does).
 */
export { seal, open } from './envelope.js';
export { createKeys, keyCacheTtlMs, tenantSubject, type Keys, type KeysDeps, type DataKey, type KeyCensus, type KeyHold, type Signer, type SigningKeyVersion } from './keys.js';
export type { KeyProvider } from './key-provider.js';
export { createLocalKeyProvider, generateKeyRing, masterKeySource, type LocalKeySource } from './local-key-provider.js';
export { findUnreadableKeys } from './unreadable-keys.js';
export { KeyError, type KeyErrorCode } from './errors.js';
export { keysMigrations } from './migrations.js';
export { copyTenantKeys, destroyTenantKeys } from './move.js';
