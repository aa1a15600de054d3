import type { CliIo } from './io.js';
import { fieldEncryptionEnforced, platformRegister, registerRows, registerVersion } from '../records/index.js';

/** `tresor register`: every stored field, its data class and the protection the class requires. */
export function printRegister(io: CliIo, asJson: boolean): void {
  const rows = registerRows();
  if (asJson) {
    io.stdout(JSON.stringify({ version: registerVersion, fieldEncryptionEnforced, fields: rows, platform: platformRegister }, null, 2));
    return;
  }
  io.stdout(`Tresor data register, version ${registerVersion}: each field, its class, and the protection the class requires.`);
  if (!fieldEncryptionEnforced) io.stdout('NOTE: per-field encryption and blind indexes are not enforced on stored records yet; records are stored in clear.');
  const platformLabels = platformRegister.map((r) => `${r.store}: ${r.field}`);
  const width = Math.max(...rows.map((r) => r.field.length), ...platformLabels.map((l) => l.length)) + 2;
  io.stdout(`${'field'.padEnd(width)}${'class'.padEnd(10)}required protection`);
  for (const row of rows) io.stdout(`${row.field.padEnd(width)}${row.class.padEnd(10)}${row.protection}`);
  io.stdout('');
  platformRegister.forEach((row, i) => io.stdout(`${(platformLabels[i] as string).padEnd(width)}${row.class.padEnd(10)}${row.note}`));
}
