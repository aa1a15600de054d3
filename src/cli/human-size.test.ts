import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { humanBytes } from './human-size.js';

describe('humanBytes', () => {
  it('says how much in binary units with three significant digits, never "0.0 MiB" for something', () => {
    const cases: Array<[number, string]> = [
      [0, '0 B'],
      [1, '1 B'],
      [1023, '1023 B'],
      [1024, '1.00 KiB'],
      [84_000, '82.0 KiB'],
      [1_048_575, '1.00 MiB'],
      [1_572_864, '1.50 MiB'],
      [104_857_600, '100 MiB'],
      [862_978_048, '823 MiB'],
      [1_073_741_824, '1.00 GiB'],
      [5 * 1024 ** 4, '5.00 TiB'],
    ];
    for (const [bytes, text] of cases) assert.equal(humanBytes(bytes), text, `${bytes} bytes`);
  });

  it('refuses what is not a byte count', () => {
    for (const bad of [-1, Number.NaN, 1.5, Infinity]) assert.throws(() => humanBytes(bad), TypeError, String(bad));
  });
});
