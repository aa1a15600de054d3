// A throw-away PostgreSQL cluster on 127.0.0.1 for the test suite and benchmarks, from the
// Debian packages (postgresql-15 or newer). initdb refuses to run as root, so as root the
// cluster is run by the `postgres` system user the package creates.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, chmodSync, chownSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';

function findBin() {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions.length === 0 ? undefined : join(root, versions[0], 'bin');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export async function startScratchPostgres() {
  const bin = findBin();
  if (bin === undefined) return undefined;
  const asRoot = process.getuid?.() === 0;
  let uid;
  let gid;
  if (asRoot) {
    const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    if (id.status !== 0) return undefined;
    uid = Number(id.stdout.trim());
    gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
  }
  const dir = mkdtempSync(join(tmpdir(), 'tresor-pg-'));
  chmodSync(dir, 0o700);
  if (asRoot) chownSync(dir, uid, gid);
  const run = (cmd, args) => execFileSync(asRoot ? 'runuser' : cmd, asRoot ? ['-u', 'postgres', '--', cmd, ...args] : args, { stdio: 'pipe' });
  const port = await freePort();
  run(join(bin, 'initdb'), ['-D', join(dir, 'data'), '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8']);
  run(join(bin, 'pg_ctl'), [
    '-D', join(dir, 'data'), '-l', join(dir, 'log'), '-w', '-t', '60',
    '-o', `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dir} -c fsync=on -c max_connections=200`,
    'start',
  ]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop() {
      try {
        run(join(bin, 'pg_ctl'), ['-D', join(dir, 'data'), '-m', 'fast', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Sets `env.TRESOR_TEST_PG_URL` to a PostgreSQL the caller may use: the one already named
 * there, else a scratch cluster (then `scratch` is true). Returns how to stop what it started.
 */
export async function providePostgres(env) {
  if (env.TRESOR_TEST_PG_URL) return { scratch: false, stop() {} };
  let cluster;
  try {
    cluster = await startScratchPostgres();
  } catch (error) {
    console.error(`could not start a scratch PostgreSQL: ${error.message}`);
  }
  if (cluster === undefined) return { scratch: false, stop() {} };
  env.TRESOR_TEST_PG_URL = cluster.url;
  return { scratch: true, stop: () => cluster.stop() };
}
