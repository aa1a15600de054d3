const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/**
 * A byte count as people read it: binary units (IEC 80000-13) with three significant digits —
 * `84 KB` is `82.0 KiB`, not `0.1 MiB` or `0.0 MiB`; below a KiB, whole bytes.
 */
export function humanBytes(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new TypeError(`humanBytes: ${bytes} is not a byte count`);
  if (bytes < 1024) return `${bytes} B`;
  let value = bytes;
  let unit = 0;
  while (unit < units.length - 1 && value >= 1024) {
    value /= 1024;
    unit += 1;
  }
  const digits = value < 10 ? 2 : value < 100 ? 1 : 0;
  // 1,048,575 bytes round up to "1024 KiB": that is 1.00 MiB.
  if (Number(value.toFixed(digits)) >= 1024 && unit < units.length - 1) return `${(value / 1024).toFixed(2)} ${units[unit + 1]}`;
  return `${value.toFixed(digits)} ${units[unit]}`;
}

let grouping: Intl.NumberFormat | undefined;

/** Counts with thousands separators (12,345). The formatter is made at first use: creating one loads ICU data, which a command that prints no count should not wait for. */
export const number = { format: (value: number): string => (grouping ??= new Intl.NumberFormat('en-US')).format(value) };
