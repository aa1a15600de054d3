import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The version of a drill report's shape. */
export const drillFormat = 'tresor-incident-drill/1';

/** One step of a drill as it ran: `skipped` when this version has nothing to run there (the reason says why). */
export interface DrillStep {
  readonly name: string;
  readonly ok: boolean;
  readonly seconds: number;
  readonly detail?: string;
  readonly skipped?: string;
}

/**
 * What a drill did and how long each step took, kept one JSON line per drill in
 * `<dataDir>/incident-drills.jsonl` (like the restore drills' `backup-drills.jsonl`): the
 * evidence that the notification procedure was tested (HIPAA 45 CFR 164.308(a)(6) and (a)(7)(ii)(D):
 * procedures tested; PCI DSS 12.10.2: the response plan tested at least once every 12 months).
 * Counts and ids only: the drill's people are synthetic, and their names stay out of it anyway.
 */
export interface DrillReport {
  readonly format: typeof drillFormat;
  /** ISO 8601, when the drill started. */
  readonly at: string;
  readonly ok: boolean;
  /** The step that failed (the drill stops there), when one did. */
  readonly failedStep?: string;
  readonly error?: string;
  readonly steps: readonly DrillStep[];
  readonly totalSeconds: number;
  readonly tenants: readonly string[];
  readonly incidentId?: string;
  readonly scopeHash?: string;
  readonly counts: {
    /** Patients the simulated attacker received in clear, by the drill's own log. */
    readonly patientsRead: number;
    /** Patients the frozen scope names. */
    readonly patientsFound: number;
    readonly peopleResolved: number;
  };
}

export const drillReportFileOf = (dataDir: string): string => join(dataDir, 'incident-drills.jsonl');

/** Appends a report (the directory and file readable by the service account only). */
export function appendDrillReport(file: string, report: DrillReport): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  appendFileSync(file, `${JSON.stringify(report)}\n`, { mode: 0o600 });
}

/** The newest report in the file and the newest that passed (one drill a quarter: the file stays small). */
export function readLastDrills(file: string): { readonly last?: DrillReport; readonly lastPassed?: DrillReport } {
  if (!existsSync(file)) return {};
  const reports = readFileSync(file, 'utf8')
    .split('\n')
    .flatMap((line) => {
      if (line.trim() === '') return [];
      try {
        const report = JSON.parse(line) as DrillReport;
        return report.format === drillFormat ? [report] : [];
      } catch {
        return [];
      }
    });
  const last = reports.at(-1);
  const lastPassed = reports.filter((r) => r.ok).at(-1);
  return { ...(last === undefined ? {} : { last }), ...(lastPassed === undefined ? {} : { lastPassed }) };
}
