import { verify as verifySignature, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Signer } from '../keys/index.js';

/**
 * Signed checkpoints of each tenant's chain (size and head hash), appended to a log outside the
 * tenant's database: `<checkpointDir>/<tenant>.jsonl`, one JSON line each, fsynced. Signed with
 * Ed25519 under a key that lives, wrapped by the master key, in the key store: someone who can
 * edit the database can neither forge a checkpoint nor make the chain disagree with one
 * unnoticed, and cutting the chain's tail is caught up to the last checkpoint.
 */
export interface Checkpoint {
  /**
   * `checkpoint`: the chain had `seq` events, the last with hash `hash`. `cut`: events 1…`seq`
   * were deleted under the retention policy (`tresor audit prune`); the chain goes on from `hash`.
   * `restore`: the tenant's data set was replaced by backup `snapshot`, whose chain ends at
   * `seq` with `hash`; the chain goes on from there (see history.ts for what it discards).
   */
  readonly format: CheckpointFormat;
  readonly tenant: string;
  readonly seq: number;
  readonly hash: string;
  readonly at: string;
  /** Signing key version. */
  readonly key: number;
  /** Restore lines only: the snapshot id. */
  readonly snapshot?: string;
  /**
   * Restore lines only: the history the snapshot was taken in — 0 the log's first one, k the one
   * the k-th restore line of this log began (normally the one just before this line).
   */
  readonly parent?: number;
  readonly sig: string;
}

export type CheckpointFormat = 'tresor-audit-checkpoint/1' | 'tresor-audit-cut/1' | 'tresor-audit-restore/1';
const formats: readonly string[] = ['tresor-audit-checkpoint/1', 'tresor-audit-cut/1', 'tresor-audit-restore/1'] satisfies CheckpointFormat[];

/** Snapshot ids as the backup module makes them; nothing that could run into the next field of the signed text. */
export const snapshotIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

// Checkpoints and cuts sign the same six fields as ever; restore lines add snapshot and parent.
const signedText = (c: Omit<Checkpoint, 'sig'>) => {
  const text = `${c.format}|${c.tenant}|${c.seq}|${c.hash}|${c.at}|${c.key}`;
  return c.format === 'tresor-audit-restore/1' ? `${text}|${c.snapshot ?? ''}|${c.parent ?? ''}` : text;
};

export const checkpointFile = (dir: string, tenantId: string) => join(dir, `${tenantId}.jsonl`);

export async function appendCheckpoint(
  dir: string,
  signer: Signer,
  tenantId: string,
  head: { seq: number; hash: string },
  at: Date,
  format: CheckpointFormat = 'tresor-audit-checkpoint/1',
  restore?: { readonly snapshot: string; readonly parent: number },
): Promise<Checkpoint> {
  if ((format === 'tresor-audit-restore/1') !== (restore !== undefined)) throw new TypeError('a restore line, and only a restore line, names its snapshot and parent');
  if (restore !== undefined && (!snapshotIdPattern.test(restore.snapshot) || !Number.isInteger(restore.parent) || restore.parent < 0)) throw new TypeError('invalid snapshot id or parent history');
  const unsigned = { format, tenant: tenantId, seq: head.seq, hash: head.hash, at: at.toISOString(), key: signer.version, ...restore };
  const checkpoint: Checkpoint = { ...unsigned, sig: signer.sign(signedText(unsigned)) };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = await open(checkpointFile(dir, tenantId), 'a', 0o600);
  try {
    await file.appendFile(`${JSON.stringify(checkpoint)}\n`);
    await file.datasync();
  } finally {
    await file.close();
  }
  return checkpoint;
}

export type CheckedCheckpoint = { readonly line: number; readonly checkpoint: Checkpoint; readonly valid: true } | { readonly line: number; readonly valid: false; readonly reason: string };

/** Reads a tenant's checkpoint log and checks every signature. */
export async function readCheckpoints(dir: string, tenantId: string, publicKey: (version: number) => Promise<KeyObject | undefined>): Promise<CheckedCheckpoint[]> {
  const file = checkpointFile(dir, tenantId);
  if (!existsSync(file)) return [];
  const out: CheckedCheckpoint[] = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  for (const [index, text] of lines.entries()) {
    if (text.trim() === '') continue;
    const line = index + 1;
    let parsed: Checkpoint;
    try {
      parsed = JSON.parse(text) as Checkpoint;
    } catch {
      out.push({ line, valid: false, reason: 'not JSON' });
      continue;
    }
    if (parsed === null || typeof parsed !== 'object' || !formats.includes(parsed.format) || parsed.tenant !== tenantId || !Number.isInteger(parsed.seq) || typeof parsed.hash !== 'string' || typeof parsed.sig !== 'string') {
      out.push({ line, valid: false, reason: 'not a checkpoint of this tenant' });
      continue;
    }
    const restore = parsed.format === 'tresor-audit-restore/1';
    const wellFormed = restore
      ? typeof parsed.snapshot === 'string' && snapshotIdPattern.test(parsed.snapshot) && Number.isInteger(parsed.parent) && (parsed.parent as number) >= 0
      : parsed.snapshot === undefined && parsed.parent === undefined;
    if (!wellFormed) {
      out.push({ line, valid: false, reason: restore ? 'a restore line without a valid snapshot id and parent history' : 'not a checkpoint of this tenant' });
      continue;
    }
    const key = await publicKey(parsed.key);
    const { sig, ...unsigned } = parsed;
    if (key === undefined || !verifySignature(null, Buffer.from(signedText(unsigned), 'utf8'), key, Buffer.from(sig, 'base64url'))) {
      out.push({ line, valid: false, reason: 'signature does not verify' });
      continue;
    }
    out.push({ line, checkpoint: parsed, valid: true });
  }
  return out;
}
