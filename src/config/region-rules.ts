import { isAbsolute, join, relative, resolve } from 'node:path';

/** The settings these rules read (a slice of Config, so this file needs no schema). */
export interface RegionSettings {
  readonly dataDir: string;
  readonly defaultRegion: string;
  readonly storage: { readonly engine: 'sqlite' | 'postgres'; readonly postgres: { readonly url?: string | undefined; readonly schemaPrefix: string } };
  readonly keys: { readonly masterKeyFile?: string | undefined; readonly masterKey?: string | undefined };
  readonly backup: { readonly repository?: string | undefined; readonly key?: string | undefined; readonly keyFile?: string | undefined };
  readonly audit: { readonly checkpointDir?: string | undefined };
  readonly regions?:
    | Readonly<
        Record<
          string,
          {
            readonly label?: string | undefined;
            readonly location?: string | undefined;
            readonly dataDir?: string | undefined;
            readonly postgres?: { readonly url: string; readonly schemaPrefix?: string | undefined } | undefined;
            readonly keys: { readonly masterKeyFile?: string | undefined; readonly masterKey?: string | undefined };
            readonly backup?: { readonly repository: string; readonly key?: string | undefined; readonly keyFile?: string | undefined } | undefined;
            readonly auditCheckpointDir?: string | undefined;
          }
        >
      >
    | undefined;
}

/** The region every deployment has: the top-level settings, home of the platform data set. */
export const homeRegion = 'default';

/** One region with every default applied: where each of its kinds of data lives. */
export interface RegionPaths {
  readonly name: string;
  readonly label: string;
  readonly location: string | undefined;
  readonly dataDir: string;
  readonly postgres: { readonly url: string; readonly schemaPrefix: string } | undefined;
  readonly keys: { readonly masterKeyFile?: string; readonly masterKey?: string };
  readonly backup: { readonly repository: string | undefined; readonly key?: string; readonly keyFile?: string };
  readonly auditCheckpointDir: string;
}

const definedOnly = <T extends object>(value: T): { [K in keyof T]: Exclude<T[K], undefined> } =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };

/** Every region, the home region (`default`) first, with its defaults filled in. */
export function regionPathsOf(config: RegionSettings): RegionPaths[] {
  const home = config.regions?.[homeRegion];
  const out: RegionPaths[] = [
    {
      name: homeRegion,
      label: home?.label ?? homeRegion,
      location: home?.location,
      dataDir: config.dataDir,
      postgres: config.storage.engine === 'postgres' && config.storage.postgres.url !== undefined ? { url: config.storage.postgres.url, schemaPrefix: config.storage.postgres.schemaPrefix } : undefined,
      keys: definedOnly({ masterKeyFile: config.keys.masterKeyFile, masterKey: config.keys.masterKey }),
      backup: { repository: config.backup.repository, ...definedOnly({ key: config.backup.key, keyFile: config.backup.keyFile }) },
      auditCheckpointDir: config.audit.checkpointDir ?? join(config.dataDir, 'audit-checkpoints'),
    },
  ];
  for (const [name, region] of Object.entries(config.regions ?? {})) {
    if (name === homeRegion) continue;
    const dataDir = region.dataDir ?? '';
    out.push({
      name,
      label: region.label ?? name,
      location: region.location,
      dataDir,
      postgres: region.postgres === undefined ? undefined : { url: region.postgres.url, schemaPrefix: region.postgres.schemaPrefix ?? config.storage.postgres.schemaPrefix },
      keys: definedOnly({ masterKeyFile: region.keys.masterKeyFile, masterKey: region.keys.masterKey }),
      backup: { repository: region.backup?.repository, ...definedOnly({ key: region.backup?.key, keyFile: region.backup?.keyFile }) },
      auditCheckpointDir: region.auditCheckpointDir ?? join(dataDir, 'audit-checkpoints'),
    });
  }
  return out;
}

function isWithin(inner: string, outer: string): boolean {
  const relation = relative(resolve(outer), resolve(inner));
  return relation === '' || (!relation.startsWith('..') && !isAbsolute(relation));
}

