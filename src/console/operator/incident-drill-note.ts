import type { DrillReport } from '../../notification/index.js';
import { formatDateTime, html, type Html, type Locale, type Texts } from '../../platform/pages/index.js';

type Key = 'heading' | 'never' | 'passed' | 'failed' | 'lastPassed' | 'run';

const text: Texts<Key> = {
  en: {
    heading: 'Notification drill',
    never: 'No notification drill has run yet.',
    passed: 'The last notification drill passed',
    failed: 'The last notification drill failed at',
    lastPassed: 'Last passed',
    run: 'Run one on the host: tresor incident drill.',
  },
  de: {
    heading: 'Meldeübung',
    never: 'Es wurde noch keine Meldeübung durchgeführt.',
    passed: 'Die letzte Meldeübung war erfolgreich',
    failed: 'Die letzte Meldeübung scheiterte bei',
    lastPassed: 'Zuletzt erfolgreich',
    run: 'Auf dem Server starten: tresor incident drill.',
  },
};

const time = (locale: Locale, at: string): Html => html`<time datetime="${at}">${formatDateTime(locale, at)}</time>`;

/** The incident list's line on the last drill: when it ran, whether it passed, which step failed. */
export function incidentDrillNote(locale: Locale, drills: { readonly last?: DrillReport; readonly lastPassed?: DrillReport }): Html {
  const t = text[locale];
  const { last, lastPassed } = drills;
  const body =
    last === undefined
      ? html`${t.never} ${t.run}`
      : last.ok
        ? html`${t.passed}: ${time(locale, last.at)} (${last.totalSeconds.toFixed(1)} s).`
        : html`<strong>${t.failed} <q>${last.failedStep ?? ''}</q></strong>: ${time(locale, last.at)}.${lastPassed === undefined ? undefined : html` ${t.lastPassed}: ${time(locale, lastPassed.at)}.`} ${t.run}`;
  return html`<section aria-labelledby="drill-heading"><h2 id="drill-heading">${t.heading}</h2><p role="status">${body}</p></section>`;
}
