/**
 * Which Tresor the bench's serving child runs: the compiled build in dist/ (what `tresor start`
 * runs), or with BENCH_SOURCE=1 the TypeScript sources through tsx. tsx compiles each source file
 * with esbuild's keepNames, which wraps functions in `__name` calls: a few per cent of a hot-path
 * profile that users never pay. dist/ is rebuilt first when it is missing or older than src/.
 * BENCH_DIST=<dir> serves another build (an older commit's, for an A/B in the same run of the
 * machine); it is used as it is, never rebuilt.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as AppModule from '../src/app.js';
import type * as ConfigModule from '../src/config/index.js';
import type * as RecordsModule from '../src/records/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export const fromSource = process.env['BENCH_SOURCE'] === '1';
const otherBuild = process.env['BENCH_DIST'] || undefined;

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds dist/ (`npm run build`) when it is missing or older than a source file; call before forking the server. */
export function ensureBuilt(): void {
  if (fromSource || otherBuild !== undefined) return;
  const marker = join(root, 'dist', 'main.js');
  if (existsSync(marker) && statSync(marker).mtimeMs >= newestSource(join(root, 'src'))) return;
  console.log('  building dist/ (npm run build): it is missing or older than src/ …');
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
}

export interface ServerCode {
  readonly buildApp: typeof AppModule.buildApp;
  readonly loadConfig: typeof ConfigModule.loadConfig;
  readonly supportedTypes: typeof RecordsModule.supportedTypes;
  readonly warmFhirValidator: typeof RecordsModule.warmFhirValidator;
}

/** The app's entry points, from dist/ or (BENCH_SOURCE=1) src/. */
export async function loadServerCode(): Promise<ServerCode> {
  // A specifier in a variable: TypeScript does not resolve it, so dist/ needs no declarations.
  const base = fromSource ? '../src' : otherBuild === undefined ? '../dist' : pathToFileURL(otherBuild).href;
  const [app, config, records] = (await Promise.all([import(`${base}/app.js`), import(`${base}/config/index.js`), import(`${base}/records/index.js`)])) as [typeof AppModule, typeof ConfigModule, typeof RecordsModule];
  return { buildApp: app.buildApp, loadConfig: config.loadConfig, supportedTypes: records.supportedTypes, warmFhirValidator: records.warmFhirValidator };
}
