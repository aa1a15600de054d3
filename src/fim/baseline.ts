import { createHash, verify as verifySignature, type KeyObject } from 'node:crypto';
import type { Signer } from '../keys/index.js';
import { FimError } from './errors.js';
import type { Entry } from './scan.js';
import type { Target } from './watched.js';

export const baselineFormat = 'tresor-fim-baseline/1';

/**
 * A signed record of what Tresor runs. The signature (Ed25519, RFC 8032) covers the format, the
 * time, the key version, the targets and a SHA-256 digest of every entry, so no entry, target or
 * field can change, go or be added without the signature failing.
 */
export interface Baseline {
  readonly format: typeof baselineFormat;
  readonly at: string;
  /** Version of the `fim` signing key in the key store. */
  readonly key: number;
  readonly targets: readonly Target[];
  readonly entries: readonly Entry[];
  readonly sig: string;
}

/** The digest of the targets and entries, in a form with no ambiguity (one JSON array per line). */
function digestOf(targets: readonly Target[], entries: readonly Entry[]): string {
  const hash = createHash('sha256');
  for (const t of targets) hash.update(`${JSON.stringify(['target', t.path, t.kind])}\n`);
  for (const e of entries) hash.update(`${JSON.stringify(['entry', e.path, e.sha256, e.size, e.mode, e.uid])}\n`);
  return hash.digest('hex');
}

const signedText = (b: Omit<Baseline, 'sig'>) => `${b.format}|${b.at}|${b.key}|${digestOf(b.targets, b.entries)}`;

export function signBaseline(signer: Signer, targets: readonly Target[], entries: readonly Entry[], at: Date): Baseline {
  const unsigned = { format: baselineFormat, at: at.toISOString(), key: signer.version, targets, entries } as const;
  return { ...unsigned, sig: signer.sign(signedText(unsigned)) };
}

/** The file's text: one entry per line, so a diff of two baselines reads. */
export function serialiseBaseline(b: Baseline): string {
  const lines = b.entries.map((e) => `    ${JSON.stringify(e)}`);
  const head = JSON.stringify({ format: b.format, at: b.at, key: b.key, sig: b.sig, targets: b.targets });
  return `${head.slice(0, -1)},\n  "entries": [\n${lines.join(',\n')}\n  ]\n}\n`;
}

const invalid = (why: string) => new FimError('fim-baseline-invalid', `the file integrity baseline is not valid: ${why}; run \`tresor fim baseline\` only once you know why`, { status: 500, expose: true });

const isEntry = (e: unknown): e is Entry => {
  const x = e as Record<string, unknown>;
  return x !== null && typeof x === 'object' && typeof x['path'] === 'string' && (x['sha256'] === null || (typeof x['sha256'] === 'string' && /^[0-9a-f]{64}$/.test(x['sha256']))) && Number.isSafeInteger(x['size']) && typeof x['mode'] === 'string' && /^[0-7]{6}$/.test(x['mode']) && Number.isSafeInteger(x['uid']);
};
const isTarget = (t: unknown): t is Target => {
  const x = t as Record<string, unknown>;
  return x !== null && typeof x === 'object' && typeof x['path'] === 'string' && (x['kind'] === 'tree' || x['kind'] === 'secret');
};

/**
 * Parses a baseline file and verifies its signature with the key store's public key of the
 * version it names. Anything else — not JSON, another shape, an unknown key version, a
 * signature that fails — throws `fim-baseline-invalid`: a baseline that cannot be trusted is
 * never read as "no changes".
 */
export async function verifyBaseline(text: string, publicKey: (version: number) => Promise<KeyObject | undefined>): Promise<Baseline> {
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw invalid('it is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || parsed['format'] !== baselineFormat) throw invalid(`it is not a ${baselineFormat} file`);
  const { at, key, sig, targets, entries } = parsed;
  if (typeof at !== 'string' || !Number.isSafeInteger(key) || typeof sig !== 'string' || !Array.isArray(targets) || !targets.every(isTarget) || !Array.isArray(entries) || !entries.every(isEntry)) {
    throw invalid('a field is missing or malformed');
  }
  const baseline: Baseline = { format: baselineFormat, at, key: key as number, targets, entries, sig };
  const verifier = await publicKey(baseline.key);
  if (verifier === undefined) throw invalid(`it names signing key version ${baseline.key}, which this deployment does not have`);
  if (!verifySignature(null, Buffer.from(signedText(baseline), 'utf8'), verifier, Buffer.from(sig, 'base64url'))) throw invalid('its signature does not verify (the file was changed, or signed by another key)');
  return baseline;
}
