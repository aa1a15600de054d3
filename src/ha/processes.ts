import { spawn, spawnSync } from 'node:child_process';
import { openSync, closeSync, readFileSync } from 'node:fs';
import { asOwner } from '../platform/processes.js';
import http from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Small process helpers for the loopback cluster (issue 8): free loopback ports, detached
 * children logging to a file, bounded waits, and stopping a process by pid with a deadline.
 */

/** The user the database processes run as: PostgreSQL refuses root, so as root `postgres`. */
export interface RunAs {
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
}

/** As root: the `postgres` user the Debian package creates; otherwise this process's own user. */
export function databaseUser(): RunAs {
  if (process.getuid?.() !== 0) {
    const user = spawnSync('id', ['-un'], { encoding: 'utf8' }).stdout.trim();
    return { user, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  }
  const uid = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  if (uid.status !== 0) throw new Error('running as root needs the postgres system user (apt-get install postgresql)');
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  return { user: 'postgres', uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export { freePort } from '../platform/processes.js';

/**
 * Starts `command` detached (its own process group, so a stop or a kill reaches what it starts),
 * stdout and stderr appended to `logFile`. As root and with `runAs` another user, it is exec'd
 * through setpriv, which replaces itself with the command: the pid returned is the command's.
 */
export function startDetached(command: string, args: readonly string[], options: { logFile: string; env?: NodeJS.ProcessEnv; cwd?: string; runAs?: RunAs }): number {
  const log = openSync(options.logFile, 'a', 0o600);
  try {
    const [file, argv] = asOwner(command, args, options.runAs);
    const child = spawn(file, argv, { detached: true, stdio: ['ignore', log, log], env: options.env ?? process.env, cwd: options.cwd });
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(log);
  }
}

export function alive(pid: number | undefined): boolean {
  if (pid === undefined || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie (exited, not yet reaped by its parent) counts as gone.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Sends `signal` to a pid (or, negative, a process group); a process already gone is no error. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

/**
 * Stops a process: SIGTERM, up to `graceMs` for it to go, then SIGKILL to its whole process group.
 * Resolves once it is gone (bounded: a further second after the SIGKILL).
 */
export async function stopProcess(pid: number | undefined, graceMs: number, sig: NodeJS.Signals = 'SIGTERM'): Promise<'stopped' | 'killed' | 'gone'> {
  if (!alive(pid)) return 'gone';
  signal(pid!, sig);
  if (await waitFor(() => !alive(pid), graceMs, 50)) return 'stopped';
  signal(-pid!, 'SIGKILL');
  signal(pid!, 'SIGKILL');
  await waitFor(() => !alive(pid), 1000, 20);
  return 'killed';
}

/** Polls `check` every `everyMs` until it is true or `timeoutMs` passed; true when it became true. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return true;
    } catch {
      // not yet
    }
    if (Date.now() >= deadline) return false;
    await sleep(everyMs);
  }
}

export interface JsonRequest {
  readonly method?: string;
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** The certificate (PEM) an https URL is checked against. */
  readonly ca?: string;
  readonly agent?: http.Agent;
  readonly timeoutMs?: number;
}

/**
 * One HTTP(S) request with a JSON body either way and a timeout; resolves with the status and the
 * parsed body (text when not JSON), rejects on a network failure or the timeout.
 */
export function requestJson(url: string, options: JsonRequest = {}): Promise<{ status: number; body: unknown; headers: http.IncomingHttpHeaders }> {
  const target = new URL(url);
  const payload = options.body === undefined ? undefined : Buffer.from(JSON.stringify(options.body));
  const send = target.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const request = send(
      target,
      {
        method: options.method ?? 'GET',
        headers: { accept: 'application/json', ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(payload.length) }), ...options.headers },
        ...(options.agent === undefined ? {} : { agent: options.agent }),
        ...(options.ca === undefined ? {} : { ca: options.ca, servername: 'localhost' }),
        timeout: options.timeoutMs ?? 5000,
      },
      (response) => {
        const parts: Buffer[] = [];
        response.on('data', (part: Buffer) => parts.push(part));
        response.on('error', reject);
        response.on('end', () => {
          const text = Buffer.concat(parts).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: kept as text
          }
          resolve({ status: response.statusCode ?? 0, body, headers: response.headers });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error(`timeout after ${options.timeoutMs ?? 5000} ms`)));
    request.on('error', reject);
    request.end(payload);
  });
}

/** GET a JSON document (loopback), with a timeout. */
export function getJson(url: string, timeoutMs = 2000, ca?: string): Promise<{ status: number; body: unknown }> {
  return requestJson(url, { timeoutMs, ...(ca === undefined ? {} : { ca }) });
}
