import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { posix } from 'node:path';
import type ssh2 from 'ssh2';
import type { Client, SFTPWrapper, Stats } from 'ssh2';
import { BackupError } from './errors.js';
import { checkListPrefix, isObjectName, isTemporaryName, listBase, mayContain, type LocalRepository } from './local-repository.js';
import { checkObjectName, type Repository } from './repository.js';
import { lazyRequire } from '../platform/lazy-require.js';

// Loaded when an SFTP repository is opened, not by every command that builds the backup service.
const ssh2Library = lazyRequire<typeof ssh2>('ssh2');

/**
 * A repository on an SFTP server (OpenSSH's sftp-server or internal-sftp, a NAS, a storage
 * box), through the `ssh2` package. Authentication by key only, the server proven by its host
 * key fingerprint before anything is sent: RFC 4251 §4.1 leaves host key checking to the
 * client, and a client that accepts any key talks to whoever answers (OWASP ASVS 5 V12.3.x:
 * authenticate the server of every outbound TLS/SSH connection). The objects are encrypted
 * before they get here; the key check is what keeps an attacker from deleting or withholding
 * them while we believe they are stored.
 */
export interface SftpRepositoryOptions {
  /** The client's private key (OpenSSH or PEM format). Password authentication is never used. */
  readonly privateKey: Buffer | string;
  /** The server's host key, SHA-256, base64: what `ssh-keygen -l -E sha256` prints, with or without `SHA256:`. */
  readonly hostKeySha256: string;
  readonly passphrase?: string;
  /** Connecting, the handshake and opening the SFTP session together; then the keepalive limit. Default 15 s. */
  readonly timeoutMs?: number;
}

/** A repository on an SFTP server; it can clean up after puts cut off like a local one. */
export type SftpRepository = Repository & Pick<LocalRepository, 'removeStaleTemporaries'>;

/** SFTP status codes (draft-ietf-secsh-filexfer-02 §7, the protocol version 3 OpenSSH speaks). */
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;
const FAILURE = 4;
const statusNames: Readonly<Record<number, string>> = { 1: 'EOF', 2: 'NO_SUCH_FILE', 3: 'PERMISSION_DENIED', 4: 'FAILURE', 5: 'BAD_MESSAGE', 6: 'NO_CONNECTION', 7: 'CONNECTION_LOST', 8: 'OP_UNSUPPORTED' };

const invalid = (message: string, cause?: unknown) => new BackupError('repository-invalid', message, { status: 500, expose: true, cause });

export interface SftpLocation {
  readonly user: string;
  readonly host: string;
  readonly port: number;
  /** Absolute, or relative to the login directory (`sftp://u@h/~/backups`, draft-ietf-secsh-scp-sftp-ssh-uri-04 §3.4). */
  readonly path: string;
  /** `sftp://user@host:port/path`: no credential, so it can go into messages and logs. */
  readonly display: string;
}

/** Reads `sftp://user@host[:port]/path`; refuses a password in it (the URL ends up in configs, shells and logs). */
export function parseSftpLocation(url: URL): SftpLocation {
  if (url.protocol !== 'sftp:') throw invalid('an SFTP repository needs an sftp:// location');
  const where = `sftp://${url.username === '' ? '' : `${url.username}@`}${url.hostname}${url.port === '' ? '' : `:${url.port}`}${url.pathname}`;
  if (url.password !== '') {
    throw invalid(`${where}: the repository location must not contain a password; SFTP backups authenticate with a key (backup.sftp.privateKeyFile)`);
  }
  if (url.username === '') throw invalid(`${where}: the repository location needs a user, as in sftp://user@host:port/path`);
  if (url.hostname === '') throw invalid(`${where}: the repository location needs a host, as in sftp://user@host:port/path`);
  if (url.search !== '' || url.hash !== '') throw invalid(`${where}: the repository location must not have a query or fragment`);
  let user: string;
  let path: string;
  try {
    user = decodeURIComponent(url.username);
    path = decodeURIComponent(url.pathname);
  } catch (error) {
    throw invalid(`${where}: the repository location has a malformed %-escape`, error);
  }
  if (path === '/~' || path.startsWith('/~/')) path = path.slice(3) === '' ? '.' : path.slice(3);
  else if (path === '') path = '/';
  path = posix.normalize(path);
  if (path.length > 1 && path.endsWith('/')) path = path.slice(0, -1);
  const port = url.port === '' ? 22 : Number(url.port);
  return { user, host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port, path, display: `sftp://${url.username}@${url.hostname}:${port}${url.pathname}` };
}

