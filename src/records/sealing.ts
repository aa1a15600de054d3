import { KeyError, open, seal, type DataKey } from '../keys/index.js';
import { storableInClear } from './data-register.js';

/**
 * Field-level encryption of one stored version (SPEC E1/E2). Each top-level element whose class
 * the data register marks for encryption, or whose value may carry free text, is sealed on its own with AES-256-GCM under the
 * subject's data key — name and value together, so not even which elements exist shows (the
 * presence of `deceasedBoolean` alone would be health data). The AAD binds each ciphertext to
 * tenant, type, id, version and its position, so one moved to another record, version or
 * place — or two swapped — fails to open. The plaintext part stays JSON text and opened fields
 * are spliced back as text, so a read never re-serialises the resource.
 */
export interface SealedVersion {
  /** JSON object text of the elements stored in clear. */
  readonly plain: string;
  /** JSON array text of envelopes, one per sealed element, or null when nothing needed sealing. */
  readonly sealed: string | null;
}

export interface SealContext {
  readonly tenantId: string;
  readonly type: string;
  readonly id: string;
  readonly versionId: number;
}

// v1.<key id>.<key version>.<base64url(iv ‖ ciphertext ‖ tag)>
const envelopePattern = /^v1\.([0-9a-f]{16})\.(\d{1,9})\.([A-Za-z0-9_-]+)$/;

const aadOf = (c: SealContext, position: number, keyId: string, keyVersion: number) => `field|${c.tenantId}|${c.type}|${c.id}|${c.versionId}|${position}|${keyId}|${keyVersion}`;

export function sealResource(context: SealContext, resource: Record<string, unknown>, key: DataKey): SealedVersion {
  const plain: Record<string, unknown> = {};
  const sealed: string[] = [];
  for (const [element, value] of Object.entries(resource)) {
    if (storableInClear(context.type, element, value)) {
      plain[element] = value;
      continue;
    }
    const pair = `${JSON.stringify(element)}:${JSON.stringify(value)}`;
    const box = seal(key.key, Buffer.from(pair, 'utf8'), aadOf(context, sealed.length, key.keyId, key.version));
    sealed.push(`v1.${key.keyId}.${key.version}.${box.toString('base64url')}`);
  }
  return { plain: JSON.stringify(plain), sealed: sealed.length === 0 ? null : JSON.stringify(sealed) };
}

export type KeyLookup = (keyId: string, version: number) => Promise<DataKey>;

/** An opened version: its JSON text, and the names of the elements that were sealed (for the audit trail's data classes). */
export interface OpenedVersion {
  readonly text: string;
  readonly sealedElements: readonly string[];
}

/** The resource's JSON text. Throws `integrity-failed` or `key-shredded` (from the key lookup). */
export async function openResource(context: SealContext, stored: SealedVersion, keyOf: KeyLookup): Promise<OpenedVersion> {
  if (stored.sealed === null) return { text: stored.plain, sealedElements: [] };
  let text = stored.plain.slice(0, -1);
  let first = text === '{';
  const sealedElements: string[] = [];
  await eachEnvelope(context, stored.sealed, keyOf, (_position, pair) => {
    const opened = pair.toString('utf8');
    // Each pair is `"name":value`, written by sealResource with JSON.stringify(name).
    sealedElements.push(JSON.parse(opened.slice(0, opened.indexOf('":') + 1)) as string);
    text += `${first ? '' : ','}${opened}`;
    first = false;
  });
  return { text: `${text}}`, sealedElements };
}

/**
 * Key rotation: the same elements, opened with the key each envelope names and sealed again
 * under `next` at the same position. Plaintext exists only inside this call. Throws
 * `integrity-failed` or `key-shredded` (from the key lookup) and changes nothing then.
 */
async function resealEnvelopes(context: SealContext, sealed: string, keyOf: KeyLookup, next: DataKey): Promise<{ sealed: string; fields: number }> {
  const out: string[] = [];
  await eachEnvelope(context, sealed, keyOf, (position, pair) => {
    out.push(`v1.${next.keyId}.${next.version}.${seal(next.key, pair, aadOf(context, position, next.keyId, next.version)).toString('base64url')}`);
    pair.fill(0);
  });
  return { sealed: JSON.stringify(out), fields: out.length };
}

/**
 * Key rotation of a whole stored version: its envelopes sealed again under `next`, and any
 * element still in clear that may carry free text (stored before such values were sealed) moved
 * into an envelope of its own, so a rotation pass leaves no free text behind.
 */
export async function resealVersion(context: SealContext, stored: SealedVersion, keyOf: KeyLookup, next: DataKey): Promise<{ plain: string; sealed: string; fields: number }> {
  const plain = JSON.parse(stored.plain) as Record<string, unknown>;
  if (stored.sealed !== null && Object.entries(plain).every(([element, value]) => storableInClear(context.type, element, value))) {
    return { plain: stored.plain, ...(await resealEnvelopes(context, stored.sealed, keyOf, next)) };
  }
  const opened = await openResource(context, stored, keyOf);
  const resealed = sealResource(context, JSON.parse(opened.text) as Record<string, unknown>, next);
  return { plain: resealed.plain, sealed: resealed.sealed ?? '[]', fields: resealed.sealed === null ? 0 : (JSON.parse(resealed.sealed) as unknown[]).length };
}

/** Opens each envelope of a stored version in order and hands it to `visit`; throws `integrity-failed` on anything malformed. */
async function eachEnvelope(context: SealContext, sealed: string, keyOf: KeyLookup, visit: (position: number, pair: Buffer) => void): Promise<void> {
  let envelopes: unknown;
  try {
    envelopes = JSON.parse(sealed);
  } catch {
    throw integrityFailed();
  }
  if (!Array.isArray(envelopes)) throw integrityFailed();
  for (const [position, envelope] of envelopes.entries()) {
    const match = typeof envelope === 'string' ? envelopePattern.exec(envelope) : null;
    if (match === null) throw integrityFailed();
    const [, keyId, version, body] = match as unknown as [string, string, string, string];
    const key = await keyOf(keyId, Number(version));
    visit(position, open(key.key, Buffer.from(body, 'base64url'), aadOf(context, position, keyId, Number(version))));
  }
}

function integrityFailed(): KeyError {
  return new KeyError('integrity-failed', 'Stored data failed its integrity check.', { status: 500, expose: true });
}

/**
 * How stored versions are sealed and opened. Production uses `fieldEncryption`; the seam exists
 * so the benchmark can measure the same rows without the encryption step (bench/, never config).
 */
export interface FieldSealer {
  seal(context: SealContext, resource: Record<string, unknown>, key: DataKey): SealedVersion;
  open(context: SealContext, stored: SealedVersion, keyOf: KeyLookup): Promise<OpenedVersion>;
}

export const fieldEncryption: FieldSealer = { seal: sealResource, open: openResource };
