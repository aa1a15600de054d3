import cluster from 'node:cluster';
import { join } from 'node:path';
import { buildApp } from '../app.js';
import type { Config } from '../config/index.js';
import { nodeEndOfLifeWarning } from '../platform/node-support.js';
import { superviseWorkers, workerRoleFrom } from '../platform/workers/index.js';
import { supportedTypes, warmFhirValidator } from '../records/index.js';
import { version } from '../version.js';
import type { CliIo } from './io.js';

/** What `tresor start` leaves running: how to stop it, and (several processes) when it stopped by itself. */
export interface Started {
  readonly exitCode: number;
  readonly close?: () => Promise<void>;
  /** Resolves with an exit code when the server stopped on its own (server processes that kept crashing). */
  readonly finished?: Promise<number>;
}

/** `tresor start`: the server, listening; resolves with its closer. */
export async function start(io: CliIo, config: Config, configFile?: string): Promise<Started> {
  if (config.server.processes > 1 && cluster.isPrimary) return startProcesses(io, config);
  // A worker of the primary above runs exactly the normal server, told its place.
  const worker = workerRoleFrom(io.env);
  warmFhirValidator(supportedTypes);
  const app = await buildApp(config, { ...(worker === undefined ? {} : { worker }), ...(configFile === undefined ? {} : { configFile }) });
  const address = await app.http.listen({ host: config.server.host, port: config.server.port }).catch(async (error: unknown) => {
    // The port taken or refused: nothing was served; storage closes before the error is reported.
    await app.close().catch(() => undefined);
    throw error;
  });
  io.stderr(`Tresor ${version} listening on ${address} (storage: ${config.storage.engine}, mode: ${config.mode}${worker === undefined ? '' : `, process ${worker.index} of ${worker.count}${worker.jobs ? ', scheduled jobs' : ''}`})`);
  if (worker !== undefined && worker.index > 1) return { exitCode: 0, close: () => app.close() };
  if (app.tls?.selfSigned) {
    io.stderr(`Self-signed development certificate ${app.tls.certFile}`);
    io.stderr(`SHA-256 fingerprint ${app.tls.fingerprint256}`);
  }
  if (app.tls === undefined) io.stderr('TLS is off: plain HTTP, for use behind a TLS-terminating proxy only.');
  const runtimeWarning = nodeEndOfLifeWarning(process.version, new Date());
  if (runtimeWarning !== undefined) io.stderr(`WARNING: ${runtimeWarning}`);
  return { exitCode: 0, close: () => app.close() };
}

/**
 * `server.processes` > 1: this process stays small (no app, no data opened) and supervises the
 * workers (platform/workers). On SQLite it holds `server.pid` for as long as any worker may.
 */
async function startProcesses(io: CliIo, config: Config): Promise<Started> {
  const count = config.server.processes;
  const supervision = superviseWorkers({
    count,
    argv: io.argv,
    pidFile: config.storage.engine === 'sqlite' ? join(config.dataDir, 'server.pid') : undefined,
    log: (line) => io.stderr(line),
  });
  try {
    await supervision.ready;
  } catch (error) {
    io.stderr(`error: ${(error as Error).message}`);
    return { exitCode: 1 };
  }
  io.stderr(`Tresor ${version}: ${count} server processes running (primary pid ${process.pid})`);
  return { exitCode: 0, close: () => supervision.stop(), finished: supervision.finished };
}
