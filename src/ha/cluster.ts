import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { generateKeyRing } from '../keys/index.js';
import { createPhysicalBackups, findPostgresBin, generateBackupKey, loadBackupKey, type PhysicalBackups } from '../backup/index.js';
import { createAuthority, issue } from './certificates.js';
import { asOwner } from '../platform/processes.js';
import { loadOrCreateCertificate } from '../platform/http/tls.js';
import { alive, databaseUser, freePort, getJson, signal, startDetached, stopProcess, waitFor, type RunAs } from './processes.js';

/**
 * The high-availability topology of issue 8, on loopback ports of one machine, for tests, drills
 * and demos (`tresor cluster start|stop|status`; docs/operations/high-availability.md has the
 * same topology on real hosts):
 *
 *   etcd (the consensus store; Patroni's leader key lives there with a TTL)
 *   pg1, pg2: PostgreSQL under Patroni, one primary and one synchronous standby
 *             (synchronous_mode: a commit is acknowledged only once the standby has it: RPO 0)
 *   pg3:      an asynchronous DR standby (tags nosync + nofailover: never waited for, never
 *             promoted on its own — promoting it is an operator's decision)
 *   HAProxy:  port `postgres` to whichever node Patroni's REST API calls primary; port `http`
 *             round robin over the Tresor nodes
 *   Tresor:   two or more stateless nodes, all on HAProxy's PostgreSQL port
 *
 * Everything listens on 127.0.0.1 only. The state (ports, pids, paths) is in `<dir>/cluster.json`;
 * secrets (database passwords, the master and backup keys) in `<dir>/secrets.json`, mode 0600.
 */

export interface PostgresNode {
  readonly name: string;
  readonly pgPort: number;
  readonly restPort: number;
  readonly dataDir: string;
  readonly configFile: string;
  readonly logFile: string;
  /** 'ha': a failover candidate (primary or synchronous standby); 'dr': the asynchronous DR standby. */
  readonly kind: 'ha' | 'dr';
  pid: number;
}

export interface TresorNode {
  readonly name: string;
  readonly port: number;
  readonly dataDir: string;
  readonly logFile: string;
  pid: number;
}

export interface ClusterState {
  readonly format: 'tresor-cluster/1';
  readonly dir: string;
  readonly scope: string;
  readonly runAs: RunAs;
  readonly pgBin: string;
  readonly etcd: { readonly clientPort: number; readonly peerPort: number; readonly dataDir: string; readonly logFile: string; pid: number };
  readonly postgres: PostgresNode[];
  readonly haproxy: { readonly postgresPort: number; readonly httpPort: number; readonly configFile: string; readonly logFile: string; pid: number };
  /** One certificate for the cluster's HTTPS (HAProxy's front and every Tresor node): clients trust `certFile`. */
  readonly tls: { readonly certFile: string; readonly keyFile: string; readonly haproxyPem: string };
  readonly tresor: TresorNode[];
  /**
   * pgBackRest (issue 8): one `pgbackrest server` (TLS server mode, client certificates) stands for
   * the repository host and the PostgreSQL hosts alike on loopback. PostgreSQL nodes push WAL to it
   * (`nodeConfig`); the repository side (`repoConfig`: Tresor's `tresor backup physical`) reaches
   * every PostgreSQL node through it and finds the primary itself.
   */
  readonly pgbackrest: {
    readonly stanza: string;
    readonly port: number;
    readonly repoPath: string;
    readonly serverConfig: string;
    readonly repoConfig: string;
    readonly logFile: string;
    pid: number;
  };
  /** The command line that starts a Tresor node (`start` is appended). */
  readonly tresorCommand: readonly string[];
  readonly database: { readonly name: string; readonly user: string };
  readonly timings: { readonly ttl: number; readonly loopWait: number; readonly retryTimeout: number };
}

export interface ClusterSecrets {
  readonly superuserPassword: string;
  readonly replicationPassword: string;
  readonly tresorPassword: string;
  readonly masterKey: string;
  readonly backupKey: string;
}

export interface StartOptions {
  readonly dir: string;
  /** Tresor nodes behind HAProxy (default 2; 0 starts the database tier only). */
  readonly tresorNodes?: number;
  /** Patroni's leader key TTL in seconds (default 8; Patroni's own default is 30). */
  readonly ttl?: number;
  readonly log?: (line: string) => void;
  /** Start-up deadline for the whole cluster (default 180 s). */
  readonly timeoutMs?: number;
}

const stateFile = (dir: string) => join(dir, 'cluster.json');
const secretsFile = (dir: string) => join(dir, 'secrets.json');

