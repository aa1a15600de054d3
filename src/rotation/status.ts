import type { KeyCensus, KeyHold, KeyProvider, Keys } from '../keys/index.js';
import type { Rotation } from './rotation.js';
import type { RotationJob } from './store.js';

/**
 * The state of the key hierarchy, never key material: the master key's provider and versions,
 * the master versions kept only for backups, every tenant's key versions (key-encryption,
 * index, data keys live and destroyed), and the rotation jobs (unfinished ones and the last
 * finished per scope). `tresor keys status` and the operator console's keys page show this.
 */
export interface KeyStatus {
  readonly provider: string;
  readonly masterVersions: readonly number[];
  readonly currentMasterVersion: number;
  /** Master versions no stored key uses any more, kept because backups need them. */
  readonly backupsOnly: readonly number[];
  readonly holds: readonly KeyHold[];
  readonly census: readonly KeyCensus[];
  readonly rotations: readonly RotationJob[];
}

export async function keyStatus({ keys, rotation, provider }: { keys: Keys; rotation: Rotation; provider: KeyProvider }): Promise<KeyStatus> {
  const [census, rotations, masterVersions, currentMasterVersion, inUse, holds] = await Promise.all([
    keys.census(),
    rotation.recent(),
    provider.versions(),
    provider.currentVersion(),
    keys.masterVersionsInUse(),
    keys.holds(),
  ]);
  const live = new Set([currentMasterVersion, ...inUse]);
  const backupsOnly = [...new Set(holds.map((h) => h.masterVersion))].filter((v) => !live.has(v)).sort((a, b) => a - b);
  return { provider: provider.name, masterVersions, currentMasterVersion, backupsOnly, holds, census, rotations };
}

/** A job's share done, 0 to 1 (a finished job is done; one with nothing to move has not started). */
export const rotationProgress = (job: RotationJob): number => (job.finishedAt !== undefined ? 1 : job.rowsTotal === 0 ? 0 : Math.min(1, job.rowsDone / job.rowsTotal));
