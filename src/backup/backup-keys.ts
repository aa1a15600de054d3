import { createCipheriv, createDecipheriv, createHmac, createPrivateKey, createPublicKey, hkdfSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
  /**
   * The key chunkName uses (HMAC-SHA-256), for the snapshot's chunking worker in this process
   * (snapshots.ts), which names pages off the event loop; never stored or sent anywhere.
   */
  chunkNameKey(): Buffer;
  /** A pack of chunks, compressed (LZ4 by default; on the thread pool, off the event loop) and sealed under its name. */
  sealPack(name: string, plain: Uint8Array, options?: { compression?: 'lz4' | 'deflate' }): Promise<Buffer>;
  openPack(name: string, sealed: Uint8Array): Promise<Buffer>;
  sealManifest(id: string, plain: Uint8Array): Buffer;
  openManifest(id: string, sealed: Uint8Array): Buffer;
  /**
   * The passphrase of the pgBackRest repository (`repo1-cipher-pass`, aes-256-cbc; issue 8),
   * derived from this key: whoever holds the backup key can open the physical backups too, and
   * no second secret has to be kept. 64 characters of base64url (384 bits).
   */
  repositoryPassphrase(): string;
}

const format = 'tresor-backup-key/1';
const sealedVersion = 1;
const deflatedVersion = 2;
const lz4Version = 3;
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
 * LZ4 (lz4-napi: the lz4_flex block format, the plaintext's length in front; on the thread pool):
 * a snapshot compresses every new chunk, and deflate at its fastest level made that the
 * snapshot's bottleneck (about 190 MB/s per core on database pages, against 850 MB/s for LZ4,
 * which keeps 25 % of the bytes where deflate keeps 21 %; inflating is 4× slower too). Its
 * native module comes prebuilt for the common platforms; where it does not load, packs are
 * deflated instead (version 2) and a version 3 pack cannot be opened.
 */
type Lz4 = { compress(data: Uint8Array): Promise<Buffer>; uncompress(data: Uint8Array): Promise<Buffer> };
let lz4Module: Promise<Lz4 | undefined> | undefined;
// Loaded with the first pack, not by every command that builds the backup service.
const loadLz4 = () =>
  (lz4Module ??= import('lz4-napi').then(
    (module) => module as unknown as Lz4,
    () => undefined,
  ));

/**
 * Version 1: the plaintext sealed as it is; version 2: deflated first, version 3: LZ4-compressed
 * first (packs only, when that saves at least an eighth). The version byte is part of the AAD, so
 * a compressed object cannot be passed off as another version. Compressing before encrypting can leak through sizes what a pack
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

/** Opens a sealed object; `version` tells how its plaintext is compressed (2 deflate, 3 LZ4), to decompress. */
function openRaw(key: Buffer, aad: string, sealed: Uint8Array, what: string): { plain: Buffer; version: number } {
  const data = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const version = data[0] ?? 0;
  if (data.length < 1 + nonceBytes + tagBytes || (version !== sealedVersion && version !== deflatedVersion && version !== lz4Version)) throw new BackupError('object-corrupt', `${what} is damaged (too short or of an unknown format)`, { status: 500, expose: true });
  const decipher = createDecipheriv('aes-256-gcm', key, data.subarray(1, 1 + nonceBytes));
  decipher.setAAD(Buffer.from(version === sealedVersion ? aad : `${aad}|v${version}`, 'utf8'));
  decipher.setAuthTag(data.subarray(data.length - tagBytes));
  let plain: Buffer;
  try {
    const body = decipher.update(data.subarray(1 + nonceBytes, data.length - tagBytes));
    const last = decipher.final();
    // GCM gives everything from update(): no second copy of a pack (external memory drives GC).
    plain = last.length === 0 ? body : Buffer.concat([body, last]);
  } catch {
    throw new BackupError('object-corrupt', `${what} failed its integrity check: damaged, swapped, or sealed under another backup key`, { status: 500, expose: true });
  }
  return { plain, version };
}