/** The 32 bytes of a `SHA256:…` fingerprint (the prefix and base64 padding optional). */
export function parseHostKeySha256(value: string): Buffer {
  const base64 = value.trim().replace(/^SHA256:/, '');
  if (!/^[A-Za-z0-9+/]{43}=?$/.test(base64)) {
    throw invalid('backup.sftp.hostKeySha256 is not a SHA-256 host key fingerprint: expected SHA256: and 43 characters of base64, as printed by ssh-keygen -l -E sha256 -f <host key>.pub');
  }
  return Buffer.from(base64, 'base64');
}

/** OpenSSH's form of a key fingerprint: `SHA256:` and unpadded base64. */
export const fingerprintOf = (digest: Buffer): string => `SHA256:${digest.toString('base64').replace(/=+$/, '')}`;

interface Session {
  readonly client: Client;
  readonly sftp: SFTPWrapper;
  /** Directories known to exist, so a put does not ask again. */
  readonly directories: Set<string>;
  /**
   * Rejects when the connection is gone. ssh2 fails the requests pending at that moment, but a
   * request sent afterwards (closing a handle, removing a temporary file) would wait forever.
   */
  readonly gone: Promise<never>;
}

type Done<T> = (error: Error | undefined | null, value?: T) => void;

function request<T = void>(start: (done: Done<T>) => void): Promise<T> {
  return new Promise((resolve, reject) => start((error, value) => (error ? reject(error) : resolve(value as T))));
}

/** One SFTP request on session `s`, failing when the connection is lost. */
function call<T = void>(s: Session, start: (done: Done<T>) => void): Promise<T> {
  return Promise.race([request(start), s.gone]);
}

/** An OpenSSH extension request, or 'unsupported' when the server did not announce it (ssh2 then throws at once). */
function extension<T = void>(s: Session, start: (done: Done<T>) => void): Promise<T> | 'unsupported' {
  let done!: Done<T>;
  const result = new Promise<T>((resolve, reject) => (done = (error, value) => (error ? reject(error) : resolve(value as T))));
  try {
    start(done);
  } catch {
    return 'unsupported';
  }
  return Promise.race([result, s.gone]);
}

const statusOf = (error: unknown): number | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
};

/** At most `limit` tasks at a time (SFTP pipelines requests; a server has a bounded number of handles). */
function limiter(limit: number) {
  let active = 0;
  const waiting: (() => void)[] = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active < limit) active += 1;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next === undefined) active -= 1;
      else next();
    }
  };
}

