import { randomBytes, webcrypto } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

/**
 * A private certificate authority for the loopback cluster's pgBackRest TLS server mode: the
 * server proves itself to its clients, and each client (a PostgreSQL node pushing WAL, the
 * repository side running backups) proves itself with a certificate whose CN the server
 * authorises (`tls-server-auth`). ECDSA P-256 with SHA-256 (NIST SP 800-52r2 §3.3.1; SP 800-57
 * 128-bit strength), one year.
 */
export interface Pem {
  readonly cert: string;
  readonly key: string;
}

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
type Keys = Parameters<typeof X509.X509CertificateGenerator.createSelfSigned>[0]['keys'];
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type WithKey = Extract<Parameters<typeof X509.X509CertificateGenerator.create>[0], { signingKey: unknown }>;

// Loaded when the cluster makes its certificates, not with every command (a fifth of a second).
async function provider(): Promise<typeof X509> {
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  return x509;
}

async function pemKey(keys: CryptoKeyPair): Promise<string> {
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  return `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END PRIVATE KEY-----\n`;
}

const serial = () => randomBytes(16).toString('hex').replace(/^[89a-f]/, '7');
const validity = () => ({ notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 365 * 86_400_000) });

export async function createAuthority(name: string): Promise<Pem & { keys: CryptoKeyPair; subject: string }> {
  const x509 = await provider();
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const subject = `CN=${name}`;
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: subject,
    ...validity(),
    keys: keys as unknown as Keys,
    signingAlgorithm: algorithm,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
  });
  return { cert: certificate.toString('pem'), key: await pemKey(keys), keys, subject };
}

/** A certificate signed by `authority`: for a server (`localhost`, 127.0.0.1) or a client (its CN). */
export async function issue(authority: { keys: CryptoKeyPair; subject: string }, commonName: string, use: 'server' | 'client'): Promise<Pem> {
  const x509 = await provider();
  const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${commonName}`,
    issuer: authority.subject,
    ...validity(),
    publicKey: keys.publicKey as unknown as WithKey['publicKey'],
    signingKey: authority.keys.privateKey as unknown as WithKey['signingKey'],
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([use === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
      ...(use === 'server' ? [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }])] : []),
    ],
  });
  return { cert: certificate.toString('pem'), key: await pemKey(keys) };
}
