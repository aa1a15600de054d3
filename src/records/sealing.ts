import { KeyError, open, seal, type DataKey } from '../keys/index.js';
import { storableInClear } from './data-register.js';

/**
 * Field-level encryption of one stored version (SPEC E1/E2). Each top-level element whose class
 * the data register marks for encryption, or whose value may carry free text, is sealed with
 * AES-256-GCM under the subject's data key — name and value together, so not even which elements
 * exist shows (the presence of `deceasedBoolean` alone would be health data). The plaintext part
 * stays JSON text and opened elements are spliced back as text, so a read never re-serialises
 * the resource.
 *
 * Format 2 (written now): one envelope per stored version, `["v2.<key id>.<key version>.<…>"]`,
 * holding the sealed elements' names as a JSON array, a newline, and the elements as JSON
 * object members (`"name":value,…`). Every element of a version has one key (its subject's), so
 * one envelope loses nothing per element: shredding the subject's key erases them all either way,
 * and a reader opens all of them either way. It costs one cipher set-up, one key lookup and one
 * tag per version instead of one per element (most of the encryption step's time on small
 * records). Its AAD binds it to tenant, type, id, version and key, so an envelope moved to
 * another record or version fails to open.
 *
 * Format 1 (read, and re-sealed as format 2 by key rotation): one envelope per element,
 * `["v1.…","v1.…"]`, each AAD also binding the element's position, so two swapped fail to open.
 * The version prefix, not a guess, selects the format; the two AADs start differently
 * (`record|` and `field|`), so a ciphertext of one format never opens as the other.
 */
export interface SealedVersion {
  /** JSON object text of the elements stored in clear. */
  readonly plain: string;
  /** JSON array text of the envelope (format 2) or envelopes (format 1), or null when nothing needed sealing. */
  readonly sealed: string | null;
}

export interface SealContext {
  readonly tenantId: string;
  readonly type: string;
  readonly id: string;
  readonly versionId: number;
}

// ["v2.<key id>.<key version>.<base64url(iv ‖ ciphertext ‖ tag)>"]: the key id stays at
// characters 6–21 of the column, as for format 1 (records/003 reads it there).
const recordPattern = /^\["v2\.([0-9a-f]{16})\.(\d{1,9})\.([A-Za-z0-9_-]+)"\]$/;
// v1.<key id>.<key version>.<base64url(iv ‖ ciphertext ‖ tag)>, one per element
const envelopePattern = /^v1\.([0-9a-f]{16})\.(\d{1,9})\.([A-Za-z0-9_-]+)$/;

const recordAad = (c: SealContext, keyId: string, keyVersion: number) => `record|${c.tenantId}|${c.type}|${c.id}|${c.versionId}|${keyId}|${keyVersion}`;
const fieldAad = (c: SealContext, position: number, keyId: string, keyVersion: number) => `field|${c.tenantId}|${c.type}|${c.id}|${c.versionId}|${position}|${keyId}|${keyVersion}`;

/** The sealed elements of a version: their names, and the elements as JSON object members. */
interface SealedMembers {
  readonly names: readonly string[];
  readonly members: string;
}

function sealMembers(context: SealContext, { names, members }: SealedMembers, key: DataKey): string {
  // JSON.stringify escapes every newline inside a name, so the first newline ends the names.
  const body = Buffer.from(`${JSON.stringify(names)}\n${members}`, 'utf8');
  try {
    return `["v2.${key.keyId}.${key.version}.${seal(key.key, body, recordAad(context, key.keyId, key.version)).toString('base64url')}"]`;
  } finally {
    body.fill(0);
  }
}

/** The elements stored in clear, and the rest as members to seal. */
function splitResource(type: string, resource: Record<string, unknown>): { plain: string } & SealedMembers {
  const plain: Record<string, unknown> = {};
  const names: string[] = [];
  let members = '';
  for (const [element, value] of Object.entries(resource)) {
    if (storableInClear(type, element, value)) {
      plain[element] = value;
      continue;
    }
    members += `${names.length === 0 ? '' : ','}${JSON.stringify(element)}:${JSON.stringify(value)}`;
    names.push(element);
  }
  return { plain: JSON.stringify(plain), names, members };
}

