/**
 * Where the master key lives. Tresor never sees a KMS-held master key: it asks the provider
 * to wrap and unwrap the (much more numerous) tenant key-encryption keys, as envelope encryption
 * with HashiCorp Vault's transit engine or a cloud KMS works (NIST SP 800-57 Pt 1 §6.1.1: the
 * key-wrapping key stays in the stronger boundary).
 *
 * To plug in a KMS, implement these three methods and pass the provider to `buildApp` through
 * `overrides.keyProvider`:
 * - Vault transit: `wrap` = POST transit/encrypt/<name> with `context` = base64(aad) (derived
 *   keys) and return the `vault:vN:` ciphertext bytes; `unwrap` = transit/decrypt; `currentVersion`
 *   = the key's `latest_version`; rotation = transit/keys/<name>/rotate.
 * - AWS KMS: Encrypt/Decrypt with `EncryptionContext: { aad }`; the version is implicit in the
 *   ciphertext blob, so `currentVersion` may return 1 and rotation is KMS's own.
 */
export interface KeyProvider {
  /** Shown in `tresor keys status` and logs; never key material. */
  readonly name: string;
  /** The master key version new wraps use. */
  currentVersion(): Promise<number>;
  wrap(key: Uint8Array, aad: string, version: number): Promise<Buffer>;
  /** Throws when the wrapped key, AAD or version do not match. */
  unwrap(wrapped: Uint8Array, aad: string, version: number): Promise<Buffer>;
  /**
   * Makes a new master version current and returns it (the local key file). Providers whose
   * versions are managed elsewhere (TRESOR_MASTER_KEY, a KMS) return the current version: the
   * operator rotated there, and `tresor keys rotate --master` re-wraps everything under it.
   */
  rotate(): Promise<{ version: number; created: boolean }>;
  /** The master versions this provider can unwrap with. */
  versions(): Promise<number[]>;
  /**
   * Destroys master versions nothing references any more. Returns false where the provider
   * cannot (environment, KMS): the operator removes them there.
   */
  retire(versions: readonly number[]): Promise<boolean>;
}
