import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { open, seal } from './envelope.js';
import { KeyError } from './errors.js';
import type { KeyProvider } from './key-provider.js';

/**
 * Master keys held by Tresor itself: a key ring in a file (created at first start, mode 0600)
 * or in an environment variable (for production, so the key is not on the disk it protects).
 * Format: {"format":"tresor-master-keys/1","current":N,"keys":{"1":"<base64 of 32 bytes>",…}}.
 */
interface KeyRing {
  readonly format: 'tresor-master-keys/1';
  readonly current: number;
  readonly keys: Readonly<Record<string, string>>;
}

function parseRing(text: string, source: string): Map<number, Buffer> & { current: number } {
  let ring: KeyRing;
  try {
    ring = JSON.parse(text) as KeyRing;
  } catch {
    throw new KeyError('key-file-unsafe', `${source}: not a Tresor master key ring (JSON)`, { status: 500 });
  }
  if (ring?.format !== 'tresor-master-keys/1' || typeof ring.current !== 'number' || ring.keys === null || typeof ring.keys !== 'object') {
    throw new KeyError('key-file-unsafe', `${source}: not a Tresor master key ring`, { status: 500 });
  }
  const keys = new Map<number, Buffer>() as Map<number, Buffer> & { current: number };
  for (const [version, encoded] of Object.entries(ring.keys)) {
    const key = Buffer.from(encoded, 'base64');
    if (!/^\d+$/.test(version) || key.length !== 32) throw new KeyError('key-file-unsafe', `${source}: key ${version} is not 32 bytes of base64`, { status: 500 });
    keys.set(Number(version), key);
  }
  if (!keys.has(ring.current)) throw new KeyError('key-file-unsafe', `${source}: current version ${ring.current} is missing`, { status: 500 });
  keys.current = ring.current;
  return keys;
}

function serialise(keys: Map<number, Buffer>, current: number): string {
  const ring: KeyRing = { format: 'tresor-master-keys/1', current, keys: Object.fromEntries([...keys].map(([v, k]) => [String(v), k.toString('base64')])) };
  return `${JSON.stringify(ring, null, 2)}\n`;
}

export type LocalKeySource = { readonly file: string } | { readonly env: string };

/** Where the master key ring comes from: the setting `keys.masterKey` (TRESOR_MASTER_KEY), else its file, by default `<dataDir>/master-key.json`. */
export function masterKeySource(settings: { readonly masterKey?: string | undefined; readonly masterKeyFile?: string | undefined }, dataDir: string): LocalKeySource {
  return settings.masterKey !== undefined ? { env: settings.masterKey } : { file: settings.masterKeyFile ?? join(dataDir, 'master-key.json') };
}

type Ring = Map<number, Buffer> & { current: number };

function readRingFile(file: string): { ring: Ring; stamp: string } {
  const stat = statSync(file);
  // OWASP ASVS 5 V13.3.x: key material readable only by the service account.
  if ((stat.mode & 0o077) !== 0) {
    throw new KeyError('key-file-unsafe', `${file}: master key file is readable by group or others; run chmod 600 on it`, { status: 500, expose: true });
  }
  return { ring: parseRing(readFileSync(file, 'utf8'), file), stamp: stampOf(stat) };
}

const stampOf = (stat: { ino: number; size: number; mtimeMs: number }) => `${stat.ino}:${stat.size}:${stat.mtimeMs}`;

export function createLocalKeyProvider(source: LocalKeySource): KeyProvider {
  let ring: Ring;
  let stamp = '';
  if ('env' in source) {
    ring = parseRing(source.env, 'TRESOR_MASTER_KEY');
  } else if (existsSync(source.file)) {
    ({ ring, stamp } = readRingFile(source.file));
  } else {
    mkdirSync(dirname(source.file), { recursive: true, mode: 0o700 });
    const first = new Map([[1, randomBytes(32)]]) as Map<number, Buffer> & { current: number };
    first.current = 1;
    writeFileSync(source.file, serialise(first, 1), { mode: 0o600, flag: 'wx' });
    ring = first;
    stamp = stampOf(statSync(source.file));
  }
  // Another process (the admin CLI rotating, the server) may have rewritten the ring: read it
  // again when the file changed, so every process wraps under the current version and can
  // unwrap under a new one.
  const refresh = () => {
    if ('env' in source) return;
    const now = statSync(source.file, { throwIfNoEntry: false });
    if (now !== undefined && stampOf(now) !== stamp) ({ ring, stamp } = readRingFile(source.file));
  };
  const replaceRing = (file: string, updated: Ring) => {
    // Write-then-rename: a crash leaves the old ring or the new one, never half of one.
    const temporary = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(temporary, serialise(updated, updated.current), { mode: 0o600, flag: 'wx' });
    renameSync(temporary, file);
    ring = updated;
    stamp = stampOf(statSync(file));
  };
  const keyOf = (version: number): Buffer => {
    if (!ring.has(version)) refresh();
    const key = ring.get(version);
    if (key === undefined) throw new KeyError('key-missing', `master key version ${version} is not in the key ring`, { status: 500 });
    return key;
  };
  return {
    name: 'file' in source ? 'local (key file)' : 'local (environment)',
    async currentVersion() {
      refresh();
      return ring.current;
    },
    async versions() {
      refresh();
      return [...ring.keys()].sort((a, b) => a - b);
    },
    async wrap(key, aad, version) {
      return seal(keyOf(version), key, `master|${version}|${aad}`);
    },
    async unwrap(wrapped, aad, version) {
      return open(keyOf(version), wrapped, `master|${version}|${aad}`);
    },
    async rotate() {
      // A ring from the environment is rotated where it is kept: a new version, made current there.
      if (!('file' in source)) return { version: ring.current, created: false };
      refresh();
      const next = Math.max(...ring.keys()) + 1;
      const updated = new Map(ring) as Ring;
      updated.set(next, randomBytes(32));
      updated.current = next;
      replaceRing(source.file, updated);
      return { version: next, created: true };
    },
    async retire(versions) {
      if (!('file' in source)) return false;
      refresh();
      const updated = new Map(ring) as Ring;
      updated.current = ring.current;
      for (const version of versions) if (version !== ring.current) updated.delete(version);
      if (updated.size !== ring.size) replaceRing(source.file, updated);
      return true;
    },
  };
}

/** A fresh key ring for TRESOR_MASTER_KEY, printed by `tresor keys generate-master`. */
export function generateKeyRing(): string {
  return serialise(new Map([[1, randomBytes(32)]]), 1).replace(/\s+/g, '');
}
