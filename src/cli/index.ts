/**
 * @module cli
 * The `tresor` command line: `start` (the server) and the admin commands for tenants and API
 * keys. Parses arguments and prints; all work is done by the services `buildCore`/`buildApp`
 * compose. Reads no environment itself: main.ts hands it `process.env`.
 */
export { runCli, usage } from './run-cli.js';
export type { CliIo } from './io.js';
