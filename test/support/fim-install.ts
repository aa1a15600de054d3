import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A small Tresor install under `root`: built code, manifest, lockfile, one dependency; never the real checkout. */
export function makeInstall(root: string): string {
  const install = join(root, 'install');
  mkdirSync(join(install, 'dist', 'records'), { recursive: true });
  mkdirSync(join(install, 'node_modules', 'dep'), { recursive: true });
  writeFileSync(join(install, 'dist', 'main.js'), 'console.log("tresor");\n');
  writeFileSync(join(install, 'dist', 'records', 'records.js'), 'export const records = 1;\n');
  writeFileSync(join(install, 'package.json'), '{"name":"tresor"}\n');
  writeFileSync(join(install, 'package-lock.json'), '{"lockfileVersion":3}\n');
  writeFileSync(join(install, 'node_modules', 'dep', 'index.js'), 'module.exports = 1;\n');
  writeFileSync(join(install, 'node_modules', 'dep', 'README.md'), '# dep\n');
  mkdirSync(join(install, 'docs', 'runbooks'), { recursive: true });
  writeFileSync(join(install, 'docs', 'runbooks', 'fim.changed.md'), '# fim.changed\n');
  return install;
}