/**
 * What is wrong with the regions, as `config.<path>: <problem>` lines (empty: nothing). Residency
 * only holds when nothing of one region can land in another's place: no data directory inside
 * another's, no shared master key or backup repository (GDPR Art. 44: a transfer is a decision,
 * never an accident of configuration).
 */
export function regionProblems(config: RegionSettings): string[] {
  const problems: string[] = [];
  const regions = config.regions ?? {};
  const names = [homeRegion, ...Object.keys(regions).filter((name) => name !== homeRegion)];
  if (!names.includes(config.defaultRegion)) problems.push(`config.defaultRegion: no region "${config.defaultRegion}" (regions: ${names.join(', ')})`);
  const home = regions[homeRegion];
  if (home !== undefined && Object.entries(home).some(([key, value]) => key !== 'label' && key !== 'location' && !(key === 'keys' && Object.keys(value as object).length === 0))) {
    problems.push('config.regions.default: the home region is the top-level settings (dataDir, storage, keys, backup, audit); here only label and location');
  }
  for (const [name, region] of Object.entries(regions)) {
    if (name === homeRegion) continue;
    if (region.dataDir === undefined) problems.push(`config.regions.${name}.dataDir: required (the region's files: data sets, key store, audit checkpoints, exports)`);
    if (config.storage.engine === 'postgres' && region.postgres === undefined) problems.push(`config.regions.${name}.postgres: required with config.storage.engine "postgres" (the region's database)`);
    // One engine per deployment: the code paths (migrations, backups, restores) are one engine's.
    if (config.storage.engine === 'sqlite' && region.postgres !== undefined) problems.push(`config.regions.${name}.postgres: the deployment's engine is sqlite (config.storage.engine); every region uses the same engine`);
    if (region.keys.masterKey !== undefined && region.keys.masterKeyFile !== undefined) problems.push(`config.regions.${name}.keys: give the master key once: masterKey or masterKeyFile`);
  }
  if (problems.length > 0) return problems;
  const paths = regionPathsOf(config);
  for (const a of paths) {
    for (const b of paths) {
      if (a.name >= b.name) continue;
      if (isWithin(a.dataDir, b.dataDir) || isWithin(b.dataDir, a.dataDir)) problems.push(`config.regions.${b.name === homeRegion ? a.name : b.name}.dataDir: ${a.name} and ${b.name} share a data directory (one lies inside the other)`);
      const fileOf = (r: RegionPaths) => (r.keys.masterKey !== undefined ? undefined : resolve(r.keys.masterKeyFile ?? join(r.dataDir, 'master-key.json')));
      if (fileOf(a) !== undefined && fileOf(a) === fileOf(b)) problems.push(`config.regions.${b.name === homeRegion ? a.name : b.name}.keys.masterKeyFile: ${a.name} and ${b.name} share a master key file`);
      if (a.keys.masterKey !== undefined && a.keys.masterKey === b.keys.masterKey) problems.push(`config.regions.${b.name === homeRegion ? a.name : b.name}.keys.masterKey: ${a.name} and ${b.name} share a master key`);
      const repo = (r: RegionPaths) => (r.backup.repository === undefined ? undefined : /^sftp:\/\//.test(r.backup.repository) ? r.backup.repository.replace(/\/+$/, '') : resolve(r.backup.repository));
      const ra = repo(a);
      const rb = repo(b);
      if (ra !== undefined && rb !== undefined && (ra === rb || (!ra.startsWith('sftp:') && !rb.startsWith('sftp:') && (isWithin(ra, rb) || isWithin(rb, ra))))) {
        problems.push(`config.regions.${b.name === homeRegion ? a.name : b.name}.backup.repository: ${a.name} and ${b.name} share a backup repository`);
      }
      if (a.postgres !== undefined && b.postgres !== undefined && a.postgres.url === b.postgres.url && a.postgres.schemaPrefix === b.postgres.schemaPrefix) {
        problems.push(`config.regions.${b.name === homeRegion ? a.name : b.name}.postgres: ${a.name} and ${b.name} share a database and schema prefix`);
      }
    }
  }
  return problems;
}
