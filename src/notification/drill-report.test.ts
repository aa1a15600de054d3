import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { appendDrillReport, drillFormat, drillReportFileOf, readLastDrills, type DrillReport } from './drill-report.js';

const report = (at: string, ok: boolean): DrillReport => ({ format: drillFormat, at, ok, steps: [], totalSeconds: 1, tenants: [], counts: { patientsRead: 0, patientsFound: 0, peopleResolved: 0 } });

describe('incident drill reports', () => {
  it('keeps one line per drill; the last and the last passed are read back, broken lines skipped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drill-report-'));
    try {
      const file = drillReportFileOf(join(dir, 'data'));
      assert.deepEqual(readLastDrills(file), {});
      appendDrillReport(file, report('2026-01-01T00:00:00.000Z', true));
      appendDrillReport(file, report('2026-04-01T00:00:00.000Z', false));
      appendFileSync(file, '{"format":"something-else/1"}\nnot json\n');
      const { last, lastPassed } = readLastDrills(file);
      assert.equal(last?.at, '2026-04-01T00:00:00.000Z');
      assert.equal(last?.ok, false);
      assert.equal(lastPassed?.at, '2026-01-01T00:00:00.000Z');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
