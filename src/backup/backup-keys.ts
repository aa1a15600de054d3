import { createCipheriv, createDecipheriv, createHmac, createPrivateKey, createPublicKey, hkdfSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { deflateRaw, inflateRaw } from 'node:zlib';
import { BackupError } from './errors.js';

/**
 * The backup key hierarchy (SPEC B3), apart from the data keys: one 256-bit backup key —
 * `TRESOR_BACKUP_KEY`, or a file (0600) created at the first backup — from which HKDF-SHA-256
 * (RFC 5869; NIST SP 800-56C) derives independent keys for each use:
 * - pack encryption (AES-256-GCM, NIST SP 800-38D), each pack of chunks under a fresh random nonce;
 * - chunk names (HMAC-SHA-256, truncated to 128 bits): a name says nothing about the content
 *   except equality with another chunk — which is what deduplication needs;
 * - manifest encryption, and an Ed25519 key (RFC 8032) that signs every manifest.
 * The backup key opens backups and nothing else: backed-up records stay sealed under their data
 * keys, which stay wrapped by the data master key (a backup operator cannot read records); and
 * no data key opens a backup.
 */
export interface BackupKeys {
  /** An id of the key (a hash of its signing public key), stored in manifests to name the key they need. */
  readonly keyId: string;
  chunkName(plain: Uint8Array): string;
  /** A pack of chunks, deflated (on the thread pool, off the event loop) and sealed under its name. */
  sealPack(name: string, plain: Uint8Array): Promise<Buffer>;
  openPack(name: string, sealed: Uint8Array): Promise<Buffer>;
  sealManifest(id: string, plain: Uint8Array): Buffer;
  openManifest(id: string, sealed: Uint8Array): Buffer;
}

const format = 'tresor-backup-key/1';
const sealedVersion = 1;
const deflatedVersion = 2;
/** No pack inflates beyond this (packs are ~8 MiB plus one chunk of at most 16 MiB). */
const maxPackBytes = 64 * 1024 * 1024;
const deflateAsync = promisify(deflateRaw);
const inflateAsync = promisify(inflateRaw);
const nonceBytes = 12;
const tagBytes = 16;
const signatureBytes = 64;

const derive = (key: Buffer, label: string, bytes = 32) => Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `tresor backup ${label}`, bytes));

/** An Ed25519 private key from a 32-byte seed (PKCS#8 DER: the fixed RFC 8410 prefix, then the seed). */
function ed25519FromSeed(seed: Buffer): KeyObject {
  return createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]), format: 'der', type: 'pkcs8' });
}

/**
 * Version 1: the plaintext sealed as it is; version 2: deflated first (packs only, when that
 * saves at least an eighth). The version byte is part of the AAD, so a version 2 object cannot
 * be passed off as version 1. Compressing before encrypting can leak through sizes what a pack
 * holds; here the packs hold database pages whose record fields are already ciphertext under
 * the data keys (what compresses is page structure and index entries), which is why it is
 * acceptable — the same choice restic and borg make.
 */
function seal(key: Buffer, aad: string, plain: Uint8Array, version = sealedVersion): Buffer {
  const nonce = randomBytes(nonceBytes);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(version === sealedVersion ? aad : `${aad}|v${version}`, 'utf8'));
  return Buffer.concat([Buffer.from([version]), nonce, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
}

/** Opens a sealed object; `deflated` tells whether its plaintext is deflated (version 2), to inflate. */
function openRaw(key: Buffer, aad: string, sealed: Uint8Array, what: string): { plain: Buffer; deflated: boolean } {
  const data = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const version = data[0];
  if (data.length < 1 + nonceBytes + tagBytes || (version !== sealedVersion && version !== deflatedVersion)) throw new BackupError('object-corrupt', `${what} is damaged (too short or of an unknown format)`, { status: 500, expose: true });
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(1, 1 + nonceBytes));
  decipher.setAAD(Buffer.from(version === sealedVersion ? aad : `${aad}|v${version}`, 'utf8'));
  decipher.setAuthTag(data.subarray(data.length - tagBytes));
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(data.subarray(1 + nonceBytes, data.length - tagBytes)), decipher.final()]);
  } catch {
    throw new BackupError('object-corrupt', `${what} failed its integrity check: damaged, swapped, or sealed under another backup key`, { status: 500, expose: true });
  }
  return { plain, deflated: version === deflatedVersion };
}

function open(key: Buffer, aad: string, sealed: Uint8Array, what: string): Buffer {
  const { plain, deflated } = openRaw(key, aad, sealed, what);
  if (deflated) throw new BackupError('object-corrupt', `${what} is of an unknown format`, { status: 500, expose: true });
  return plain;
}

