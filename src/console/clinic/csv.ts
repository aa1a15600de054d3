/**
 * A CSV cell (RFC 4180: quoted, quotes doubled) that a spreadsheet will not run as a formula:
 * a value starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`
 * (OWASP CSV Injection). The trail holds free text people typed (a break-the-glass reason).
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return `"${safe.replace(/"/g, '""')}"`;
}

/** A CSV line of cells already made by `csvCell` (or constant headers), CRLF-terminated (RFC 4180). */
export const csvLine = (cells: readonly string[]): string => `${cells.join(',')}\r\n`;
