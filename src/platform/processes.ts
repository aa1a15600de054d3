import { execFile } from 'node:child_process';
import { createServer } from 'node:net';

/** A user id and group id to run a program as. */
export interface Owner {
  readonly uid: number;
  readonly gid: number;
}

/** A free TCP port on 127.0.0.1 (the OS picks; loopback only). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** The argv that runs `file` as `owner`: through setpriv when this process is root and the owner is not. */
export function asOwner(file: string, args: readonly string[], owner: Owner | undefined): [string, string[]] {
  return owner !== undefined && process.getuid?.() === 0 && owner.uid !== 0
    ? ['setpriv', [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, '--init-groups', '--', file, ...args]]
    : [file, [...args]];
}

/**
 * Runs a program to completion (as `owner`, see {@link asOwner}) with `env` and a timeout;
 * resolves with stdout and stderr together, rejects naming the program and its last lines of
 * output (programs such as PostgreSQL's and pgBackRest's name settings and files there, not data).
 */
export function runProgram(file: string, args: readonly string[], options: { owner?: Owner; env: NodeJS.ProcessEnv; timeoutMs: number; cwd?: string }): Promise<string> {
  const [command, argv] = asOwner(file, args, options.owner);
  return new Promise((resolve, reject) => {
    execFile(command, argv, { env: options.env, timeout: options.timeoutMs, maxBuffer: 16 * 1024 * 1024, ...(options.cwd === undefined ? {} : { cwd: options.cwd }) }, (error, stdout, stderr) => {
      if (error === null) resolve(`${stdout}${stderr}`);
      else reject(new Error(`${file.split('/').at(-1)} ${args.find((a) => !a.startsWith('-')) ?? ''} failed${error.killed ? ' (timed out)' : ''}: ${`${stderr}\n${stdout}`.trim().split('\n').slice(-4).join(' ')}`));
    });
  });
}
