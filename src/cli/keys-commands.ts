import type { Core } from '../app.js';
import type { KeyHold } from '../keys/index.js';
import { keyStatus as readKeyStatus, rotationProgress, type RotationJob } from '../rotation/index.js';
import type { CliIo } from './io.js';
import { UsageError } from './usage-error.js';
import { number } from './human-size.js';

/**
 * Below this many fields a rate says nothing about speed: the job's fixed settling waits
 * (about 2.5 s) dominate its time, and "0 fields/s" or "3 fields/s" reads like a fault.
 */
export const meaningfulRateCount = 1000;
const phaseText: Record<RotationJob['phase'], string> = {
  reencrypt: 're-encrypting',
  sweep: 'sweeping up late writes',
  rewrap: 're-wrapping tenant keys',
  retire: 'retiring old versions',
  done: 'done',
};

/** `[########------------]  40%  4,000/10,000 · 51,000 fields/s · re-encrypting`; no rate when there is none to speak of (undefined, 0). */
export function progressLine(label: string, job: RotationJob, fieldsPerSecond: number | undefined): string {
  const ratio = rotationProgress(job);
  const width = 24;
  const filled = Math.round(ratio * width);
  const unit = job.scope === 'master' ? 'tenant keys' : 'stored versions';
  return `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.round(ratio * 100)).padStart(3)}%  ${number.format(job.rowsDone)}/${number.format(job.rowsTotal)} ${unit} · ${fieldsPerSecond === undefined || !(fieldsPerSecond >= 1) ? '' : `${number.format(Math.round(fieldsPerSecond))} ${job.scope === 'master' ? 'keys' : 'fields'}/s · `}${phaseText[job.phase]}`;
}

/**
 * `tresor keys rotate`: starts (or resumes) one job per scope and runs it here with a progress
 * bar. Killed, it leaves the job and its cursor in the key store: running the command again, or
 * a running server within seconds, resumes it.
 */
export async function rotateKeys(io: CliIo, core: Core, values: Record<string, string | boolean | string[] | undefined>): Promise<number> {
  const tenant = values['tenant'];
  if (values['master'] === true && tenant !== undefined) throw new UsageError('--tenant and --master rotate different keys; give one of them');
  if (tenant !== undefined && (typeof tenant !== 'string' || tenant === '')) throw new UsageError('missing --tenant <id>');
  const scopes: Array<{ scope: 'master' | 'tenant'; tenantId?: string }> =
    values['master'] === true ? [{ scope: 'master' }] : typeof tenant === 'string' ? [{ scope: 'tenant', tenantId: tenant }] : (await core.tenants.list()).map((t) => ({ scope: 'tenant', tenantId: t.id }));
  if (scopes.length === 0) {
    io.stdout('No tenants yet: nothing to rotate.');
    return 0;
  }
  let failed = 0;
  for (const { scope, tenantId } of scopes) {
    const label = scope === 'master' ? 'master key' : `tenant ${tenantId as string}`;
    const { job, resumed, madeVersion } = await core.rotation.start(scope, tenantId);
    io.stderr(
      resumed
        ? `${label}: resuming the unfinished rotation to version ${job.generation} started ${new Date(job.startedAt).toISOString()}`
        : `${label}: version ${job.generation} is current from now on; moving existing ${scope === 'master' ? 'tenant keys' : 'data'} onto it`,
    );
    if (!resumed && !madeVersion) {
      io.stderr(`${label}: ${core.keyProvider.name} keeps its versions itself; re-wrapping onto its current version ${job.generation}. To rotate, add a new version there, make it current, restart, and run this again.`);
    }
    const began = performance.now();
    const fieldsAtStart = job.fieldsDone;
    let lastLine = 0;
    const draw = (current: RotationJob, final: boolean) => {
      const seconds = (performance.now() - began) / 1000;
      const moved = current.fieldsDone - fieldsAtStart;
      const line = progressLine(label, current, moved >= meaningfulRateCount && seconds > 0 ? moved / seconds : undefined);
      if (io.progress !== undefined) io.progress(line, final);
      else if (final || performance.now() - lastLine > 5000) {
        lastLine = performance.now();
        io.stderr(line);
      }
    };
    const done = await core.rotation.run(job.id, { onProgress: (current) => draw(current, false) });
    draw(done, true);
    const seconds = (performance.now() - began) / 1000;
    const moved = done.fieldsDone - fieldsAtStart;
    io.stdout(
      scope === 'master'
        ? `${label}: version ${done.generation}; ${number.format(done.rowsDone)} tenant key(s) re-wrapped in ${seconds.toFixed(1)} s; retired: ${done.retired ?? 'nothing'}`
        : `${label}: generation ${done.generation}; ${number.format(moved)} fields re-encrypted in ${seconds.toFixed(1)} s${moved >= meaningfulRateCount ? ` (${number.format(Math.round(moved / Math.max(seconds, 0.001)))} fields/s)` : ''}; retired: ${done.retired ?? 'nothing'}`,
    );
    if (done.rowsFailed > 0) {
      io.stderr(`${label}: ${number.format(done.rowsFailed)} stored version(s) failed their integrity check and keep their old key version, which stays (see the lines above).`);
      failed += done.rowsFailed;
    }
  }
  return failed > 0 ? 1 : 0;
}