/** Which of the cluster's programs are missing on this machine (Debian package names). */
export function missingPrograms(): string[] {
  const missing: string[] = [];
  const on = (file: string) => existsSync(file);
  if (!on('/usr/bin/patroni')) missing.push('patroni');
  if (!on('/usr/bin/etcd')) missing.push('etcd-server');
  if (!on('/usr/sbin/haproxy')) missing.push('haproxy');
  if (!on('/usr/bin/pgbackrest')) missing.push('pgbackrest');
  try {
    findPostgresBin();
  } catch {
    missing.push('postgresql');
  }
  return missing;
}

/** How to start a Tresor node from this installation: the built dist/main.js, or src/main.ts through tsx. */
export function defaultTresorCommand(): string[] {
  // The same code as this process: from dist/ when running built, from the sources otherwise
  // (never a dist/ left over from an older build next to newer sources).
  if (import.meta.url.endsWith('.js')) return [process.execPath, fileURLToPath(new URL('../main.js', import.meta.url))];
  const source = fileURLToPath(new URL('../main.ts', import.meta.url));
  // From the sources (tests): tsx, resolved here, since the node's working directory is its data directory.
  return [process.execPath, '--import', import.meta.resolve('tsx'), source];
}

export function readCluster(dir: string): { state: ClusterState; secrets: ClusterSecrets } {
  const path = stateFile(resolve(dir));
  if (!existsSync(path)) throw new Error(`no cluster in ${dir} (tresor cluster start --dir ${dir})`);
  return { state: JSON.parse(readFileSync(path, 'utf8')) as ClusterState, secrets: JSON.parse(readFileSync(secretsFile(resolve(dir)), 'utf8')) as ClusterSecrets };
}

