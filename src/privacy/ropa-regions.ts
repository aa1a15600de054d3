import type { Config } from '../config/index.js';

/** Where one region's data lives, as records of processing show it (no credentials: hosts and paths only). */
export interface RopaRegion {
  readonly name: string;
  /** The data directory (SQLite) or the PostgreSQL host and database. */
  readonly storage: string;
  /** The backup repository: a local path, or the SFTP host; `none` when no repository is configured. */
  readonly backupRepository: string;
  readonly keyProvider: string;
}

/**
 * The regions of the deployment, for records of processing. Today a deployment is one implicit
 * region, read from the configuration; when regions are configured, this is the one function to
 * replace (the records of processing take them through their deps).
 */
export function implicitRegions(config: Config, keyProviderName?: string): RopaRegion[] {
  return [
    {
      name: 'default',
      storage: config.storage.engine === 'sqlite' ? `SQLite data directory ${config.dataDir}` : `PostgreSQL ${postgresPlace(config.storage.postgres.url)}`,
      backupRepository: repositoryPlace(config.backup.repository),
      keyProvider: keyProviderName !== undefined ? keyProviderName : config.keys.masterKeyFile !== undefined ? `local key ring (file ${config.keys.masterKeyFile})` : config.keys.masterKey !== undefined ? 'local key ring (from the environment)' : `local key ring (in ${config.dataDir})`,
    },
  ];
}

/** `host[:port]/database` of a PostgreSQL URL: never its user or password. */
export function postgresPlace(url: string | undefined): string {
  if (url === undefined) return 'not configured';
  try {
    const parsed = new URL(url);
    return `${parsed.host === '' ? 'local socket' : parsed.host}${parsed.pathname === '' || parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return 'unparseable URL';
  }
}

/** A backup repository's place: `sftp://user@host:port/path` → `SFTP host host:port`; a local path as it is. */
export function repositoryPlace(repository: string | undefined): string {
  if (repository === undefined) return 'none';
  if (!repository.startsWith('sftp://')) return `local path ${repository}`;
  try {
    return `SFTP host ${new URL(repository).host}`;
  } catch {
    return 'SFTP host (unparseable URL)';
  }
}

/** The host of a URL (an alert webhook's path may carry a token: only its host is shown). */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'unparseable URL';
  }
}