/**
 * Why a master version no live key uses is still there: which backups need it and when
 * retention is expected to release it (it is destroyed by the first master rotation after).
 */
function describeHold(holds: readonly KeyHold[]): string {
  const count = (prefix: string) => holds.filter((h) => h.holder.startsWith(prefix)).length;
  const parts = [
    [count('snapshot:'), 'snapshot'],
    [count('physical:'), 'physical backup'],
    [count('physical-archive:'), 'physical WAL archive window'],
  ]
    .filter(([n]) => (n as number) > 0)
    .map(([n, what]) => `${n as number} ${what as string}${n === 1 ? '' : 's'}`);
  const open = holds.some((h) => h.until === null);
  const until = Math.max(...holds.map((h) => h.until ?? 0));
  const when = open ? 'until retention prunes them (one of them is the newest verified snapshot, or the WAL archive window)' : `until about ${new Date(until).toISOString()}, when retention prunes the last of them`;
  return `kept for backups only (${parts.join(', ')}), ${when}; the first master rotation after that destroys it`;
}

/** `tresor keys status`: versions and counts per tenant and the rotation jobs; never key material. */
export async function keyStatus(io: CliIo, core: Core, asJson: boolean): Promise<number> {
  const { census, rotations: jobs, masterVersions, currentMasterVersion: current, backupsOnly, holds } = await readKeyStatus({ keys: core.keys, rotation: core.rotation, provider: core.keyProvider });
  if (asJson) {
    io.stdout(JSON.stringify({ provider: core.keyProvider.name, masterVersions, currentMasterVersion: current, keptForBackups: holds.filter((h) => backupsOnly.includes(h.masterVersion)), keys: census, rotations: jobs }, null, 2));
    return 0;
  }
  io.stdout(`master key: ${core.keyProvider.name}; current version ${current}; versions on hand: ${masterVersions.join(', ')}`);
  for (const version of backupsOnly) io.stdout(`master key version ${version}: ${describeHold(holds.filter((h) => h.masterVersion === version))}${masterVersions.includes(version) ? '' : ` — MISSING from ${core.keyProvider.name}: those backups cannot be read`}`);
  const tenants = [...new Set(census.map((c) => c.tenantId))];
  for (const tenantId of tenants) {
    const rows = census.filter((c) => c.tenantId === tenantId);
    const describe = (kind: 'kek' | 'index' | 'data') =>
      rows
        .filter((r) => r.kind === kind)
        .map((r) => (kind === 'data' ? `v${r.version}: ${number.format(r.live)} live${r.destroyed > 0 ? `, ${number.format(r.destroyed)} destroyed` : ''}` : `v${r.version}`))
        .join('; ') || 'none yet';
    io.stdout(`tenant ${tenantId}: key-encryption key ${describe('kek')} · index key ${describe('index')} · data keys ${describe('data')}`);
  }
  for (const job of jobs) {
    const label = job.scope === 'master' ? 'master key' : `tenant ${job.tenantId as string}`;
    io.stdout(
      job.finishedAt === undefined
        ? `rotation ${job.id}: ${progressLine(label, job, 0)}${job.leaseOwner === undefined ? ' (no runner: run `tresor keys rotate` again, or start the server)' : ''}`
        : `rotation ${job.id}: ${label} to version ${job.generation} finished ${new Date(job.finishedAt).toISOString()}; ${number.format(job.fieldsDone)} ${job.scope === 'master' ? 'tenant keys re-wrapped' : 'fields re-encrypted'}; retired: ${job.retired ?? 'nothing'}${job.rowsFailed > 0 ? `; ${job.rowsFailed} failed integrity` : ''}`,
    );
  }
  return 0;
}
