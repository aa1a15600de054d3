import Database from 'better-sqlite3';
const db = new Database(process.argv[2]!); db.pragma('journal_mode = WAL'); db.pragma('synchronous = FULL');
const t0 = performance.now(); let rows = 0;
for (const table of ['resources', 'resource_versions']) {
  const pk = table === 'resources' ? 'resource_type, id' : 'resource_type, id, version_id';
  let cur: any[] = table === 'resources' ? ['', ''] : ['', '', 0];
  const sel = db.prepare(`SELECT resource_type, id, version_id, sealed, key_id FROM ${table} WHERE (${pk}) > (${cur.map(() => '?').join(',')}) AND sealed IS NOT NULL ORDER BY ${pk} LIMIT 500`);
  for (;;) {
    const batch = sel.all(...cur) as any[];
    if (batch.length === 0) break;
    const upd = new Map<number, any>();
    db.transaction(() => {
      for (let at = 0; at < batch.length; at += 100) {
        const part = batch.slice(at, at + 100);
        let st = upd.get(part.length);
        if (!st) { st = db.prepare(`UPDATE ${table} SET sealed = v.column5, key_id = v.column6, key_version = v.column7 FROM (VALUES ${part.map(() => '(?,?,?,?,?,?,?)').join(',')}) AS v WHERE ${table}.resource_type = v.column1 AND ${table}.id = v.column2 AND ${table}.version_id = v.column3 AND ${table}.sealed = v.column4`); upd.set(part.length, st); }
        st.run(...part.flatMap((r) => [r.resource_type, r.id, r.version_id, r.sealed, r.sealed, r.key_id, 3]));
      }
    })();
    rows += batch.length;
    const last = batch[batch.length - 1];
    cur = table === 'resources' ? [last.resource_type, last.id] : [last.resource_type, last.id, last.version_id];
  }
}
const s = (performance.now() - t0) / 1000;
console.log('raw rows', rows, 's', s.toFixed(2), 'rows/s', Math.round(rows / s));
