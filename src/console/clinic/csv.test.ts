import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { csvCell, csvLine } from './csv.js';

describe('CSV cells of the audit export', () => {
  it('defuses formulas (OWASP CSV Injection) and quotes every cell (RFC 4180)', () => {
    assert.equal(csvCell('=HYPERLINK("http://evil.example")'), `"'=HYPERLINK(""http://evil.example"")"`);
    for (const lead of ['+', '-', '@', '\t', '\r']) assert.ok(csvCell(`${lead}1`).startsWith(`"'${lead}`), `a cell starting with ${JSON.stringify(lead)}`);
    assert.equal(csvCell('account:abc'), '"account:abc"');
    assert.equal(csvCell('a,b\nc'), '"a,b\nc"');
    assert.equal(csvLine(['"a"', '"b"']), '"a","b"\r\n');
  });
});