function saveState(state: ClusterState): void {
  writeFileSync(stateFile(state.dir), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** The URL Tresor nodes use: HAProxy's PostgreSQL port, the unprivileged `tresor` role. */
export function tresorDatabaseUrl(state: ClusterState, secrets: ClusterSecrets): string {
  return `postgres://${state.database.user}:${encodeURIComponent(secrets.tresorPassword)}@127.0.0.1:${state.haproxy.postgresPort}/${state.database.name}`;
}

/** A superuser URL straight to one PostgreSQL node (for status, checks and drills). */
export function nodeSuperuserUrl(state: ClusterState, secrets: ClusterSecrets, node: PostgresNode, database = 'postgres'): string {
  return `postgres://${state.runAs.user}:${encodeURIComponent(secrets.superuserPassword)}@127.0.0.1:${node.pgPort}/${database}`;
}

/** The environment a Tresor node of this cluster runs with. */
export function tresorEnvironment(state: ClusterState, secrets: ClusterSecrets, node: Pick<TresorNode, 'dataDir'> & { port?: number }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: node.dataDir,
    TRESOR_STORAGE: 'postgres',
    TRESOR_POSTGRES_URL: tresorDatabaseUrl(state, secrets),
    TRESOR_MASTER_KEY: secrets.masterKey,
    TRESOR_BACKUP_KEY: secrets.backupKey,
    TRESOR_BACKUP_REPOSITORY: join(state.dir, 'snapshots'),
    TRESOR_DATA_DIR: node.dataDir,
    TRESOR_HOST: '127.0.0.1',
    TRESOR_PORT: String(node.port ?? 0),
    TRESOR_TRUST_PROXY: 'true',
    TRESOR_TLS_CERT: state.tls.certFile,
    TRESOR_TLS_KEY: state.tls.keyFile,
    TRESOR_LOG_LEVEL: 'warn',
    // Physical backups: pgBackRest with the repository side's configuration, run as the
    // repository's owner (the database user) when the node runs as root.
    TRESOR_PGBACKREST_CONFIG: state.pgbackrest.repoConfig,
    TRESOR_PGBACKREST_STANZA: state.pgbackrest.stanza,
    TRESOR_PGBACKREST_COMMAND: pgbackrestCommand(state).join(' '),
  };
  return env;
}

function patroniConfig(state: ClusterState, secrets: ClusterSecrets, node: PostgresNode): object {
  const { ttl, loopWait, retryTimeout } = state.timings;
  const socketDir = join(state.dir, node.name);
  return {
    scope: state.scope,
    name: node.name,
    log: { level: 'WARNING' },
    restapi: { listen: `127.0.0.1:${node.restPort}`, connect_address: `127.0.0.1:${node.restPort}` },
    etcd3: { hosts: `127.0.0.1:${state.etcd.clientPort}` },
    bootstrap: {
      dcs: {
        // Patroni requires loop_wait + 2 × retry_timeout ≤ ttl. Its defaults (30/10/10) fail over in
        // about 30 s; these give ≤ 15 s from the primary's loss to a promoted standby.
        ttl,
        loop_wait: loopWait,
        retry_timeout: retryTimeout,
        maximum_lag_on_failover: 1048576,
        // RPO 0: Patroni names a synchronous standby and promotes only that one; a commit returns
        // once the standby has flushed its WAL (synchronous_commit = on).
        synchronous_mode: true,
        synchronous_node_count: 1,
        postgresql: {
          use_pg_rewind: true,
          use_slots: true,
          parameters: {
            synchronous_commit: 'on',
            wal_level: 'replica',
            hot_standby: 'on',
            wal_log_hints: 'on',
            max_wal_senders: 10,
            max_replication_slots: 10,
            max_connections: 200,
            wal_keep_size: '256MB',
            password_encryption: 'scram-sha-256',
            // Continuous WAL archiving to the pgBackRest repository (point-in-time recovery); a
            // segment is closed at least every 60 s while anything is written, so a restore can
            // reach any moment up to about a minute ago even if the whole cluster is lost.
            archive_mode: 'on',
            archive_timeout: 60,
          },
        },
      },
      initdb: [{ encoding: 'UTF8' }, { locale: 'C.UTF-8' }, 'data-checksums', { 'auth-local': 'peer' }, { 'auth-host': 'scram-sha-256' }],
    },
    postgresql: {
      listen: `127.0.0.1:${node.pgPort}`,
      connect_address: `127.0.0.1:${node.pgPort}`,
      data_dir: node.dataDir,
      bin_dir: state.pgBin,
      pgpass: join(socketDir, 'pgpass'),
      authentication: {
        superuser: { username: state.runAs.user, password: secrets.superuserPassword },
        replication: { username: 'replicator', password: secrets.replicationPassword },
      },
      parameters: { unix_socket_directories: socketDir, archive_command: `pgbackrest --config=${pgbackrestNodeConfig(state, node)} --stanza=${state.pgbackrest.stanza} archive-push %p` },
      // Loopback only; every TCP connection with a password (SCRAM); the socket for the OS user only.
      pg_hba: [
        `local all ${state.runAs.user} peer`,
        'host replication replicator 127.0.0.1/32 scram-sha-256',
        'host all all 127.0.0.1/32 scram-sha-256',
      ],
    },
    watchdog: { mode: 'off' },
    tags: { nofailover: node.kind === 'dr', noloadbalance: node.kind === 'dr', clonefrom: false, nosync: node.kind === 'dr' },
  };
}

export const pgbackrestNodeConfig = (state: ClusterState, node: PostgresNode) => join(state.dir, 'pgbackrest', `${node.name}.conf`);
const pgbackrestFile = (state: ClusterState, name: string) => join(state.dir, 'pgbackrest', name);

/**
 * pgBackRest's configuration files: the server's, each PostgreSQL node's (archive-push to the
 * repository over TLS) and the repository side's (backup, expire, info, verify, restore). The
 * repository is encrypted (aes-256-cbc); its passphrase is never in these files: it is derived
 * from the backup key and handed to the processes that open the repository in their environment
 * (PGBACKREST_REPO1_CIPHER_PASS).
 */
function pgbackrestConfigs(state: ClusterState): Array<[string, string]> {
  const { stanza, port, repoPath } = state.pgbackrest;
  const file = (name: string) => pgbackrestFile(state, name);
  const common = [`log-path=${file('log')}`, `lock-path=${file('lock')}`, 'log-level-console=warn', 'log-level-file=info', 'compress-type=lz4'];
  const client = (prefix: string) => [`${prefix}-host=localhost`, `${prefix}-host-type=tls`, `${prefix}-host-port=${port}`, `${prefix}-host-ca-file=${file('ca.crt')}`, `${prefix}-host-cert-file=${file('client.crt')}`, `${prefix}-host-key-file=${file('client.key')}`];
  const configs: Array<[string, string]> = [];
  configs.push([state.pgbackrest.serverConfig, ['[global]', ...common, 'tls-server-address=127.0.0.1', `tls-server-port=${port}`, `tls-server-ca-file=${file('ca.crt')}`, `tls-server-cert-file=${file('server.crt')}`, `tls-server-key-file=${file('server.key')}`, `tls-server-auth=tresor-pgbackrest=${stanza}`, `repo1-path=${repoPath}`, 'repo1-cipher-type=aes-256-cbc', ''].join('\n')]);
  for (const node of state.postgres) {
    configs.push([pgbackrestNodeConfig(state, node), ['[global]', ...common.map((o) => (o.startsWith('lock-path') ? `lock-path=${file(`lock-${node.name}`)}` : o)), ...client('repo1'), `repo1-path=${repoPath}`, 'repo1-cipher-type=aes-256-cbc', '', `[${stanza}]`, `pg1-path=${node.dataDir}`, `pg1-port=${node.pgPort}`, `pg1-socket-path=${join(state.dir, node.name)}`, ''].join('\n')]);
  }
  configs.push([state.pgbackrest.repoConfig, [
    '[global]',
    ...common,
    `repo1-path=${repoPath}`,
    'repo1-cipher-type=aes-256-cbc',
    // Retention is Tresor's (30 days daily, 13 months monthly, as the tenant snapshots): it expires
    // the sets its policy drops by label; pgBackRest's own count-based expiry only as a far backstop.
    'repo1-retention-full=9999999',
    'repo1-retention-archive-type=full',
    // Continuous WAL (any point in time) for the newest 31 full backups, taken daily: 30 days of
    // point-in-time recovery; older monthly sets keep the WAL that makes them consistent.
    'repo1-retention-archive=31',
    'start-fast=y',
    'backup-standby=n',
    'process-max=2',
    '',
    `[${stanza}]`,
    ...state.postgres.flatMap((node, i) => [...client(`pg${i + 1}`), `pg${i + 1}-path=${node.dataDir}`, `pg${i + 1}-port=${node.pgPort}`, `pg${i + 1}-socket-path=${join(state.dir, node.name)}`]),
    '',
  ].join('\n')]);
  return configs;
}

/** The certificates of pgBackRest's TLS server mode: a private CA, the server's, one client's. */
async function pgbackrestCertificates(state: ClusterState): Promise<Array<[string, string]>> {
  const authority = await createAuthority(`Tresor cluster ${state.scope} pgBackRest CA`);
  const server = await issue(authority, 'localhost', 'server');
  const client = await issue(authority, 'tresor-pgbackrest', 'client');
  const file = (name: string) => pgbackrestFile(state, name);
  return [[file('ca.crt'), authority.cert], [file('server.crt'), server.cert], [file('server.key'), server.key], [file('client.crt'), client.cert], [file('client.key'), client.key]];
}

/** pgbackrest as the repository's owner (the database user; through setpriv when this process is root). */
const pgbackrestCommand = (state: ClusterState): string[] => asOwner('pgbackrest', [], state.runAs).flat();

/**
 * The repository side's pgBackRest, as Tresor drives it (backup/physical.ts): the cluster's own
 * stanza creation, check and first backup go through the same code as `tresor backup physical`.
 */
export function clusterPhysical(state: ClusterState, secrets: ClusterSecrets): PhysicalBackups {
  const keys = loadBackupKey({ env: secrets.backupKey });
  return createPhysicalBackups({ configFile: state.pgbackrest.repoConfig, stanza: state.pgbackrest.stanza, command: pgbackrestCommand(state) }, () => keys.repositoryPassphrase());
}

/** The environment of a process that opens the repository: the passphrase, derived from the backup key. */
function pgbackrestEnvironment(state: ClusterState, secrets: ClusterSecrets): NodeJS.ProcessEnv {
  return clusterPhysical(state, secrets).environment();
}

function haproxyConfig(state: ClusterState): string {
  const pg = state.postgres
    .map((node) => `  server ${node.name} 127.0.0.1:${node.pgPort} check port ${node.restPort}`)
    .join('\n');
  // TLS to the nodes too, checked against the cluster's certificate (never `verify none`).
  const http = state.tresor.map((node) => `  server ${node.name} 127.0.0.1:${node.port} check ssl verify required ca-file ${state.tls.certFile} sni str(localhost) verifyhost localhost`).join('\n');
  return `# Generated by tresor cluster start: loopback only.
global
  maxconn 2000
  # TLS 1.2 or newer (NIST SP 800-52r2 §3.1), as the Tresor nodes themselves.
  ssl-default-bind-options ssl-min-ver TLSv1.2
  ssl-default-server-options ssl-min-ver TLSv1.2

defaults
  timeout connect 2s
  timeout client 30m
  timeout server 30m
  timeout check 1s

# PostgreSQL: to the node whose Patroni REST API answers GET /primary with 200. Checked every
# second; a node marked down has its open connections cut, so clients reconnect to the new primary.
listen postgres_primary
  mode tcp
  bind 127.0.0.1:${state.haproxy.postgresPort}
  option httpchk GET /primary
  http-check expect status 200
  default-server inter 1s fastinter 500ms downinter 1s fall 2 rise 1 on-marked-down shutdown-sessions
${pg}

# Tresor over HTTPS: round robin over the nodes that are alive (/healthz). Not /readyz: during a
# failover every node is unready at once, and HAProxy would answer with its own HTML 503; the
# nodes answer problem+json 503 with Retry-After, which clients know how to retry.
listen tresor_http
  mode http
  bind 127.0.0.1:${state.haproxy.httpPort} ssl crt ${state.tls.haproxyPem}
  option httpchk GET /healthz
  option forwardfor
  timeout client 60s
  timeout server 60s
  balance roundrobin
  default-server inter 1s fall 2 rise 1
${http}
`;
}

function prepareDir(path: string, runAs: RunAs): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
  if (process.getuid?.() === 0) chownSync(path, runAs.uid, runAs.gid);
}

