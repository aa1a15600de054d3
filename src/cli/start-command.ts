import { buildApp } from '../app.js';
import type { Config } from '../config/index.js';
import { nodeEndOfLifeWarning } from '../platform/node-support.js';
import { supportedTypes, warmFhirValidator } from '../records/index.js';
import { version } from '../version.js';
import type { CliIo } from './io.js';

/** `tresor start`: the server, listening; resolves with its closer. */
export async function start(io: CliIo, config: Config): Promise<{ exitCode: number; close: () => Promise<void> }> {
  warmFhirValidator(supportedTypes);
  const app = await buildApp(config);
  const address = await app.http.listen({ host: config.server.host, port: config.server.port });
  io.stderr(`Tresor ${version} listening on ${address} (storage: ${config.storage.engine}, mode: ${config.mode})`);
  if (app.tls?.selfSigned) {
    io.stderr(`Self-signed development certificate ${app.tls.certFile}`);
    io.stderr(`SHA-256 fingerprint ${app.tls.fingerprint256}`);
  }
  if (app.tls === undefined) io.stderr('TLS is off: plain HTTP, for use behind a TLS-terminating proxy only.');
  const runtimeWarning = nodeEndOfLifeWarning(process.version, new Date());
  if (runtimeWarning !== undefined) io.stderr(`WARNING: ${runtimeWarning}`);
  return { exitCode: 0, close: () => app.close() };
}
