import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * A PDF's text as Debian's poppler-utils reads it (`pdftotext -layout`), the reader most
 * patients' tools share. Without /usr/bin/pdftotext such tests are skipped, unless
 * TRESOR_REQUIRE_PDFTOTEXT=1 (set by .ci/run, which installs poppler-utils) makes that a failure.
 */
export const pdftotextPath = '/usr/bin/pdftotext';
const havePdftotext = existsSync(pdftotextPath);
export const skipWithoutPdftotext: false | string =
  havePdftotext || process.env['TRESOR_REQUIRE_PDFTOTEXT'] === '1' ? false : `${pdftotextPath} is missing (apt-get install poppler-utils); TRESOR_REQUIRE_PDFTOTEXT=1 makes this a failure`;

export async function pdfToText(bytes: Uint8Array): Promise<string> {
  if (!havePdftotext) throw new Error(`TRESOR_REQUIRE_PDFTOTEXT=1 but ${pdftotextPath} is missing: install Debian's poppler-utils package`);
  const dir = mkdtempSync(join(tmpdir(), 'tresor-pdf-'));
  try {
    const file = join(dir, 'in.pdf');
    writeFileSync(file, bytes);
    const { stdout } = await promisify(execFile)(pdftotextPath, ['-layout', '-enc', 'UTF-8', file, '-'], { timeout: 30_000 });
    return stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
