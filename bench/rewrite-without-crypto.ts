/** The rotation baseline shared by `npm run bench` and bench/rotation.ts. */
import { performance } from 'node:perf_hooks';
import type { SqlDatabase } from '../src/platform/db/index.js';

/**
 * The rotation baseline: every sealed row of both tables read in key order, 500 at a time, and
 * written back unchanged with the same UPDATE … FROM VALUES statement shape the job uses.
 */
export async function rewriteWithoutCrypto(db: SqlDatabase): Promise<{ rows: number; seconds: number }> {
  const started = performance.now();
  let rows = 0;
  const pg = db.dialect === 'postgres';
  for (const table of ['resources', 'resource_versions'] as const) {
    const name = db.table(table);
    let cursor: [string, string, number] = ['', '', 0];
    for (;;) {
      const batch = await db.query<{ resource_type: string; id: string; version_id: number; sealed: string; key_id: string; key_version: number }>(
        table === 'resources'
          ? `SELECT resource_type, id, version_id, sealed, key_id, key_version FROM ${name} WHERE (resource_type, id) > (?, ?) AND sealed IS NOT NULL ORDER BY resource_type, id LIMIT 500`
          : `SELECT resource_type, id, version_id, sealed, key_id, key_version FROM ${name} WHERE (resource_type, id, version_id) > (?, ?, ?) AND sealed IS NOT NULL ORDER BY resource_type, id, version_id LIMIT 500`,
        table === 'resources' ? cursor.slice(0, 2) : cursor,
      );
      if (batch.length === 0) break;
      await db.transaction(async (tx) => {
        for (let at = 0; at < batch.length; at += 100) {
          const part = batch.slice(at, at + 100);
          const first = pg ? '(?::text, ?::text, ?::integer, ?::text, ?::text, ?::text, ?::integer)' : '(?, ?, ?, ?, ?, ?, ?)';
          const values = [first, ...part.slice(1).map(() => '(?, ?, ?, ?, ?, ?, ?)')].join(', ');
          const [t, i, n, o, sealed, k, kv] = pg ? ['v.t', 'v.i', 'v.n', 'v.o', 'v.s', 'v.k', 'v.kv'] : ['v.column1', 'v.column2', 'v.column3', 'v.column4', 'v.column5', 'v.column6', 'v.column7'];
          await tx.execute(
            `UPDATE ${name} SET sealed = ${sealed}, key_id = ${k}, key_version = ${kv} FROM (VALUES ${values}) AS ${pg ? 'v(t, i, n, o, s, k, kv)' : 'v'} WHERE ${name}.resource_type = ${t} AND ${name}.id = ${i} AND ${name}.version_id = ${n} AND ${name}.sealed = ${o}`,
            part.flatMap((r) => [r.resource_type, r.id, r.version_id, r.sealed, r.sealed, r.key_id, r.key_version]),
          );
        }
      });
      rows += batch.length;
      const last = batch[batch.length - 1] as (typeof batch)[number];
      cursor = [last.resource_type, last.id, Number(last.version_id)];
    }
  }
  return { rows, seconds: (performance.now() - started) / 1000 };
}

