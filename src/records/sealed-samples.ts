import { KeyError, type Keys } from '../keys/index.js';
import type { SqlExecutor } from '../platform/db/index.js';
import { openResource } from './sealing.js';

/** How many stored versions of one key generation are tried before it counts as erased (every one shredded). */
const triesPerGeneration = 25;

export interface SealedSampleReport {
  /** Key generations with at least one stored version opened. */
  readonly opened: readonly number[];
  /** Generations whose every tried version belongs to an erased subject (unreadable by design). */
  readonly erased: readonly number[];
  /** One line per generation that did not open, with the reason (key ids and versions, never content). */
  readonly failures: readonly string[];
}

/**
 * Proves a tenant data set readable with the given keys (a restored copy's key store and this
 * deployment's master key): for every data key generation its stored versions use, one sealed
 * version is opened in full, AAD and tags checked, and the plaintext dropped at once. A
 * generation all of whose tried versions belong to erased subjects is reported as erased, not
 * as a failure: crypto-shredding makes them unreadable on purpose.
 */
export async function openSealedSamples(db: SqlExecutor, tenantId: string, keys: Keys): Promise<SealedSampleReport> {
  const generations = await db.query<{ v: number }>(
    // Every version, the current one included, is in resource_versions.
    `SELECT DISTINCT key_version AS v FROM ${db.table('resource_versions')} WHERE sealed IS NOT NULL ORDER BY 1`,
  );
  const opened: number[] = [];
  const erased: number[] = [];
  const failures: string[] = [];
  for (const { v } of generations) {
    const generation = Number(v);
    const rows = await db.query<{ resource_type: string; id: string; version_id: number; sealed: string; key_id: string }>(
      `SELECT resource_type, id, version_id, sealed, key_id FROM ${db.table('resource_versions')} WHERE key_version = ? AND sealed IS NOT NULL ORDER BY resource_type, id, version_id LIMIT ?`,
      [generation, triesPerGeneration],
    );
    let outcome: 'opened' | 'erased' | string = 'erased';
    for (const row of rows) {
      const context = { tenantId, type: row.resource_type, id: row.id, versionId: Number(row.version_id) };
      try {
        await openResource(context, { plain: '{}', sealed: row.sealed }, (keyId, version) => keys.dataKey(tenantId, keyId, version));
        outcome = 'opened';
        break;
      } catch (error) {
        if (error instanceof KeyError && error.code === 'key-shredded') continue;
        const why = error instanceof KeyError ? `${error.code}: ${error.message}` : 'the key did not open';
        outcome = `data key ${row.key_id}.${generation} (${row.resource_type}/${row.id}/_history/${row.version_id}): ${why}`;
        break;
      }
    }
    if (outcome === 'opened') opened.push(generation);
    else if (outcome === 'erased') erased.push(generation);
    else failures.push(`generation ${generation}: ${outcome}`);
  }
  return { opened, erased, failures };
}
