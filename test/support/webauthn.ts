import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/**
 * A software WebAuthn authenticator for tests: an ES256 (P-256) key pair from node:crypto, a
 * minimal CBOR encoder for the attestation object (fmt `none`) and the COSE key, and the byte
 * layouts of authenticatorData and clientDataJSON from WebAuthn Level 3 §6.1 and §5.8.1 — so the
 * server's library verifies real signatures over real structures, with no browser.
 */

type Cbor = number | string | Uint8Array | Map<Cbor, Cbor> | Record<string, unknown>;

function head(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 0x100) return Buffer.from([(major << 5) | 24, length]);
  if (length < 0x10000) return Buffer.from([(major << 5) | 25, length >> 8, length & 0xff]);
  const out = Buffer.alloc(5);
  out[0] = (major << 5) | 26;
  out.writeUInt32BE(length, 1);
  return out;
}

/** CBOR (RFC 8949) for what WebAuthn needs: integers, text and byte strings, maps. */
export function cbor(value: Cbor): Buffer {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error('integers only');
    return value >= 0 ? head(0, value) : head(1, -1 - value);
  }
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([head(2, value.length), value]);
  const entries = value instanceof Map ? [...value.entries()] : Object.entries(value);
  return Buffer.concat([head(5, entries.length), ...entries.flatMap(([k, v]) => [cbor(k as Cbor), cbor(v as Cbor)])]);
}

const b64url = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest();

/** authenticatorData flags (WebAuthn §6.1). */
export const flags = { up: 0x01, uv: 0x04, at: 0x40 } as const;

export interface CeremonyOptions {
  /** The origin the "browser" puts into clientDataJSON. */
  readonly origin: string;
  /** The RP id whose SHA-256 goes into authenticatorData (default: the options' rp id). */
  readonly rpId?: string;
  /** Replaces the challenge the server offered (a forged or foreign one). */
  readonly challenge?: string;
  /** Signs with this key instead of the credential's own (a signature from another key). */
  readonly signWith?: KeyObject;
  /** The counter to report (default: one more than last time). */
  readonly counter?: number;
  readonly flags?: number;
}

export class SoftAuthenticator {
  readonly credentialId: Buffer;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  counter: number;
  private readonly keepsCounter: boolean;

  /** `counter` 0 and `keepsCounter` false: an authenticator that reports no counter (always 0), like most synced passkeys. */
  constructor(options: { counter?: number; keepsCounter?: boolean } = {}) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.credentialId = randomBytes(32);
    this.counter = options.counter ?? 0;
    this.keepsCounter = options.keepsCounter ?? true;
  }

  get id(): string {
    return b64url(this.credentialId);
  }

  /** The credential public key as a COSE_Key (RFC 9053): EC2, ES256, P-256, x, y. */
  coseKey(): Buffer {
    const jwk = this.publicKey.export({ format: 'jwk' });
    return cbor(
      new Map<Cbor, Cbor>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x as string, 'base64url')],
        [-3, Buffer.from(jwk.y as string, 'base64url')],
      ]),
    );
  }

  private authenticatorData(rpId: string, flagBits: number, counter: number, attested?: Buffer): Buffer {
    const count = Buffer.alloc(4);
    count.writeUInt32BE(counter);
    return Buffer.concat([sha256(rpId), Buffer.from([flagBits]), count, ...(attested === undefined ? [] : [attested])]);
  }

  private clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string, origin: string): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }), 'utf8');
  }

  /** `navigator.credentials.create` answered: a RegistrationResponseJSON with attestation `none`. */
  register(options: { challenge: string; rp: { id?: string } }, ceremony: CeremonyOptions): Record<string, unknown> {
    const rpId = ceremony.rpId ?? options.rp.id ?? 'localhost';
    const length = Buffer.alloc(2);
    length.writeUInt16BE(this.credentialId.length);
    const attested = Buffer.concat([Buffer.alloc(16), length, this.credentialId, this.coseKey()]);
    const authData = this.authenticatorData(rpId, ceremony.flags ?? flags.up | flags.uv | flags.at, this.counter, attested);
    const attestationObject = cbor({ fmt: 'none', attStmt: new Map(), authData });
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON: b64url(this.clientData('webauthn.create', ceremony.challenge ?? options.challenge, ceremony.origin)), attestationObject: b64url(attestationObject), transports: ['internal', 'hybrid'] },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }

  /** `navigator.credentials.get` answered: an AuthenticationResponseJSON, signed over authenticatorData ‖ SHA-256(clientDataJSON). */
  assert(options: { challenge: string; rpId?: string }, ceremony: CeremonyOptions): Record<string, unknown> {
    const rpId = ceremony.rpId ?? options.rpId ?? 'localhost';
    const counter = ceremony.counter ?? (this.keepsCounter ? this.counter + 1 : 0);
    this.counter = Math.max(this.counter, counter);
    const authData = this.authenticatorData(rpId, ceremony.flags ?? flags.up | flags.uv, counter);
    const clientDataJSON = this.clientData('webauthn.get', ceremony.challenge ?? options.challenge, ceremony.origin);
    // ES256 signatures in WebAuthn are ASN.1 DER (node:crypto's default for EC keys).
    const signature = sign('sha256', Buffer.concat([authData, sha256(clientDataJSON)]), ceremony.signWith ?? this.privateKey);
    return {
      id: this.id,
      rawId: this.id,
      type: 'public-key',
      response: { clientDataJSON: b64url(clientDataJSON), authenticatorData: b64url(authData), signature: b64url(signature) },
      clientExtensionResults: {},
      authenticatorAttachment: 'platform',
    };
  }
}