export function sealResource(context: SealContext, resource: Record<string, unknown>, key: DataKey): SealedVersion {
  const split = splitResource(context.type, resource);
  return { plain: split.plain, sealed: split.names.length === 0 ? null : sealMembers(context, split, key) };
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
  const { names, members } = await openMembers(context, stored.sealed, keyOf);
  if (names.length === 0) return { text: stored.plain, sealedElements: [] };
  const head = stored.plain.slice(0, -1);
  return { text: `${head}${head === '{' ? '' : ','}${members}}`, sealedElements: names };
}

/**
 * Key rotation of a whole stored version: its sealed elements sealed again under `next` in
 * format 2 (a format-1 version becomes one envelope), and any element still in clear that may
 * carry free text (stored before such values were sealed) moved into the envelope, so a rotation
 * pass leaves no free text behind. Plaintext exists only inside this call. Throws
 * `integrity-failed` or `key-shredded` (from the key lookup) and changes nothing then.
 */
export async function resealVersion(context: SealContext, stored: SealedVersion, keyOf: KeyLookup, next: DataKey): Promise<{ plain: string; sealed: string; fields: number }> {
  const plain = JSON.parse(stored.plain) as Record<string, unknown>;
  if (stored.sealed !== null && Object.entries(plain).every(([element, value]) => storableInClear(context.type, element, value))) {
    const opened = await openMembers(context, stored.sealed, keyOf);
    if (opened.names.length === 0) return { plain: stored.plain, sealed: '[]', fields: 0 };
    return { plain: stored.plain, sealed: sealMembers(context, opened, next), fields: opened.names.length };
  }
  const opened = await openResource(context, stored, keyOf);
  const split = splitResource(context.type, JSON.parse(opened.text) as Record<string, unknown>);
  return { plain: split.plain, sealed: split.names.length === 0 ? '[]' : sealMembers(context, split, next), fields: split.names.length };
}

/** Opens a stored version's sealed part, in either format; throws `integrity-failed` on anything malformed. */
async function openMembers(context: SealContext, sealed: string, keyOf: KeyLookup): Promise<SealedMembers> {
  const record = sealed.startsWith('["v2.') ? recordPattern.exec(sealed) : null;
  if (record === null) return openFieldEnvelopes(context, sealed, keyOf);
  const [, keyId, versionText, body] = record as unknown as [string, string, string, string];
  const version = Number(versionText);
  const key = await keyOf(keyId, version);
  const opened = open(key.key, Buffer.from(body, 'base64url'), recordAad(context, keyId, version));
  const text = opened.toString('utf8');
  opened.fill(0);
  const newline = text.indexOf('\n');
  if (newline < 0) throw integrityFailed();
  let names: unknown;
  try {
    names = JSON.parse(text.slice(0, newline));
  } catch {
    throw integrityFailed();
  }
  if (!Array.isArray(names) || !names.every((name) => typeof name === 'string')) throw integrityFailed();
  return { names, members: text.slice(newline + 1) };
}

/** Format 1: each envelope opened with the key it names, in order. */
async function openFieldEnvelopes(context: SealContext, sealed: string, keyOf: KeyLookup): Promise<SealedMembers> {
  let envelopes: unknown;
  try {
    envelopes = JSON.parse(sealed);
  } catch {
    throw integrityFailed();
  }
  if (!Array.isArray(envelopes)) throw integrityFailed();
  const names: string[] = [];
  let members = '';
  for (const [position, envelope] of envelopes.entries()) {
    const match = typeof envelope === 'string' ? envelopePattern.exec(envelope) : null;
    if (match === null) throw integrityFailed();
    const [, keyId, version, body] = match as unknown as [string, string, string, string];
    const key = await keyOf(keyId, Number(version));
    const pair = open(key.key, Buffer.from(body, 'base64url'), fieldAad(context, position, keyId, Number(version)));
    const opened = pair.toString('utf8');
    pair.fill(0);
    // Each pair is `"name":value`, written with JSON.stringify(name).
    names.push(JSON.parse(opened.slice(0, opened.indexOf('":') + 1)) as string);
    members += `${position === 0 ? '' : ','}${opened}`;
  }
  return { names, members };
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