function writeOwned(path: string, text: string, runAs: RunAs): void {
  writeFileSync(path, text, { mode: 0o600 });
  if (process.getuid?.() === 0) chownSync(path, runAs.uid, runAs.gid);
}

/** GET /cluster from any Patroni that answers: members with role, state and lag. */
export async function patroniCluster(state: ClusterState): Promise<{ members: Array<{ name: string; role: string; state: string; lag?: number | string; timeline?: number }> }> {
  for (const node of state.postgres) {
    try {
      const { status, body } = await getJson(`http://127.0.0.1:${node.restPort}/cluster`, 1000);
      if (status === 200) return body as { members: Array<{ name: string; role: string; state: string }> };
    } catch {
      // next node
    }
  }
  throw new Error('no Patroni REST API answers');
}

/** The node Patroni names leader, if any is running as one. */
export async function currentPrimary(state: ClusterState): Promise<PostgresNode | undefined> {
  const { members } = await patroniCluster(state);
  const leader = members.find((m) => m.role === 'leader' && m.state === 'running');
  return leader === undefined ? undefined : state.postgres.find((n) => n.name === leader.name);
}

/** Whether the cluster has a primary and a streaming synchronous standby (and every node running). */
export async function healthy(state: ClusterState, options: { allNodes?: boolean } = {}): Promise<boolean> {
  const { members } = await patroniCluster(state);
  const leader = members.some((m) => m.role === 'leader' && m.state === 'running');
  const sync = members.some((m) => m.role === 'sync_standby' && (m.state === 'streaming' || m.state === 'running'));
  const all = options.allNodes !== true || state.postgres.every((n) => members.some((m) => m.name === n.name && (m.state === 'running' || m.state === 'streaming')));
  return leader && sync && all;
}

