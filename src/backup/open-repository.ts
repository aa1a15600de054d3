import { readFile, stat } from 'node:fs/promises';
import { BackupError } from './errors.js';
import { openLocalRepository } from './local-repository.js';
import type { Repository } from './repository.js';
import { openSftpRepository, parseHostKeySha256, parseSftpLocation } from './sftp-repository.js';

export interface OpenRepositoryOptions {
  /** The `backup.sftp` settings; needed only for an `sftp://` location. */
  readonly sftp?: {
    readonly privateKeyFile?: string;
    readonly hostKeySha256?: string;
    readonly passphrase?: string;
    readonly timeoutMs?: number;
  };
}

const invalid = (message: string, cause?: unknown) => new BackupError('repository-invalid', message, { status: 500, expose: true, cause });

/**
 * Opens the repository a `--repository` option or the `backup.repository` setting names: a
 * directory path (absolute, or relative to the working directory) or
 * `sftp://user@host:port/path`. Messages never repeat a location that failed to parse: it may
 * hold a password.
 */
export async function openRepository(location: string, options: OpenRepositoryOptions = {}): Promise<Repository> {
  if (location.trim() === '') throw invalid('backup.repository is empty: give a directory path or sftp://user@host:port/path');
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(location)?.[1]?.toLowerCase();
  if (scheme === undefined) return openLocalRepository(location);
  if (scheme === 's3') throw invalid('S3 is not supported yet: use a directory path or sftp://user@host:port/path');
  if (scheme !== 'sftp') throw invalid(`${scheme}:// repositories are not supported: use a directory path or sftp://user@host:port/path`);

  let url: URL;
  try {
    url = new URL(location);
  } catch (error) {
    throw invalid('the sftp:// repository location is not a valid URL (expected sftp://user@host:port/path)', error);
  }
  // Refuses a password before any file is read or any connection is made.
  parseSftpLocation(url);
  const settings = options.sftp ?? {};
  if (settings.privateKeyFile === undefined || settings.privateKeyFile === '') {
    throw invalid('backup.sftp.privateKeyFile is not set: an SFTP repository authenticates with a private key file (passwords are not supported)');
  }
  if (settings.hostKeySha256 === undefined || settings.hostKeySha256 === '') {
    throw invalid(
      "backup.sftp.hostKeySha256 is not set: the SHA-256 fingerprint of the server's host key, from `ssh-keygen -l -E sha256 -f /etc/ssh/ssh_host_ed25519_key.pub` on the server (the server is never trusted on first use)",
    );
  }
  parseHostKeySha256(settings.hostKeySha256);
  const file = settings.privateKeyFile;
  let privateKey: Buffer;
  try {
    // OpenSSH refuses a private key others can read; so do we (OWASP ASVS 5 V13.3.x: key material readable only by the service account).
    if (((await stat(file)).mode & 0o077) !== 0) {
      throw invalid(`backup.sftp.privateKeyFile ${file} is readable by group or others; run chmod 600 on it`);
    }
    privateKey = await readFile(file);
  } catch (error) {
    if (error instanceof BackupError) throw error;
    const code = (error as { code?: unknown }).code;
    throw invalid(`backup.sftp.privateKeyFile ${file} cannot be read (${typeof code === 'string' ? code : 'error'})`, error);
  }
  return openSftpRepository(url, {
    privateKey,
    hostKeySha256: settings.hostKeySha256,
    ...(settings.passphrase === undefined ? {} : { passphrase: settings.passphrase }),
    ...(settings.timeoutMs === undefined ? {} : { timeoutMs: settings.timeoutMs }),
  });
}
