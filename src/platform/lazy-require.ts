import { createRequire } from 'node:module';

/**
 * A CommonJS dependency loaded at its first use rather than imported: every import is paid by
 * every process, and a `tresor` command should not load the server's libraries (prom-client,
 * pg on SQLite, ssh2 without an SFTP repository) before doing a few milliseconds of work.
 * Synchronous, so a caller keeps its signature; required once, then cached.
 */
export function lazyRequire<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= createRequire(import.meta.url)(name) as T);
}