export async function openSftpRepository(url: URL, options: SftpRepositoryOptions): Promise<SftpRepository> {
  const location = parseSftpLocation(url);
  const { display } = location;
  const expected = parseHostKeySha256(options.hostKeySha256);
  const ssh = ssh2Library();
  const parsed = ssh.utils.parseKey(options.privateKey, options.passphrase);
  const key = Array.isArray(parsed) ? (parsed[0] as unknown) : parsed;
  if (key instanceof Error || key === undefined || !(key as { isPrivateKey(): boolean }).isPrivateKey()) {
    // The parser's message is not passed on: it is about the key's contents.
    throw invalid(`${display}: the SFTP private key (backup.sftp.privateKeyFile) cannot be read: not a private key in OpenSSH or PEM format, or the passphrase is missing or wrong`);
  }
  const timeoutMs = options.timeoutMs ?? 15_000;
  const unreachable = (message: string, cause?: unknown) => new BackupError('repository-unreachable', `${display}: ${message}; the live data is unaffected`, { status: 503, cause });

  const connectionError = (error: unknown, offered: string | undefined): BackupError => {
    if (offered !== undefined) {
      return unreachable(
        `the server's host key did not match backup.sftp.hostKeySha256 (expected ${fingerprintOf(expected)}, the server offered ${offered}); refused before authenticating or sending anything. If the server's key was replaced on purpose, update the setting; otherwise someone may be intercepting the connection`,
        error,
      );
    }
    const { level, code } = (error ?? {}) as { level?: unknown; code?: unknown };
    if (level === 'client-timeout') return unreachable(`no SFTP session within ${timeoutMs} ms (server unreachable or not answering)`, error);
    if (level === 'client-authentication') return unreachable(`the server refused the key (authentication failed for user ${location.user})`, error);
    if (typeof code === 'string') return unreachable(`cannot connect (${code})`, error);
    return unreachable(`the SSH connection failed (${typeof level === 'string' ? level : 'error'})`, error);
  };

  let session: Promise<Session> | undefined;
  let closed = false;

  const connect = (): Promise<Session> => {
    const attempt = new Promise<Session>((resolve, reject) => {
      const client = new ssh.Client();
      let settled = false;
      let offered: string | undefined;
      let markGone: (error: Error) => void = () => undefined;
      const gone = new Promise<never>((_, rejectGone) => (markGone = rejectGone));
      gone.catch(() => undefined);
      // The SFTP channel or the whole connection is gone: drop both, the next operation connects again.
      const lost = () => {
        if (session === attempt) session = undefined;
        markGone(new Error('connection lost'));
        client.destroy();
      };
      const fail = (error: unknown) => {
        if (settled) return lost();
        settled = true;
        clearTimeout(timer);
        client.destroy();
        reject(connectionError(error, offered));
      };
      const timer = setTimeout(() => fail(Object.assign(new Error('timeout'), { level: 'client-timeout' })), timeoutMs);
      client.on('error', fail);
      client.on('close', () => fail(Object.assign(new Error('connection closed'), { code: 'ECONNRESET' })));
      client.on('ready', () => {
        client.sftp((error, sftp) => {
          if (error) return fail(error);
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          sftp.on('error', lost);
          sftp.on('close', lost);
          resolve({ client, sftp, directories: new Set(), gone });
        });
      });
      try {
        client.connect({
          host: location.host,
          port: location.port,
          username: location.user,
          privateKey: options.privateKey,
          ...(options.passphrase === undefined ? {} : { passphrase: options.passphrase }),
          tryKeyboard: false,
          readyTimeout: timeoutMs,
          // A server that vanishes mid-transfer fails the pending requests within about timeoutMs.
          keepaliveInterval: Math.max(1_000, Math.round(timeoutMs / 3)),
          keepaliveCountMax: 3,
          hostVerifier: (hostKey: Buffer) => {
            const digest = createHash('sha256').update(hostKey).digest();
            if (timingSafeEqual(digest, expected)) return true;
            offered = fingerprintOf(digest);
            return false;
          },
        });
      } catch (error) {
        fail(error);
      }
    });
    return attempt;
  };

  /** The open session; after a lost connection the next operation connects again. */
  const current = (): Promise<Session> => {
    if (closed) return Promise.reject(new BackupError('repository-unreachable', `${display}: the repository was closed`, { status: 503 }));
    if (session === undefined) {
      const attempt = connect();
      session = attempt;
      attempt.catch(() => {
        if (session === attempt) session = undefined;
      });
    }
    return session;
  };

  const pathOf = (name: string) => posix.join(location.path, name);

  const operationError = (error: unknown, action: string, name: string, full = false): BackupError => {
    if (error instanceof BackupError) return error;
    const status = statusOf(error);
    if (full) {
      return new BackupError('repository-full', `${display} is full (no space left for ${name}); the temporary file was removed, the live data is unaffected`, { status: 507, cause: error });
    }
    if (status === NO_SUCH_FILE && action === 'read') return new BackupError('object-missing', `backup object ${display}: ${name} does not exist`, { status: 404, cause: error });
    if (status === PERMISSION_DENIED) return unreachable(`permission denied while trying to ${action} ${name}`, error);
    if (status !== undefined) {
      const answer = statusNames[status] ?? String(status);
      // OpenSSH's messages only repeat the status ("Failure"); other servers may say more.
      const message = error instanceof Error ? error.message.slice(0, 200) : '';
      const more = message === '' || message.toUpperCase().replace(/ /g, '_') === answer ? '' : ` (${message})`;
      return unreachable(`could not ${action} ${name}: the server answered ${answer}${more}`, error);
    }
    return unreachable(`could not ${action} ${name}: the connection was lost`, error);
  };

  /**
   * Whether a failed write means the disk is full. SFTP version 3 has no status for it (only
   * version 5 added SSH_FX_NO_SPACE_ON_FILESYSTEM); OpenSSH answers a plain FAILURE. So: the
   * server's message says so, or, asked with statvfs@openssh.com while the partial temporary
   * file still holds its space, the file system has less room left than the object needs.
   */
  const looksFull = async (s: Session, error: unknown, dir: string, size: number): Promise<boolean> => {
    if (statusOf(error) !== FAILURE) return false;
    if (error instanceof Error && /no space|disk full|quota|file ?system (is )?full/i.test(error.message)) return true;
    const info = extension<{ f_bavail: number; f_frsize: number }>(s, (done) => s.sftp.ext_openssh_statvfs(dir, done));
    if (info === 'unsupported') return false;
    const room = await info.then(
      (fs) => fs.f_bavail * fs.f_frsize,
      () => Number.POSITIVE_INFINITY,
    );
    return room < Math.max(size, 1);
  };

  /** mkdir -p, remembering what exists; a directory made meanwhile by another writer is fine. */
  const ensureDirectory = async (s: Session, dir: string): Promise<void> => {
    if (dir === '.' || dir === '/' || s.directories.has(dir)) return;
    const existing = await call<Stats>(s, (done) => s.sftp.stat(dir, done)).catch((error: unknown) => {
      if (statusOf(error) === NO_SUCH_FILE) return undefined;
      throw error;
    });
    if (existing === undefined) {
      await ensureDirectory(s, posix.dirname(dir));
      await call(s, (done) => s.sftp.mkdir(dir, { mode: 0o700 }, done)).catch(async (error: unknown) => {
        const now = await call<Stats>(s, (done) => s.sftp.stat(dir, done)).catch(() => undefined);
        if (!now?.isDirectory()) throw error;
      });
    } else if (!existing.isDirectory()) {
      throw invalid(`${display}: ${dir} on the server is not a directory`);
    }
    s.directories.add(dir);
  };

  /** Writes `data` with up to 16 requests of 64 KiB in flight (one at a time is a round trip per 256 KiB). */
  const writeAll = async (s: Session, handle: Buffer, data: Buffer): Promise<void> => {
    const size = 64 * 1024;
    let next = 0;
    let failed = false;
    const worker = async () => {
      while (!failed && next < data.length) {
        const offset = next;
        const length = Math.min(size, data.length - offset);
        next += length;
        await call(s, (done) => s.sftp.write(handle, data, offset, length, offset, done)).catch((error: unknown) => {
          failed = true;
          throw error;
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(16, Math.ceil(data.length / size)) }, worker));
  };

  const initial = await current();
  try {
    await ensureDirectory(initial, location.path);
  } catch (error) {
    initial.client.end();
    closed = true;
    throw operationError(error, 'create the repository directory', location.path);
  }

  return {
    display,

    async put(name, data) {
      checkObjectName(name);
      const s = await current();
      const target = pathOf(name);
      const dir = posix.dirname(target);
      const temporary = `${target}.${randomBytes(6).toString('hex')}.tmp`;
      const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      let handle: Buffer | undefined;
      try {
        await ensureDirectory(s, dir);
        handle = await call<Buffer>(s, (done) => s.sftp.open(temporary, 'wx', { mode: 0o600 }, done));
        await writeAll(s, handle, bytes);
        // fsync@openssh.com: on stable storage before the rename makes it visible.
        const synced = extension(s, (done) => s.sftp.ext_openssh_fsync(handle as Buffer, done));
        if (synced !== 'unsupported') await synced;
        const open = handle;
        handle = undefined;
        await call(s, (done) => s.sftp.close(open, done));
        // SFTP's own RENAME refuses an existing target (draft-ietf-secsh-filexfer-02 §6.5);
        // posix-rename@openssh.com is rename(2), replacing it atomically.
        const renamed = extension(s, (done) => s.sftp.ext_openssh_rename(temporary, target, done));
        if (renamed === 'unsupported') {
          // Not atomic for an overwrite: in between, only the complete temporary file exists.
          await call(s, (done) => s.sftp.unlink(target, done)).catch((error: unknown) => {
            if (statusOf(error) !== NO_SUCH_FILE) throw error;
          });
          await call(s, (done) => s.sftp.rename(temporary, target, done));
        } else {
          await renamed;
        }
      } catch (error) {
        const full = await looksFull(s, error, dir, bytes.length).catch(() => false);
        if (handle !== undefined) {
          const open = handle;
          await call(s, (done) => s.sftp.close(open, done)).catch(() => undefined);
        }
        await call(s, (done) => s.sftp.unlink(temporary, done)).catch(() => undefined);
        throw operationError(error, 'write', name, full);
      }
    },

    async get(name) {
      checkObjectName(name);
      const s = await current();
      try {
        return await call<Buffer>(s, (done) => s.sftp.readFile(pathOf(name), done));
      } catch (error) {
        throw operationError(error, 'read', name);
      }
    },

    async has(name) {
      checkObjectName(name);
      const s = await current();
      try {
        return (await call<Stats>(s, (done) => s.sftp.stat(pathOf(name), done))).isFile();
      } catch (error) {
        if (statusOf(error) === NO_SUCH_FILE) return false;
        throw operationError(error, 'look up', name);
      }
    },

    async list(prefix) {
      checkListPrefix(prefix);
      const s = await current();
      const limit = limiter(8);
      const names: string[] = [];
      const walk = async (base: string): Promise<void> => {
        const entries = await limit(() => call<{ filename: string; attrs: Stats }[]>(s, (done) => s.sftp.readdir(base === '' ? location.path : pathOf(base), done))).catch((error: unknown) => {
          if (statusOf(error) === NO_SUCH_FILE) return [];
          throw error;
        });
        const below: string[] = [];
        for (const { filename, attrs } of entries) {
          const name = base === '' ? filename : `${base}/${filename}`;
          if (!isObjectName(name)) continue;
          if (attrs.isDirectory()) {
            if (mayContain(name, prefix)) below.push(name);
          } else if (attrs.isFile() && name.startsWith(prefix)) {
            names.push(name);
          }
        }
        await Promise.all(below.map(walk));
      };
      try {
        await walk(listBase(prefix));
      } catch (error) {
        throw operationError(error, 'list', prefix === '' ? '(everything)' : prefix);
      }
      return names.sort();
    },

    async delete(name) {
      checkObjectName(name);
      const s = await current();
      try {
        await call(s, (done) => s.sftp.unlink(pathOf(name), done));
      } catch (error) {
        if (statusOf(error) === NO_SUCH_FILE) return;
        throw operationError(error, 'delete', name);
      }
    },

    async removeStaleTemporaries(olderThanMs, now = Date.now()) {
      const s = await current();
      const limit = limiter(8);
      let removed = 0;
      const walk = async (base: string): Promise<void> => {
        const entries = await limit(() => call<{ filename: string; attrs: Stats }[]>(s, (done) => s.sftp.readdir(base === '' ? location.path : pathOf(base), done)));
        const below: string[] = [];
        for (const { filename, attrs } of entries) {
          const name = base === '' ? filename : `${base}/${filename}`;
          if (attrs.isDirectory()) {
            if (isObjectName(name)) below.push(name);
          } else if (attrs.isFile() && isTemporaryName(name) && now - attrs.mtime * 1000 >= olderThanMs) {
            await call(s, (done) => s.sftp.unlink(pathOf(name), done)).then(
              () => (removed += 1),
              (error: unknown) => {
                if (statusOf(error) !== NO_SUCH_FILE) throw error;
              },
            );
          }
        }
        await Promise.all(below.map(walk));
      };
      try {
        await walk('');
      } catch (error) {
        throw operationError(error, 'remove stale temporary files in', location.path);
      }
      return removed;
    },

    async close() {
      if (closed) return;
      closed = true;
      const open = await session?.catch(() => undefined);
      if (open === undefined) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => (open.client.destroy(), resolve()), 2_000);
        open.client.once('close', () => (clearTimeout(timer), resolve()));
        open.client.end();
      });
    },
  };
}
