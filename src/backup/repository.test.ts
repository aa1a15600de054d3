import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import ssh2 from 'ssh2';
import { sshdSkipReason, startSshd, type TestSshd } from '../../test/support/sshd.js';
import { BackupError, type BackupErrorCode } from './errors.js';
import { localRepositoryError, openLocalRepository } from './local-repository.js';
import { openRepository } from './open-repository.js';
import type { Repository } from './repository.js';
import { mountTinyDisk, noTinyDisk } from '../../test/support/tiny-disk.js';
import { openSftpRepository } from './sftp-repository.js';

const scratches: string[] = [];
const scratch = () => {
  const dir = mkdtempSync(join(tmpdir(), 'tresor-repo-'));
  scratches.push(dir);
  return dir;
};
after(() => {
  for (const dir of scratches) rmSync(dir, { recursive: true, force: true });
});

async function rejectsWith(promise: Promise<unknown>, code: BackupErrorCode, message?: RegExp): Promise<BackupError> {
  let caught: unknown;
  await assert.rejects(promise, (error: unknown) => ((caught = error), true));
  assert.ok(caught instanceof BackupError, `a BackupError, not ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (message !== undefined) assert.match(caught.message, message);
  return caught;
}

/** Every file below `dir`, relative, sorted: what is really on the disk (the SFTP server's is local too). */
function filesIn(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

interface Opened {
  readonly repository: Repository;
  /** Where the repository's files are on this machine. */
  readonly path: string;
}

/** The contract of SPEC B1's Repository, the same for every implementation. */
function contract(open: () => Promise<Opened>) {
  const using = async (test: (repository: Repository, path: string) => Promise<void>) => {
    const { repository, path } = await open();
    try {
      await test(repository, path);
    } finally {
      await repository.close();
    }
  };

  it('round-trips binary objects of 0 bytes, every byte value and 5 MiB, each stored 0600', () =>
    using(async (repository, path) => {
      const everyByte = Buffer.from(Array.from({ length: 256 * 4 }, (_, i) => i % 256));
      const large = randomBytes(5 * 1024 * 1024);
      await repository.put('empty', new Uint8Array(0));
      await repository.put('chunks/00/every-byte', everyByte);
      const started = performance.now();
      await repository.put('chunks/ff/large', large);
      const back = await repository.get('chunks/ff/large');
      const ms = performance.now() - started;
      assert.equal((await repository.get('empty')).length, 0);
      assert.ok(Buffer.isBuffer(await repository.get('empty')));
      assert.deepEqual(await repository.get('chunks/00/every-byte'), everyByte);
      assert.equal(back.length, large.length);
      assert.ok(back.equals(large), 'the 5 MiB object comes back byte for byte');
      assert.ok(ms < 20_000, `5 MiB put and get took ${Math.round(ms)} ms`);
      // A view into a larger buffer: only the viewed bytes are stored.
      const backing = randomBytes(100);
      await repository.put('view', new Uint8Array(backing.buffer, backing.byteOffset + 10, 20));
      assert.deepEqual(await repository.get('view'), backing.subarray(10, 30));
      for (const file of filesIn(path)) assert.equal(statSync(join(path, file)).mode & 0o777, 0o600, file);
    }));

  it('overwrites an object whole, leaving no temporary file behind', () =>
    using(async (repository, path) => {
      await repository.put('snapshots/01.manifest', Buffer.from('first version, longer than the second'));
      await repository.put('snapshots/01.manifest', Buffer.from('second'));
      assert.equal((await repository.get('snapshots/01.manifest')).toString(), 'second');
      assert.deepEqual(filesIn(path), ['snapshots/01.manifest']);
    }));

  it('answers has() for objects only, not for missing names or directories', () =>
    using(async (repository) => {
      assert.equal(await repository.has('chunks/ab/abc'), false);
      await repository.put('chunks/ab/abc', Buffer.from('x'));
      assert.equal(await repository.has('chunks/ab/abc'), true);
      assert.equal(await repository.has('chunks/ab'), false, 'a directory is not an object');
      assert.equal(await repository.has('chunks/ab/abc/deeper'), false);
    }));

  it('lists recursively by name prefix, sorted, without temporaries or foreign files', () =>
    using(async (repository, path) => {
      const names = ['snapshots/02.manifest', 'snapshots/01.manifest', 'chunks/3f/3fa9', 'chunks/00/00b1', 'chunks/3f/3f10', 'chunks/3f0/x', 'top', 'a/b/c/d/e/f/g/h'];
      for (const name of names) await repository.put(name, Buffer.from(name));
      // What other writers and file systems leave: an unfinished put, lost+found, a stray file.
      writeFileSync(join(path, 'chunks/3f/3fa9.0123456789ab.tmp'), 'partial');
      mkdirSync(join(path, 'lost+found'));
      writeFileSync(join(path, 'lost+found/x'), '');
      writeFileSync(join(path, 'README.TXT'), '');

      assert.deepEqual(await repository.list(''), [...names].sort());
      assert.deepEqual(await repository.list('chunks/'), ['chunks/00/00b1', 'chunks/3f/3f10', 'chunks/3f/3fa9', 'chunks/3f0/x']);
      assert.deepEqual(await repository.list('chunks/3f/'), ['chunks/3f/3f10', 'chunks/3f/3fa9']);
      assert.deepEqual(await repository.list('chunks/3f'), ['chunks/3f/3f10', 'chunks/3f/3fa9', 'chunks/3f0/x']);
      assert.deepEqual(await repository.list('snapshots/01'), ['snapshots/01.manifest']);
      assert.deepEqual(await repository.list('snapshots/01.manifest'), ['snapshots/01.manifest']);
      assert.deepEqual(await repository.list('nothing/'), []);
      assert.deepEqual(await repository.list('top/'), [], 'a file is not a directory');
    }));

  it('deletes idempotently; a missing object is object-missing (404)', () =>
    using(async (repository, path) => {
      await repository.put('chunks/aa/aa01', Buffer.from('x'));
      await repository.delete('chunks/aa/aa01');
      await repository.delete('chunks/aa/aa01');
      await repository.delete('never/there');
      assert.equal(await repository.has('chunks/aa/aa01'), false);
      const error = await rejectsWith(repository.get('chunks/aa/aa01'), 'object-missing', /does not exist/);
      assert.equal(error.status, 404);
      await rejectsWith(repository.get('never/there/at-all'), 'object-missing');
      assert.deepEqual(filesIn(path), []);
    }));

  it('refuses invalid names before touching anything', () =>
    using(async (repository, path) => {
      for (const name of ['', '../escape', '/absolute', 'a/../b', 'Upper', 'a//b', 'a/', 'x.tmp', 'chunks/ab/c.0123456789ab.tmp', 'sp ace', 'a/b/c/d/e/f/g/h/i']) {
        await assert.rejects(repository.put(name, Buffer.from('x')), TypeError, `put ${name}`);
        await assert.rejects(repository.get(name), TypeError, `get ${name}`);
        await assert.rejects(repository.has(name), TypeError, `has ${name}`);
        await assert.rejects(repository.delete(name), TypeError, `delete ${name}`);
      }
      for (const prefix of ['../', '/', '/etc', 'a/../', 'A', 'a//']) await assert.rejects(repository.list(prefix), TypeError, `list ${prefix}`);
      assert.deepEqual(filesIn(path), []);
    }));

  it('takes concurrent puts into new directories', () =>
    using(async (repository) => {
      const names = Array.from({ length: 24 }, (_, i) => `chunks/${(i % 3).toString(16).padStart(2, '0')}/object-${i}`);
      await Promise.all(names.map((name) => repository.put(name, Buffer.from(name))));
      assert.deepEqual(await repository.list('chunks/'), [...names].sort());
      assert.deepEqual(await Promise.all(names.map(async (name) => (await repository.get(name)).toString())), names);
    }));
}

describe('local directory repository', () => {
  contract(async () => {
    const path = join(scratch(), 'repository');
    return { repository: await openLocalRepository(path), path };
  });

  it('creates its directory (0700, with parents) and shows the absolute path', async () => {
    const base = scratch();
    const repository = await openLocalRepository(relative(process.cwd(), join(base, 'a/b/repository')));
    assert.equal(repository.display, join(base, 'a/b/repository'));
    assert.equal(statSync(join(base, 'a/b/repository')).mode & 0o777, 0o700);
    await repository.put('chunks/0a/0a1', Buffer.from('x'));
    assert.equal(statSync(join(base, 'a/b/repository/chunks/0a')).mode & 0o777, 0o700);
    await repository.close();
  });

  it('refuses a location that is a file', async () => {
    const file = join(scratch(), 'file');
    writeFileSync(file, '');
    await rejectsWith(openLocalRepository(file), 'repository-invalid', /not a directory/);
  });

  it('never lists the temporary file of a put killed mid-write, and removes it once stale', async () => {
    const path = join(scratch(), 'repository');
    const repository = await openLocalRepository(path);
    await repository.put('chunks/ab/ab12', Buffer.from('complete'));
    // What kill -9 between write and rename leaves: `<name>.<random>.tmp` holding part of the data.
    const stale = join(path, 'chunks/ab/ab34.0123456789ab.tmp');
    const fresh = join(path, 'chunks/cd/cd56.ba9876543210.tmp');
    mkdirSync(join(path, 'chunks/cd'));
    writeFileSync(stale, 'part of an obj');
    writeFileSync(fresh, 'a put still running');
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(stale, hourAgo, hourAgo);

    assert.deepEqual(await repository.list(''), ['chunks/ab/ab12']);
    assert.equal(await repository.has('chunks/ab/ab34'), false);
    await rejectsWith(repository.get('chunks/ab/ab34'), 'object-missing');

    assert.equal(await repository.removeStaleTemporaries(10 * 60_000), 1);
    assert.deepEqual(filesIn(path), ['chunks/ab/ab12', 'chunks/cd/cd56.ba9876543210.tmp'], 'the fresh one may belong to a running put');
    assert.equal(await repository.removeStaleTemporaries(0, Date.now() + 1_000), 1);
    assert.deepEqual(filesIn(path), ['chunks/ab/ab12']);
    await repository.close();
  });

  it('reports a full disk as repository-full (507), keeps the previous version, leaves nothing partial', async (t: TestContext) => {
    const disk = join(scratch(), 'disk');
    const unmount = mountTinyDisk(disk, '1m');
    if (unmount === undefined) {
      noTinyDisk(t, 'cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN); the mapping is covered by the next test');
      return;
    }
    try {
      const repository = await openLocalRepository(join(disk, 'repository'));
      const before = randomBytes(256 * 1024);
      await repository.put('snapshots/01.manifest', before);
      const error = await rejectsWith(repository.put('snapshots/01.manifest', randomBytes(2 * 1024 * 1024)), 'repository-full', /full \(no space left on device\).*live data is unaffected/);
      assert.equal(error.status, 507);
      await rejectsWith(repository.put('chunks/00/big', randomBytes(2 * 1024 * 1024)), 'repository-full');
      assert.deepEqual(await repository.get('snapshots/01.manifest'), before, 'the old version is intact');
      assert.deepEqual(filesIn(join(disk, 'repository')), ['snapshots/01.manifest'], 'no partial object, no temporary file');
      await repository.put('chunks/00/small', Buffer.from('fits'));
      assert.equal((await repository.get('chunks/00/small')).toString(), 'fits');
      await repository.close();
    } finally {
      unmount();
    }
  });

  it('maps file system errors to backup error codes', () => {
    const fsError = (code: string) => Object.assign(new Error(`${code}: /secret/path`), { code });
    const cases: [string, string, BackupErrorCode, number][] = [
      ['ENOSPC', 'write', 'repository-full', 507],
      ['EDQUOT', 'write', 'repository-full', 507],
      ['ENOENT', 'read', 'object-missing', 404],
      ['ENOENT', 'write', 'repository-unreachable', 503],
      ['EACCES', 'write', 'repository-unreachable', 503],
      ['EPERM', 'delete', 'repository-unreachable', 503],
      ['EROFS', 'write', 'repository-unreachable', 503],
      ['EIO', 'read', 'repository-unreachable', 503],
    ];
    for (const [code, action, expected, status] of cases) {
      const error = localRepositoryError(fsError(code), '/backups', action, 'chunks/00/x');
      assert.equal(error.code, expected, `${code} on ${action}`);
      assert.equal(error.status, status);
      assert.ok(error.cause instanceof Error);
    }
    assert.match(localRepositoryError(fsError('EDQUOT'), '/backups', 'write').message, /quota/);
    assert.match(localRepositoryError(fsError('EROFS'), '/backups', 'write').message, /read-only/);
  });
});

/** A TCP server that accepts and then says nothing: the SSH handshake never starts. */
async function silentServer(): Promise<{ port: number; server: Server }> {
  const server = createServer(() => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as { port: number }).port, server };
}

describe('SFTP repository against OpenSSH', { skip: sshdSkipReason() }, () => {
  let sshd: TestSshd;
  let count = 0;
  before(async () => {
    sshd = await startSshd();
  });
  after(async () => {
    await sshd?.stop();
  });
  const urlFor = (path: string, user = sshd.user) => new URL(`sftp://${user}@127.0.0.1:${sshd.port}${path}`);
  const fresh = () => join(sshd.root, `repository-${(count += 1)}`);

  contract(async () => {
    const path = fresh();
    return { repository: await openSftpRepository(urlFor(path), { privateKey: sshd.privateKey, hostKeySha256: sshd.hostKeySha256 }), path };
  });

  it('creates its directory on the server and shows sftp://user@host:port/path, no key material', async () => {
    const path = join(fresh(), 'nested/deeper');
    // The fingerprint without `SHA256:` and with base64 padding is the same fingerprint.
    const repository = await openSftpRepository(urlFor(path), { privateKey: Buffer.from(sshd.privateKey), hostKeySha256: `${sshd.hostKeySha256.slice('SHA256:'.length)}=` });
    assert.equal(repository.display, `sftp://${sshd.user}@127.0.0.1:${sshd.port}${path}`);
    assert.ok(statSync(path).isDirectory());
    assert.equal(statSync(path).mode & 0o777, 0o700);
    await repository.close();
    await rejectsWith(repository.list(''), 'repository-unreachable', /closed/);
  });

  it('fails an operation cut off by a lost connection as repository-unreachable, then connects again', async () => {
    const path = fresh();
    const repository = await openSftpRepository(urlFor(path), { privateKey: sshd.privateKey, hostKeySha256: sshd.hostKeySha256, timeoutMs: 3_000 });
    await repository.put('snapshots/01.manifest', Buffer.from('kept'));
    const cut = repository.put('chunks/00/large', randomBytes(32 * 1024 * 1024));
    setTimeout(() => sshd.dropConnections(), 30);
    const started = performance.now();
    await rejectsWith(cut, 'repository-unreachable', /connection was lost/);
    assert.ok(performance.now() - started < 3_000, 'no hang on the dead connection');
    // The next operation opens a new connection; the cut put left at most a temporary file.
    assert.deepEqual(await repository.list(''), ['snapshots/01.manifest']);
    assert.equal((await repository.get('snapshots/01.manifest')).toString(), 'kept');
    assert.equal(await repository.has('chunks/00/large'), false);
    assert.ok(filesIn(path).every((file) => file === 'snapshots/01.manifest' || file.endsWith('.tmp')), filesIn(path).join(', '));
    // The temporary file could not be removed over the lost connection; the clean-up does it.
    const leftovers = filesIn(path).length - 1;
    assert.equal(await repository.removeStaleTemporaries(60_000), 0, 'too fresh: may belong to a running put');
    assert.equal(await repository.removeStaleTemporaries(0, Date.now() + 2_000), leftovers);
    assert.deepEqual(filesIn(path), ['snapshots/01.manifest']);
    await repository.close();
  });

  it('refuses a server whose host key does not match, before any object is written', async () => {
    const path = fresh();
    const logBefore = sshd.log().length;
    const wrong = `SHA256:${createHash('sha256').update('another server').digest('base64').replace(/=+$/, '')}`;
    const error = await rejectsWith(openSftpRepository(urlFor(path), { privateKey: sshd.privateKey, hostKeySha256: wrong }), 'repository-unreachable', /host key did not match/);
    assert.ok(error.message.includes(sshd.hostKeySha256), 'names the fingerprint the server offered');
    assert.equal(existsSync(path), false, 'not even the repository directory was created');
    assert.doesNotMatch(sshd.log().slice(logBefore), /Accepted publickey/, 'the client never authenticated');
  });

  it('refuses a client key the server does not know', async () => {
    const other = ssh2.utils.generateKeyPairSync('ed25519');
    await rejectsWith(openSftpRepository(urlFor(fresh()), { privateKey: other.private, hostKeySha256: sshd.hostKeySha256 }), 'repository-unreachable', /refused the key/);
  });

  it('reports a closed port as repository-unreachable, and a silent one within the timeout', async () => {
    const { port, server } = await silentServer();
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer();
      probe.listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const options = { privateKey: sshd.privateKey, hostKeySha256: sshd.hostKeySha256, timeoutMs: 700 };
    try {
      let started = performance.now();
      await rejectsWith(openSftpRepository(new URL(`sftp://backup@127.0.0.1:${closedPort}/r`), options), 'repository-unreachable', /ECONNREFUSED/);
      assert.ok(performance.now() - started < 700);
      started = performance.now();
      const error = await rejectsWith(openSftpRepository(new URL(`sftp://backup@127.0.0.1:${port}/r`), options), 'repository-unreachable', /within 700 ms/);
      const elapsed = performance.now() - started;
      assert.ok(elapsed >= 650 && elapsed < 2_500, `gave up after ${Math.round(elapsed)} ms`);
      assert.equal(error.status, 503);
    } finally {
      server.close();
    }
  });

  it('refuses a password in the URL, a URL without user, and a malformed fingerprint or key', async () => {
    const options = { privateKey: sshd.privateKey, hostKeySha256: sshd.hostKeySha256 };
    const error = await rejectsWith(openSftpRepository(new URL(`sftp://${sshd.user}:hunter2@127.0.0.1:${sshd.port}/r`), options), 'repository-invalid', /must not contain a password/);
    assert.ok(!error.message.includes('hunter2'), 'the password is not repeated');
    await rejectsWith(openSftpRepository(new URL(`sftp://127.0.0.1:${sshd.port}/r`), options), 'repository-invalid', /needs a user/);
    await rejectsWith(openSftpRepository(urlFor(fresh()), { ...options, hostKeySha256: 'SHA256:tooShort' }), 'repository-invalid', /hostKeySha256/);
    const keyError = await rejectsWith(openSftpRepository(urlFor(fresh()), { ...options, privateKey: 'not a key' }), 'repository-invalid', /private key/);
    assert.ok(!keyError.message.includes('not a key'));
  });

  it('reports a full disk on the server as repository-full, leaving nothing partial', async (t: TestContext) => {
    const disk = join(sshd.root, 'disk');
    const unmount = mountTinyDisk(disk, '1m');
    if (unmount === undefined) {
      noTinyDisk(t, 'cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)');
      return;
    }
    try {
      const repository = await openSftpRepository(urlFor(join(disk, 'repository')), { privateKey: sshd.privateKey, hostKeySha256: sshd.hostKeySha256 });
      const before = randomBytes(256 * 1024);
      await repository.put('snapshots/01.manifest', before);
      // OpenSSH answers a plain FAILURE; statvfs@openssh.com tells it is the disk.
      const error = await rejectsWith(repository.put('snapshots/01.manifest', randomBytes(2 * 1024 * 1024)), 'repository-full', /is full/);
      assert.equal(error.status, 507);
      assert.deepEqual(await repository.get('snapshots/01.manifest'), before, 'the old version is intact');
      assert.deepEqual(filesIn(join(disk, 'repository')), ['snapshots/01.manifest'], 'no partial object, no temporary file');
      await repository.close();
    } finally {
      unmount();
    }
  });

  it('is opened by openRepository from a location and the backup.sftp settings', async () => {
    const keyFile = join(scratch(), 'id_ed25519');
    writeFileSync(keyFile, sshd.privateKey, { mode: 0o600 });
    const path = fresh();
    const location = `sftp://${sshd.user}@127.0.0.1:${sshd.port}${path}`;
    const repository = await openRepository(location, { sftp: { privateKeyFile: keyFile, hostKeySha256: sshd.hostKeySha256 } });
    await repository.put('snapshots/01.manifest', Buffer.from('m'));
    assert.deepEqual(filesIn(path), ['snapshots/01.manifest']);
    await repository.close();

    chmodSync(keyFile, 0o644);
    await rejectsWith(openRepository(location, { sftp: { privateKeyFile: keyFile, hostKeySha256: sshd.hostKeySha256 } }), 'repository-invalid', /readable by group or others/);
    await rejectsWith(openRepository(location, { sftp: { privateKeyFile: join(scratch(), 'missing'), hostKeySha256: sshd.hostKeySha256 } }), 'repository-invalid', /privateKeyFile .* cannot be read \(ENOENT\)/);
  });
});

