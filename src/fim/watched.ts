import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * What one watched path is: `tree` (a directory walked, or a single file, every file hashed) or
 * `secret` (a file whose presence, mode, owner and size are recorded, never its contents' hash).
 */
export interface Target {
  readonly path: string;
  readonly kind: 'tree' | 'secret';
}

export interface WatchedSettings {
  /** The directory holding Tresor's package.json. */
  readonly installDir: string;
  /** The configuration file this process read (`--config` / TRESOR_CONFIG), if any. */
  readonly configFile?: string | undefined;
  readonly tls: { readonly enabled: boolean; readonly certFile?: string | undefined; readonly keyFile?: string | undefined };
  /** The master key ring's file; undefined when the ring comes from TRESOR_MASTER_KEY. */
  readonly masterKeyFile?: string | undefined;
  readonly dataDir: string;
  readonly roots: readonly string[];
}

/**
 * The directory Tresor runs from: two levels above this file, in `src/fim/` (tsx) as in
 * `dist/fim/` (`npm start`, the `tresor` bin).
 */
export function installDirOfThisCode(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/**
 * The code that runs: `npm start` and the `tresor` bin run `dist/main.js`, so `dist/` is the
 * installed code when it exists; only a checkout without a build (run with tsx) runs `src/`.
 */
export function codeDirOf(installDir: string): string {
  const dist = join(installDir, 'dist');
  return existsSync(dist) ? dist : join(installDir, 'src');
}

/** Every path file integrity monitoring watches, absolute, without repeats. */
export function watchedTargets(settings: WatchedSettings): Target[] {
  const install = resolve(settings.installDir);
  // The runbooks ship with the code (package.json `files`) and are served to whoever answers an
  // alert: an edited "Contain" section misleads the response as surely as edited code.
  const trees = [codeDirOf(install), join(install, 'package.json'), join(install, 'package-lock.json'), join(install, 'node_modules'), join(install, 'docs', 'runbooks')];
  if (settings.configFile !== undefined) trees.push(settings.configFile);
  if (settings.tls.enabled) {
    // Without configured files the server uses (and makes) a development certificate in the data directory.
    trees.push(settings.tls.certFile ?? join(settings.dataDir, 'tls', 'localhost.crt'));
    // A private key's SHA-256 reveals nothing of it (preimage resistance, NIST SP 800-107 §4.1)
    // and the baseline is readable by Tresor's user only: hashed, so a swapped key is seen.
    trees.push(settings.tls.keyFile ?? join(settings.dataDir, 'tls', 'localhost.key'));
  }
  trees.push(...settings.roots);
  const targets: Target[] = trees.map((path) => ({ path: resolve(path), kind: 'tree' }));
  // The master key ring changes legitimately at each master rotation; its presence, mode, owner
  // and size are what an attacker's copy or loosened permissions would show.
  if (settings.masterKeyFile !== undefined) targets.push({ path: resolve(settings.masterKeyFile), kind: 'secret' });
  const seen = new Set<string>();
  return targets.filter((t) => !seen.has(t.path) && (seen.add(t.path), true));
}
