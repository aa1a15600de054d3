import { join } from 'node:path';
import type { Config } from '../config/index.js';
import { masterKeySource } from '../keys/index.js';
import { installDirOfThisCode, watchedTargets, type Target } from './watched.js';

/** What the server and `tresor fim` watch and where the baseline lives, from the configuration. */
export function fimSettings(config: Config, configFile: string | undefined): { targets: Target[]; baselineFile: string } {
  const source = masterKeySource(config.keys, config.dataDir);
  return {
    baselineFile: config.fim.baselineFile ?? join(config.dataDir, 'fim-baseline.json'),
    targets: watchedTargets({
      installDir: config.fim.installDir ?? installDirOfThisCode(),
      configFile,
      tls: config.server.tls,
      masterKeyFile: 'file' in source ? source.file : undefined,
      dataDir: config.dataDir,
      roots: config.fim.roots,
    }),
  };
}