describe('openRepository', () => {
  it('opens a directory path, absolute or relative, as a local repository', async () => {
    const base = scratch();
    const absolute = await openRepository(join(base, 'a'));
    assert.equal(absolute.display, join(base, 'a'));
    await absolute.put('x', Buffer.from('1'));
    const relativeOne = await openRepository(relative(process.cwd(), join(base, 'a')));
    assert.equal((await relativeOne.get('x')).toString(), '1');
  });

  it('refuses other schemes, and SFTP without its settings, naming the setting', async () => {
    await rejectsWith(openRepository('s3://bucket/prefix'), 'repository-invalid', /S3 is not supported yet/);
    await rejectsWith(openRepository('http://example.org/backups'), 'repository-invalid', /http:\/\/ repositories are not supported/);
    await rejectsWith(openRepository(''), 'repository-invalid', /empty/);
    await rejectsWith(openRepository('sftp://backup@example.org/r'), 'repository-invalid', /backup\.sftp\.privateKeyFile/);
    await rejectsWith(openRepository('sftp://backup@example.org/r', { sftp: { privateKeyFile: '/nonexistent' } }), 'repository-invalid', /backup\.sftp\.hostKeySha256/);
    const error = await rejectsWith(openRepository('sftp://backup:s3cret@example.org/r', { sftp: { privateKeyFile: '/nonexistent', hostKeySha256: 'x' } }), 'repository-invalid', /password/);
    assert.ok(!error.message.includes('s3cret'));
  });
});
