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
   */
  readonly format: 'tresor-audit-checkpoint/1' | 'tresor-audit-cut/1';
  readonly tenant: string;
  readonly seq: number;
  readonly hash: string;
  readonly at: string;
  /** Signing key version. */
  readonly key: number;
  readonly sig: string;
}

const signedText = (c: Omit<Checkpoint, 'sig'>) => `${c.format}|${c.tenant}|${c.seq}|${c.hash}|${c.at}|${c.key}`;

export const checkpointFile = (dir: string, tenantId: string) => join(dir, `${tenantId}.jsonl`);

export async function appendCheckpoint(dir: string, signer: Signer, tenantId: string, head: { seq: number; hash: string }, at: Date, format: Checkpoint['format'] = 'tresor-audit-checkpoint/1'): Promise<Checkpoint> {
  const unsigned = { format, tenant: tenantId, seq: head.seq, hash: head.hash, at: at.toISOString(), key: signer.version };
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
    if ((parsed.format !== 'tresor-audit-checkpoint/1' && parsed.format !== 'tresor-audit-cut/1') || parsed.tenant !== tenantId || !Number.isInteger(parsed.seq) || typeof parsed.hash !== 'string' || typeof parsed.sig !== 'string') {
      out.push({ line, valid: false, reason: 'not a checkpoint of this tenant' });
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
