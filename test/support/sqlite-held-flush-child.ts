/**
 * A process that writes to a SQLite data set until its third disk flush, which it holds forever
 * (the test kills it there with SIGKILL). Each unit writes three rows; the process prints
 * `ack <unit>` when a unit is acknowledged and `held` when the flush is held.
 * Usage: node --import tsx sqlite-held-flush-child.ts <file>
 */
import { openSqliteDatabase, sqliteDefaults } from '../../src/platform/db/sqlite.js';

const file = process.argv[2] as string;
let flushes = 0;
const db = openSqliteDatabase(file, {
  ...sqliteDefaults,
  beforeWalSync: async () => {
    flushes += 1;
    if (flushes < 3) return;
    process.stdout.write('held\n');
    await new Promise(() => undefined);
  },
});
await db.execute('CREATE TABLE items (unit INTEGER NOT NULL, part INTEGER NOT NULL, PRIMARY KEY (unit, part))');
let unit = 0;
// Units keep arriving whatever is acknowledged, so batches commit behind the held flush too.
setInterval(() => {
  for (let n = 0; n < 5; n += 1) {
    const id = (unit += 1);
    void db
      .transaction(async (tx) => {
        for (let part = 0; part < 3; part += 1) await tx.execute('INSERT INTO items (unit, part) VALUES (?, ?)', [id, part]);
      })
      .then(() => process.stdout.write(`ack ${id}\n`));
  }
}, 2);