/** Deflated (level 1: fast; on the thread pool) when that saves at least an eighth, else as it is. */
async function sealCompressed(key: Buffer, aad: string, plain: Uint8Array): Promise<Buffer> {
  const deflated = await deflateAsync(plain, { level: 1, chunkSize: 1 << 20 });
  return deflated.length <= plain.length - (plain.length >> 3) ? seal(key, aad, deflated, deflatedVersion) : seal(key, aad, plain);
}

async function openCompressed(key: Buffer, aad: string, sealed: Uint8Array, what: string): Promise<Buffer> {
  const { plain, deflated } = openRaw(key, aad, sealed, what);
  if (!deflated) return plain;
  try {
    return await inflateAsync(plain, { maxOutputLength: maxPackBytes, chunkSize: 1 << 20 });
  } catch {
    throw new BackupError('object-corrupt', `${what} does not inflate`, { status: 500, expose: true });
  }
}

export function backupKeysFrom(key: Buffer): BackupKeys {
  if (key.length !== 32) throw new BackupError('backup-key-invalid', 'the backup key is not 32 bytes', { status: 500, expose: true });
  const chunkKey = derive(key, 'chunk encryption');
  const nameKey = derive(key, 'chunk names');
  const manifestKey = derive(key, 'manifest encryption');
  const signingKey = ed25519FromSeed(derive(key, 'manifest signing'));
  const publicKey = createPublicKey(signingKey);
  const keyId = createHmac('sha256', 'tresor backup key id').update(publicKey.export({ format: 'der', type: 'spki' })).digest('hex').slice(0, 16);
  return {
    keyId,
    chunkName: (plain) => createHmac('sha256', nameKey).update(plain).digest('hex').slice(0, 32),
    // The name is the AAD: a pack stored under another name (swapped) fails to open.
    sealPack: (name, plain) => sealCompressed(chunkKey, `pack|${name}`, plain),
    openPack: (name, sealed) => openCompressed(chunkKey, `pack|${name}`, sealed, `pack ${name}`),
    sealManifest(id, plain) {
      const sealed = seal(manifestKey, `manifest|${id}`, plain);
      return Buffer.concat([sealed, sign(null, sealed, signingKey)]);
    },
    openManifest(id, stored) {
      const data = Buffer.from(stored.buffer, stored.byteOffset, stored.byteLength);
      if (data.length <= signatureBytes) throw new BackupError('manifest-invalid', `manifest ${id} is damaged (too short)`, { status: 500, expose: true });
      const sealed = data.subarray(0, data.length - signatureBytes);
      if (!verify(null, sealed, publicKey, data.subarray(data.length - signatureBytes))) {
        throw new BackupError('manifest-invalid', `manifest ${id} is not signed by this backup key: forged, damaged, or from another deployment`, { status: 500, expose: true });
      }
      return open(manifestKey, `manifest|${id}`, sealed, `manifest ${id}`);
    },
  };
}

export type BackupKeySource = { readonly env: string } | { readonly file: string };

/**
 * The backup key: from `TRESOR_BACKUP_KEY` (base64 of 32 bytes, or the JSON the file holds), or
 * from its file, which the first backup creates (0600) when `create` is set. A file readable by
 * group or others is refused (OWASP ASVS 5 V13.3.x).
 */
export function loadBackupKey(source: BackupKeySource, options: { create?: boolean } = {}): BackupKeys {
  if ('env' in source) return backupKeysFrom(parseKey(source.env, 'TRESOR_BACKUP_KEY'));
  const { file } = source;
  if (!existsSync(file)) {
    if (options.create !== true) throw new BackupError('backup-key-missing', `no backup key at ${file} (it is made by the first backup; or set TRESOR_BACKUP_KEY)`, { status: 500, expose: true });
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${JSON.stringify({ format, key: randomBytes(32).toString('base64') })}\n`, { mode: 0o600, flag: 'wx' });
  }
  if ((statSync(file).mode & 0o077) !== 0) throw new BackupError('backup-key-invalid', `${file}: the backup key file is readable by group or others; run chmod 600 on it`, { status: 500, expose: true });
  return backupKeysFrom(parseKey(readFileSync(file, 'utf8'), file));
}

function parseKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  let encoded = trimmed;
  if (trimmed.startsWith('{')) {
    try {
      const parsed = JSON.parse(trimmed) as { format?: unknown; key?: unknown };
      if (parsed.format !== format || typeof parsed.key !== 'string') throw new Error('format');
      encoded = parsed.key;
    } catch {
      throw new BackupError('backup-key-invalid', `${source}: not a Tresor backup key`, { status: 500, expose: true });
    }
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length !== 32) throw new BackupError('backup-key-invalid', `${source}: the backup key is not 32 bytes of base64`, { status: 500, expose: true });
  return key;
}

/** A new backup key for TRESOR_BACKUP_KEY (`tresor backup generate-key`): shown once. */
export const generateBackupKey = (): string => JSON.stringify({ format, key: randomBytes(32).toString('base64') });
