import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { freePort } from '../../src/platform/processes.js';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A real OpenSSH server from Debian's `openssh-server` package, started for one test file on
 * loopback: its own host key, one client key, key authentication only, the in-process
 * `internal-sftp` subsystem. It runs as the current user (root in CI), so the SFTP repository is
 * tested against the same server and file system semantics an operator's backup host has,
 * without touching the machine's own sshd or its configuration.
 */
export const sshdPath = '/usr/sbin/sshd';

const requireSshd = process.env['TRESOR_REQUIRE_SSHD'] === '1';

/**
 * `false` when the SFTP tests can run; otherwise why they are skipped. With
 * TRESOR_REQUIRE_SSHD=1 (set by CI) a missing sshd is not a reason to skip: `startSshd` then
 * fails, so CI cannot pass without having run them.
 */
export function sshdSkipReason(): string | false {
  if (existsSync(sshdPath) || requireSshd) return false;
  return `${sshdPath} is missing (apt-get install openssh-server); TRESOR_REQUIRE_SSHD=1 makes this a failure`;
}

export interface TestSshd {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly user: string;
  /** The client's private key (OpenSSH format, ed25519, no passphrase). */
  readonly privateKey: string;
  /** The server's host key fingerprint as `ssh-keygen -l -E sha256` prints it: `SHA256:…`. */
  readonly hostKeySha256: string;
  /** An existing, empty directory the tests may put repositories in. */
  readonly root: string;
  /** What sshd wrote to stderr so far (for a failing test's message). */
  log(): string;
  /** Kills the server's per-connection processes (kill -9): every client connection drops, the listener stays. */
  dropConnections(): void;
  stop(): Promise<void>;
}

const run = promisify(execFile);

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Processes whose parent is `parent` (from /proc: only ours, found by id, never by name). */
function childrenOf(parent: number): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // Fields after the command (which may hold spaces) in parentheses: state, ppid, …
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent) found.push(Number(entry));
    } catch {
      // The process ended meanwhile.
    }
  }
  return found;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function keyPair(file: string, comment: string): Promise<void> {
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
}

/** Starts sshd; retries on another port when the chosen one was taken in the meantime. */
/**
 * A signal to a process listed a moment ago, which may have exited since (a connection's session
 * ending on its own): ESRCH is that, not a failure. Throwing here would leave the listener running
 * and the test file never exiting.
 */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

export async function startSshd(): Promise<TestSshd> {
  if (!existsSync(sshdPath)) throw new Error(`TRESOR_REQUIRE_SSHD=1 but ${sshdPath} is missing: install Debian's openssh-server package`);
  const dir = mkdtempSync(join(tmpdir(), 'tresor-sshd-'));
  try {
    await keyPair(join(dir, 'host_ed25519'), 'tresor-test-host');
    await keyPair(join(dir, 'client_ed25519'), 'tresor-test-client');
    // The fingerprint comes from ssh-keygen, not from our own code, so the repository's
    // computation of it is checked against OpenSSH's.
    const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'host_ed25519.pub')]);
    const hostKeySha256 = /SHA256:[A-Za-z0-9+/]+/.exec(stdout)?.[0];
    if (hostKeySha256 === undefined) throw new Error(`unexpected ssh-keygen -l output: ${stdout}`);
    writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_ed25519.pub')), { mode: 0o600 });
    const root = join(dir, 'data');
    mkdirSync(root, { mode: 0o700 });
    // As root, sshd insists on its privilege-separation directory (Debian creates it at boot
    // through systemd's RuntimeDirectory, which a container never runs).
    if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

    for (let attempt = 1; ; attempt += 1) {
      const port = await freePort();
      const config = join(dir, 'sshd_config');
      writeFileSync(
        config,
        [
          'ListenAddress 127.0.0.1',
          `Port ${port}`,
          `HostKey ${join(dir, 'host_ed25519')}`,
          `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
          `PidFile ${join(dir, 'sshd.pid')}`,
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'PubkeyAuthentication yes',
          'PermitRootLogin prohibit-password',
          'StrictModes no',
          'UsePAM no',
          'Subsystem sftp internal-sftp',
          'LogLevel VERBOSE',
          '',
        ].join('\n'),
        { mode: 0o600 },
      );
      const child: ChildProcess = spawn(sshdPath, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr?.setEncoding('utf8').on('data', (text: string) => (stderr = (stderr + text).slice(-1_000_000)));
      let exited = false;
      const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
      // A test file that crashes must not leave an sshd behind.
      const killOnExit = () => child.kill('SIGKILL');
      process.once('exit', killOnExit);

      const deadline = Date.now() + 10_000;
      while (!exited && Date.now() < deadline && !(await accepts(port))) await sleep(50);
      if (!exited && Date.now() < deadline) {
        let stopped = false;
        return {
          host: '127.0.0.1',
          port,
          user: userInfo().username,
          privateKey: readFileSync(join(dir, 'client_ed25519'), 'utf8'),
          hostKeySha256,
          root,
          log: () => stderr,
          dropConnections() {
            // The session process under each connection's monitor: the monitor then closes the
            // connection and is reaped by the listener (killing the monitor would leave zombies).
            for (const monitor of childrenOf(child.pid ?? -1)) {
              const sessions = childrenOf(monitor);
              for (const pid of sessions.length > 0 ? sessions : [monitor]) signal(pid, 'SIGKILL');
            }
          },
          async stop() {
            if (stopped) return;
            stopped = true;
            process.removeListener('exit', killOnExit);
            if (!exited) {
              // The listener alone would leave connections a test did not close running.
              for (const monitor of childrenOf(child.pid ?? -1)) signal(monitor, 'SIGTERM');
              child.kill('SIGTERM');
              const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
              await exit;
              clearTimeout(timer);
            }
            rmSync(dir, { recursive: true, force: true });
          },
        };
      }
      process.removeListener('exit', killOnExit);
      if (!exited) child.kill('SIGKILL');
      await exit;
      if (attempt >= 3 || !/Address already in use/.test(stderr)) throw new Error(`sshd did not start:\n${stderr}`);
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}