function open(key: Buffer, aad: string, sealed: Uint8Array, what: string): Buffer {
  const { plain, version } = openRaw(key, aad, sealed, what);
  if (version !== sealedVersion) throw new BackupError('object-corrupt', `${what} is of an unknown format`, { status: 500, expose: true });
  return plain;
}

/** Compressed (LZ4, else deflate level 1; on the thread pool) when that saves at least an eighth, else as it is. */
async function sealCompressed(key: Buffer, aad: string, plain: Uint8Array, compression: 'lz4' | 'deflate'): Promise<Buffer> {
  const lz4 = compression === 'lz4' ? await loadLz4() : undefined;
  const [compressed, version] = lz4 !== undefined ? [await lz4.compress(plain), lz4Version] : [await deflateAsync(plain, { level: 1, chunkSize: 1 << 20 }), deflatedVersion];
  return compressed.length <= plain.length - (plain.length >> 3) ? seal(key, aad, compressed, version) : seal(key, aad, plain);
}

async function openCompressed(key: Buffer, aad: string, sealed: Uint8Array, what: string): Promise<Buffer> {
  const { plain, version } = openRaw(key, aad, sealed, what);
  if (version === sealedVersion) return plain;
  if (version === lz4Version) {
    const lz4 = await loadLz4();
    if (lz4 === undefined) throw new BackupError('object-corrupt', `${what} is LZ4-compressed, and the lz4-napi module does not load on this platform`, { status: 500, expose: true });
    // Authenticated above, so this is a pack Tresor wrote; the length in front is still checked
    // against the limit before anything is allocated for it (and after, against what came out).
    const length = plain.length >= 4 ? plain.readUInt32LE(0) : -1;
    let out: Buffer | undefined;
    if (length >= 0 && length <= maxPackBytes) out = await lz4.uncompress(plain).catch(() => undefined);
    if (out === undefined || out.length !== length) throw new BackupError('object-corrupt', `${what} does not decompress`, { status: 500, expose: true });
    return out;
  }
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
    chunkNameKey: () => Buffer.from(nameKey),
    repositoryPassphrase: () => derive(key, 'pgbackrest repository cipher pass', 48).toString('base64url'),
    // The name is the AAD: a pack stored under another name (swapped) fails to open.
    sealPack: (name, plain, options) => sealCompressed(chunkKey, `pack|${name}`, plain, options?.compression ?? 'lz4'),
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

/** Where the configured backup key is: `backup.key` (TRESOR_BACKUP_KEY), else `backup.keyFile`, else `<dataDir>/backup-key.json`. */
export function backupKeySource(settings: { readonly key?: string | undefined; readonly keyFile?: string | undefined }, dataDir: string): BackupKeySource {
  return settings.key !== undefined ? { env: settings.key } : { file: settings.keyFile ?? join(dataDir, 'backup-key.json') };
}

/**
 * The backup key: from `TRESOR_BACKUP_KEY` (base64 of 32 bytes, or the JSON the file holds), or
 * from its file, which the first backup creates (0600) when `create` is set. A file readable by
 * group or others is refused (OWASP ASVS 5 V13.3.x).
 */
export function loadBackupKey(source: BackupKeySource, options: { create?: boolean; onCreated?: (file: string) => void } = {}): BackupKeys {
  if ('env' in source) return backupKeysFrom(parseKey(source.env, 'TRESOR_BACKUP_KEY'));
  const { file } = source;
  if (!existsSync(file)) {
    if (options.create !== true) throw new BackupError('backup-key-missing', `no backup key at ${file} (it is made by the first backup; or set TRESOR_BACKUP_KEY)`, { status: 500, expose: true });
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, `${JSON.stringify({ format, key: randomBytes(32).toString('base64') })}\n`, { mode: 0o600, flag: 'wx' });
    options.onCreated?.(file);
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
