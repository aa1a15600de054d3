#!/usr/bin/env node
/**
 * The process entry point: the only place that reads process.env, sets the umask, listens
 * (through the CLI's `start`) and handles signals.
 */
import { runCli } from './cli/index.js';
import { describeErrorForLog } from './platform/errors.js';

// Data, keys and certificates are created readable by this user only (least privilege).
process.umask(0o077);
// `tresor register | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

const result = await runCli({
  argv: process.argv.slice(2),
  env: process.env,
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  // A progress bar redrawn in place on a terminal; piped, the CLI prints a line now and then.
  ...(process.stderr.isTTY ? { progress: (line: string, final: boolean) => process.stderr.write(`\r\x1b[2K${line}${final ? '\n' : ''}`) } : {}),
}).catch((error: unknown): Awaited<ReturnType<typeof runCli>> => {
  // Type, code and stack frames only: foreign error messages can quote data (errors.ts).
  process.stderr.write(`fatal: ${JSON.stringify(describeErrorForLog(error))}\n`);
  return { exitCode: 1 };
});

if (result.close === undefined) {
  process.exitCode = result.exitCode;
  // A server process of `tresor start` (server.processes > 1) whose start failed: the channel to
  // the primary would keep it alive, and the primary waits for it to exit.
  if (process.connected) process.disconnect();
} else {
  const close = result.close;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: draining requests and closing storage\n`);
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Several server processes: the primary stops by itself when its workers keep crashing.
  void result.finished?.then((code) => process.exit(code));
}
