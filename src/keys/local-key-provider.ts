import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
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

export function createLocalKeyProvider(source: LocalKeySource): KeyProvider {
  let ring: Map<number, Buffer> & { current: number };
  if ('env' in source) {
    ring = parseRing(source.env, 'TRESOR_MASTER_KEY');
  } else if (existsSync(source.file)) {
    // OWASP ASVS 5 V13.3.x: key material readable only by the service account.
    if ((statSync(source.file).mode & 0o077) !== 0) {
      throw new KeyError('key-file-unsafe', `${source.file}: master key file is readable by group or others; run chmod 600 on it`, { status: 500, expose: true });
    }
    ring = parseRing(readFileSync(source.file, 'utf8'), source.file);
  } else {
    mkdirSync(dirname(source.file), { recursive: true, mode: 0o700 });
    const first = new Map([[1, randomBytes(32)]]) as Map<number, Buffer> & { current: number };
    first.current = 1;
    writeFileSync(source.file, serialise(first, 1), { mode: 0o600, flag: 'wx' });
    ring = first;
  }
  const keyOf = (version: number): Buffer => {
    const key = ring.get(version);
    if (key === undefined) throw new KeyError('key-missing', `master key version ${version} is not in the key ring`, { status: 500 });
    return key;
  };
  return {
    name: 'file' in source ? 'local (key file)' : 'local (environment)',
    async currentVersion() {
      return ring.current;
    },
    async wrap(key, aad, version) {
      return seal(keyOf(version), key, `master|${version}|${aad}`);
    },
    async unwrap(wrapped, aad, version) {
      return open(keyOf(version), wrapped, `master|${version}|${aad}`);
    },
    async rotate() {
      if (!('file' in source)) throw new KeyError('key-provider-failed', 'The master key comes from TRESOR_MASTER_KEY: add a new version there and restart.', { status: 409, expose: true });
      const next = Math.max(...ring.keys()) + 1;
      const updated = new Map(ring) as Map<number, Buffer> & { current: number };
      updated.set(next, randomBytes(32));
      updated.current = next;
      // Write-then-rename: a crash leaves the old ring or the new one, never half of one.
      const temporary = `${source.file}.${process.pid}.tmp`;
      writeFileSync(temporary, serialise(updated, next), { mode: 0o600, flag: 'wx' });
      renameSync(temporary, source.file);
      ring = updated;
      return next;
    },
  };
}

/** A fresh key ring for TRESOR_MASTER_KEY, printed by `tresor keys generate-master`. */
export function generateKeyRing(): string {
  return serialise(new Map([[1, randomBytes(32)]]), 1).replace(/\s+/g, '');
}
