import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate, randomBytes, webcrypto } from 'node:crypto';

export interface TlsMaterial {
  readonly key: string;
  readonly cert: string;
  /** SHA-256 fingerprint, for pinning a self-signed certificate. */
  readonly fingerprint256: string;
  readonly selfSigned: boolean;
  readonly certFile: string;
}

/**
 * TLS 1.2 and 1.3 only (SPEC E3; NIST SP 800-52r2 §3.1; OWASP ASVS 5 V12.1.1). For 1.2, only
 * AEAD suites with forward secrecy, as in Mozilla's "intermediate" profile; 1.3 suites are all
 * AEAD and Node's defaults stand.
 */
export const tlsServerOptions = {
  minVersion: 'TLSv1.2',
  ciphers: [
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  honorCipherOrder: true,
} as const;

export async function loadOrCreateCertificate(options: { dataDir: string; certFile?: string | undefined; keyFile?: string | undefined }): Promise<TlsMaterial> {
  if (options.certFile !== undefined && options.keyFile !== undefined) {
    const cert = readFileSync(options.certFile, 'utf8');
    return { cert, key: readFileSync(options.keyFile, 'utf8'), fingerprint256: new X509Certificate(cert).fingerprint256, selfSigned: false, certFile: options.certFile };
  }
  const dir = join(options.dataDir, 'tls');
  const certFile = join(dir, 'localhost.crt');
  const keyFile = join(dir, 'localhost.key');
  if (existsSync(certFile) && existsSync(keyFile)) {
    if ((statSync(keyFile).mode & 0o077) !== 0) throw new Error(`${keyFile}: private key is readable by group or others; chmod 600 it`);
    const cert = readFileSync(certFile, 'utf8');
    const parsed = new X509Certificate(cert);
    if (new Date(parsed.validTo).getTime() > Date.now() + 86_400_000) {
      return { cert, key: readFileSync(keyFile, 'utf8'), fingerprint256: parsed.fingerprint256, selfSigned: true, certFile };
    }
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Loaded only to make a certificate (a fifth of a second): a process that reads one never pays.
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = Date.now();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(16).toString('hex').replace(/^[89a-f]/, '7'),
    name: 'CN=localhost, O=Tresor development certificate',
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 397 * 86_400_000), // CA/B Forum maximum validity
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]["keys"],
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        { type: 'dns', value: 'localhost' },
        { type: 'ip', value: '127.0.0.1' },
        { type: 'ip', value: '::1' },
      ]),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const key = `-----BEGIN PRIVATE KEY-----\n${Buffer.from(pkcs8).toString('base64').replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END PRIVATE KEY-----\n`;
  const cert = certificate.toString('pem');
  writeFileSync(keyFile, key, { mode: 0o600 });
  writeFileSync(certFile, cert, { mode: 0o644 });
  return { cert, key, fingerprint256: new X509Certificate(cert).fingerprint256, selfSigned: true, certFile };
}