/** Starts the Patroni of one node (again, after a stop or a kill). */
export function startPostgresNode(state: ClusterState, secrets: ClusterSecrets, node: PostgresNode): void {
  // PostgreSQL's archive_command (pgbackrest archive-push) inherits the repository passphrase from
  // Patroni's environment: encryption happens where WAL is pushed, and nothing writes it to disk.
  node.pid = startDetached('/usr/bin/patroni', [node.configFile], { logFile: node.logFile, runAs: state.runAs, cwd: join(state.dir, node.name), env: { ...pgbackrestEnvironment(state, secrets), HOME: join(state.dir, node.name) } });
  saveState(state);
}

/** Starts one Tresor node (again). */
export function startTresorNode(state: ClusterState, secrets: ClusterSecrets, node: TresorNode): void {
  const [command, ...args] = state.tresorCommand;
  node.pid = startDetached(command!, [...args, 'start'], { logFile: node.logFile, env: tresorEnvironment(state, secrets, node), cwd: node.dataDir });
  saveState(state);
}

/** The postmaster pid of a node, from postmaster.pid (undefined when it is not running). */
export function postmasterPid(node: PostgresNode): number | undefined {
  try {
    const pid = Number(readFileSync(join(node.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return alive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts the whole cluster in `dir` (created; must not hold a running cluster). Resolves once
 * PostgreSQL has a primary and a synchronous standby, the DR standby streams, the `tresor`
 * database exists, and every Tresor node answers through HAProxy. On failure everything started
 * is stopped again.
 */
export async function startCluster(options: StartOptions): Promise<{ state: ClusterState; secrets: ClusterSecrets }> {
  const missing = missingPrograms();
  if (missing.length > 0) throw new Error(`missing Debian packages: ${missing.join(', ')} (apt-get install ${missing.join(' ')})`);
  const dir = resolve(options.dir);
  if (existsSync(stateFile(dir))) {
    const { state } = readCluster(dir);
    if (alive(state.etcd.pid) || state.postgres.some((n) => alive(n.pid))) throw new Error(`a cluster is already running in ${dir} (tresor cluster stop --dir ${dir})`);
  }
  const log = options.log ?? (() => undefined);
  const timeoutMs = options.timeoutMs ?? 180_000;
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(1000, deadline - Date.now());
  const runAs = databaseUser();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (process.getuid?.() === 0) chownSync(dir, runAs.uid, runAs.gid);
  chmodSync(dir, 0o711);
  const ttl = options.ttl ?? 8;
  const loopWait = 1;
  const state: ClusterState = {
    format: 'tresor-cluster/1',
    dir,
    scope: `tresor-${randomBytes(3).toString('hex')}`,
    runAs,
    pgBin: findPostgresBin(),
    etcd: { clientPort: await freePort(), peerPort: await freePort(), dataDir: join(dir, 'etcd'), logFile: join(dir, 'etcd.log'), pid: 0 },
    postgres: [],
    haproxy: { postgresPort: await freePort(), httpPort: await freePort(), configFile: join(dir, 'haproxy.cfg'), logFile: join(dir, 'haproxy.log'), pid: 0 },
    tresor: [],
    pgbackrest: { stanza: 'tresor', port: await freePort(), repoPath: join(dir, 'pgbackrest', 'repo'), serverConfig: join(dir, 'pgbackrest', 'server.conf'), repoConfig: join(dir, 'pgbackrest', 'repo.conf'), logFile: join(dir, 'pgbackrest-server.log'), pid: 0 },
    tls: { certFile: join(dir, 'tls', 'localhost.crt'), keyFile: join(dir, 'tls', 'localhost.key'), haproxyPem: join(dir, 'tls', 'haproxy.pem') },
    tresorCommand: defaultTresorCommand(),
    database: { name: 'tresor', user: 'tresor' },
    timings: { ttl, loopWait, retryTimeout: Math.floor((ttl - loopWait) / 2) },
  };
  for (const [name, kind] of [['pg1', 'ha'], ['pg2', 'ha'], ['pg3', 'dr']] as const) {
    state.postgres.push({ name, kind, pgPort: await freePort(), restPort: await freePort(), dataDir: join(dir, name, 'data'), configFile: join(dir, name, 'patroni.yml'), logFile: join(dir, `${name}.log`), pid: 0 });
  }
  for (let i = 1; i <= (options.tresorNodes ?? 2); i++) {
    state.tresor.push({ name: `tresor${i}`, port: await freePort(), dataDir: join(dir, `tresor${i}`), logFile: join(dir, `tresor${i}.log`), pid: 0 });
  }
  const secrets: ClusterSecrets = {
    superuserPassword: randomBytes(24).toString('base64url'),
    replicationPassword: randomBytes(24).toString('base64url'),
    tresorPassword: randomBytes(24).toString('base64url'),
    masterKey: generateKeyRing(),
    backupKey: generateBackupKey(),
  };
  writeFileSync(secretsFile(dir), `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  saveState(state);

  try {
    log(`etcd on 127.0.0.1:${state.etcd.clientPort}`);
    prepareDir(state.etcd.dataDir, runAs);
    state.etcd.pid = startDetached('/usr/bin/etcd', [
      '--name', 'etcd1',
      '--data-dir', state.etcd.dataDir,
      '--listen-client-urls', `http://127.0.0.1:${state.etcd.clientPort}`,
      '--advertise-client-urls', `http://127.0.0.1:${state.etcd.clientPort}`,
      '--listen-peer-urls', `http://127.0.0.1:${state.etcd.peerPort}`,
      '--initial-advertise-peer-urls', `http://127.0.0.1:${state.etcd.peerPort}`,
      '--initial-cluster', `etcd1=http://127.0.0.1:${state.etcd.peerPort}`,
      '--initial-cluster-token', state.scope,
      '--initial-cluster-state', 'new',
      '--log-level', 'warn',
    ], { logFile: state.etcd.logFile, runAs, cwd: state.etcd.dataDir, env: { PATH: process.env.PATH, HOME: state.etcd.dataDir } });
    saveState(state);
    if (!(await waitFor(async () => (await getJson(`http://127.0.0.1:${state.etcd.clientPort}/health`, 1000)).status === 200, Math.min(left(), 30_000), 200))) throw new Error(`etcd did not become healthy (see ${state.etcd.logFile})`);

    log(`pgBackRest server (TLS) on 127.0.0.1:${state.pgbackrest.port}`);
    prepareDir(join(dir, 'pgbackrest'), runAs);
    for (const sub of ['repo', 'log', 'lock', ...state.postgres.map((n) => `lock-${n.name}`)]) prepareDir(pgbackrestFile(state, sub), runAs);
    for (const [path, text] of [...(await pgbackrestCertificates(state)), ...pgbackrestConfigs(state)]) writeOwned(path, text, runAs);
    state.pgbackrest.pid = startDetached('/usr/bin/pgbackrest', [`--config=${state.pgbackrest.serverConfig}`, 'server'], { logFile: state.pgbackrest.logFile, runAs, cwd: dir, env: pgbackrestEnvironment(state, secrets) });
    saveState(state);

    for (const node of state.postgres) {
      prepareDir(join(dir, node.name), runAs);
      writeOwned(node.configFile, `${JSON.stringify(patroniConfig(state, secrets, node), null, 2)}\n`, runAs);
    }
    // The first node bootstraps (initdb) and leads; the others clone it with pg_basebackup.
    log('PostgreSQL pg1 (bootstrap)');
    startPostgresNode(state, secrets, state.postgres[0]!);
    if (!(await waitFor(async () => (await currentPrimary(state))?.name === 'pg1', Math.min(left(), 90_000), 300))) throw new Error(`pg1 did not become primary (see ${state.postgres[0]!.logFile})`);
    for (const node of state.postgres.slice(1)) {
      log(`PostgreSQL ${node.name} (${node.kind === 'dr' ? 'asynchronous DR standby' : 'synchronous standby'})`);
      startPostgresNode(state, secrets, node);
    }
    if (!(await waitFor(() => healthy(state, { allNodes: true }), left(), 300))) throw new Error('the standbys did not start streaming (see pg2.log, pg3.log)');

    await createDatabase(state, secrets);
    log('pgBackRest stanza');
    const physical = clusterPhysical(state, secrets);
    await physical.exec(['stanza-create'], { timeoutMs: 120_000 });
    // `check` forces a WAL switch and waits for that segment in the repository: archiving works.
    await physical.exec(['check'], { timeoutMs: 120_000 });
    // The first full backup: point-in-time recovery starts here.
    log('pgBackRest first full backup');
    await physical.backup('full', 'cluster-start');

    const tls = await loadOrCreateCertificate({ dataDir: dir });
    // HAProxy (as the database user) reads its own copy of the key and the public certificate.
    chmodSync(join(dir, 'tls'), 0o711);
    chmodSync(state.tls.certFile, 0o644);
    writeOwned(state.tls.haproxyPem, `${tls.cert.trimEnd()}\n${tls.key}`, runAs);
    writeOwned(state.haproxy.configFile, haproxyConfig(state), runAs);
    log(`HAProxy: PostgreSQL primary on 127.0.0.1:${state.haproxy.postgresPort}, Tresor on 127.0.0.1:${state.haproxy.httpPort}`);
    state.haproxy.pid = startDetached('/usr/sbin/haproxy', ['-db', '-f', state.haproxy.configFile], { logFile: state.haproxy.logFile, runAs, cwd: dir, env: { PATH: process.env.PATH } });
    saveState(state);
    if (!(await waitFor(() => canQuery(tresorDatabaseUrl(state, secrets)), Math.min(left(), 20_000), 200))) throw new Error(`HAProxy does not reach the primary (see ${state.haproxy.logFile})`);

    for (const node of state.tresor) {
      mkdirSync(node.dataDir, { recursive: true, mode: 0o700 });
      log(`Tresor ${node.name} on 127.0.0.1:${node.port}`);
      startTresorNode(state, secrets, node);
      // One at a time: the first runs the migrations, the next finds them done.
      if (!(await waitFor(async () => (await getJson(`https://127.0.0.1:${node.port}/readyz`, 1000, tls.cert)).status === 200, Math.min(left(), 60_000), 200))) throw new Error(`${node.name} did not become ready (see ${node.logFile})`);
    }
    if (state.tresor.length > 0 && !(await waitFor(async () => (await getJson(`https://127.0.0.1:${state.haproxy.httpPort}/readyz`, 1000, tls.cert)).status === 200, Math.min(left(), 10_000), 200))) throw new Error('HAProxy does not reach Tresor');
    return { state, secrets };
  } catch (error) {
    await stopCluster(dir).catch(() => undefined);
    throw error;
  }
}

async function canQuery(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The `tresor` role (no superuser, no role or database creation) and its own database. */
async function createDatabase(state: ClusterState, secrets: ClusterSecrets): Promise<void> {
  const primary = await currentPrimary(state);
  if (primary === undefined) throw new Error('no primary');
  const client = new pg.Client({ connectionString: nodeSuperuserUrl(state, secrets, primary), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    // Identifiers are fixed words; the password goes in as a literal PostgreSQL quotes itself.
    const password = (await client.query<{ q: string }>('SELECT quote_literal($1) AS q', [secrets.tresorPassword])).rows[0]!.q;
    await client.query(`CREATE ROLE ${state.database.user} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${password}`);
    await client.query(`CREATE DATABASE ${state.database.name} OWNER ${state.database.user}`);
    await client.query(`REVOKE ALL ON DATABASE ${state.database.name} FROM PUBLIC`);
    // Read-only monitoring (replication lag, archiver: /metrics) and the named restore points the
    // restore drill recovers to; nothing more.
    await client.query(`GRANT pg_monitor TO ${state.database.user}`);
  } finally {
    await client.end();
  }
  // Function privileges belong to each database's catalog: granted in Tresor's.
  const inDatabase = new pg.Client({ connectionString: nodeSuperuserUrl(state, secrets, primary, state.database.name), connectionTimeoutMillis: 5000 });
  await inDatabase.connect();
  try {
    await inDatabase.query(`GRANT EXECUTE ON FUNCTION pg_create_restore_point(text) TO ${state.database.user}`);
    await inDatabase.query(`GRANT EXECUTE ON FUNCTION pg_switch_wal() TO ${state.database.user}`);
  } finally {
    await inDatabase.end();
  }
}

/**
 * Stops everything the cluster in `dir` runs, in order: Tresor nodes (they finish requests),
 * HAProxy, the standbys, the primary (Patroni shuts PostgreSQL down and gives up the leader key),
 * etcd. Each has a bounded grace period, then SIGKILL. Leaves the files in place.
 */
export async function stopCluster(dir: string, log: (line: string) => void = () => undefined): Promise<void> {
  const { state } = readCluster(dir);
  for (const node of state.tresor) log(`${node.name}: ${await stopProcess(node.pid, 10_000)}`);
  log(`haproxy: ${await stopProcess(state.haproxy.pid, 5000)}`);
  let primary: string | undefined;
  try {
    primary = (await currentPrimary(state))?.name;
  } catch {
    // no Patroni answers: order does not matter
  }
  const ordered = [...state.postgres.filter((n) => n.name !== primary), ...state.postgres.filter((n) => n.name === primary)];
  for (const node of ordered) {
    log(`${node.name}: ${await stopProcess(node.pid, 30_000)}`);
    // A postmaster whose Patroni was killed keeps running on its own: stop it too.
    const postmaster = postmasterPid(node);
    if (postmaster !== undefined) {
      signal(postmaster, 'SIGINT');
      log(`${node.name} postmaster: ${await stopProcess(postmaster, 15_000, 'SIGINT')}`);
    }
  }
  log(`etcd: ${await stopProcess(state.etcd.pid, 5000)}`);
  if (state.pgbackrest !== undefined) log(`pgbackrest server: ${await stopProcess(state.pgbackrest.pid, 5000)}`);
}

export interface ClusterStatus {
  readonly dir: string;
  readonly members: Array<{ name: string; role: string; state: string; lag?: number | string; timeline?: number }>;
  readonly processes: Array<{ name: string; pid: number; running: boolean }>;
  readonly endpoints: { postgres: string; https: string; certificate: string };
}

/** The Tresor URL clients use (HAProxy's HTTPS front) and the certificate they trust. */
export function tresorEndpoint(state: ClusterState): { url: string; ca: string } {
  return { url: `https://127.0.0.1:${state.haproxy.httpPort}`, ca: readFileSync(state.tls.certFile, 'utf8') };
}

export async function clusterStatus(dir: string): Promise<ClusterStatus> {
  const { state } = readCluster(dir);
  let members: ClusterStatus['members'] = [];
  try {
    members = (await patroniCluster(state)).members;
  } catch {
    // nothing answers
  }
  return {
    dir: state.dir,
    members,
    processes: [
      { name: 'etcd', pid: state.etcd.pid, running: alive(state.etcd.pid) },
      ...state.postgres.map((n) => ({ name: `patroni ${n.name}`, pid: n.pid, running: alive(n.pid) })),
      { name: 'haproxy', pid: state.haproxy.pid, running: alive(state.haproxy.pid) },
      { name: 'pgbackrest server', pid: state.pgbackrest.pid, running: alive(state.pgbackrest.pid) },
      ...state.tresor.map((n) => ({ name: n.name, pid: n.pid, running: alive(n.pid) })),
    ],
    endpoints: { postgres: `127.0.0.1:${state.haproxy.postgresPort}`, https: `https://127.0.0.1:${state.haproxy.httpPort}`, certificate: state.tls.certFile },
  };
}
