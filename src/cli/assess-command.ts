import type { Core } from '../app.js';
import type { FrozenScopes, IncidentCaller, Incidents } from '../incidents/index.js';
import { assessmentJson, countdown, NotificationError, type AssessmentView } from '../notification/index.js';
import { systemClock } from '../platform/clock.js';
import type { Config } from '../config/index.js';
import type { CliIo, CliValues } from './io.js';
import { notificationServices } from './notification-services.js';
import { formatTable } from './table.js';

const iso = (ms: number | null) => (ms === null ? '' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));

/** The checklist as text: one row per item, then each item's reasons. */
export function printAssessment(io: CliIo, view: AssessmentView, now: number): void {
  io.stdout(`incident ${view.incidentId}: assessed from scope ${view.scopeId} (hash ${view.scopeHash.slice(0, 12)}) by ${view.computedBy} at ${iso(view.computedAt)}`);
  io.stdout(`aware since ${iso(view.awareAt)}${view.awareness === null ? ' (when the incident says)' : ` (set by ${view.awareness.by}: ${view.awareness.reason})`}; platform role ${view.role}; regimes ${view.regimes.join(', ')}`);
  if (view.changed.length > 0) io.stdout(`changed since the previous computation: ${view.changed.join(', ')}`);
  io.stdout('');
  const rows = view.items.map((item) => {
    const answer = item.override === null ? item.answer : `${item.effective} (computed ${item.answer})`;
    const due = item.done !== null ? `done ${iso(item.done.at)}` : item.dueAt === null ? item.deadline.wording : `${iso(item.dueAt)}, ${countdown(item.dueAt, now)}`;
    return [item.key, item.cite, answer, due];
  });
  io.stdout(formatTable(['item', 'rule', 'answer', 'due'], rows).join('\n'));
  for (const item of view.items) {
    io.stdout('');
    io.stdout(`${item.key} — ${item.question}`);
    io.stdout(`  ${item.reasoning}`);
    io.stdout(`  notify: ${item.notify}`);
    if (item.override !== null) io.stdout(`  overridden by ${item.override.by} at ${iso(item.override.at)}: ${item.override.reason}`);
    if (item.done !== null) io.stdout(`  done by ${item.done.by}: ${item.done.how}`);
  }
}

/**
 * `tresor incident assess <id> [--scope ID] [--json]`: the incident's notification checklist.
 * Computed first (from the named frozen scope, else the newest) when `--scope` is given or the
 * incident has none yet, then printed; audited as the API's (notification.assessed, by the
 * operating-system account).
 */
export async function assessCommand(io: CliIo, core: Core, config: Config, incidents: Incidents, scopes: FrozenScopes, caller: IncidentCaller, id: string, values: CliValues): Promise<number> {
  const { assessments } = notificationServices(core, config, incidents, scopes);
  const scopeId = typeof values['scope'] === 'string' ? values['scope'] : undefined;
  let view: AssessmentView | undefined;
  if (scopeId === undefined) {
    try {
      view = await assessments.get(caller, id);
    } catch (error) {
      if (!(error instanceof NotificationError && error.code === 'assessment-not-found')) throw error;
    }
  }
  view ??= await assessments.compute(caller, id, scopeId);
  if (values['json'] === true) io.stdout(JSON.stringify(assessmentJson(view), null, 2));
  else printAssessment(io, view, systemClock.now().getTime());
  return 0;
}
