import { statSync } from 'node:fs';
import type { Registry } from 'prom-client';
import { measuredGauge } from '../platform/measured-gauge.js';
import { readLastDrills, type DrillReport } from './drill-report.js';

/**
 * The last incident drill in /metrics, read from the report file at each scrape (a drill run by
 * `tresor incident drill` from cron shows here as well as one the server ran):
 * `tresor_incident_drill_last_timestamp_seconds`, `…_last_success` (1/0),
 * `…_last_success_timestamp_seconds` and `…_last_duration_seconds`. Never measured: left out,
 * not 0 ("last passed in 1970" would be a wrong answer where there is none).
 */
export function registerIncidentDrillMetrics(registry: Registry, reportFile: string): void {
  const seconds = (report: DrillReport | undefined) => (report === undefined ? undefined : Date.parse(report.at) / 1000);
  // Read from the data directory's file (every server process reports the same value), once per
  // change of the file rather than once per gauge and scrape.
  let seen: { stamp: string; drills: ReturnType<typeof readLastDrills> } | undefined;
  const drills = () => {
    const stat = statSync(reportFile, { throwIfNoEntry: false });
    const stamp = stat === undefined ? '' : `${stat.ino}/${stat.size}/${stat.mtimeMs}`;
    if (seen?.stamp !== stamp) seen = { stamp, drills: readLastDrills(reportFile) };
    return seen.drills;
  };
  const gauge = (name: string, help: string, value: (drills: ReturnType<typeof readLastDrills>) => number | undefined) => measuredGauge(registry, name, help, () => value(drills()));
  gauge('tresor_incident_drill_last_timestamp_seconds', 'When the last incident notification drill ran', (d) => seconds(d.last));
  gauge('tresor_incident_drill_last_success', '1 when the last incident notification drill passed, 0 when it failed', (d) => (d.last === undefined ? undefined : d.last.ok ? 1 : 0));
  gauge('tresor_incident_drill_last_success_timestamp_seconds', 'When an incident notification drill last passed', (d) => seconds(d.lastPassed));
  gauge('tresor_incident_drill_last_duration_seconds', 'Seconds the last incident notification drill took, every step together', (d) => d.last?.totalSeconds);
}
