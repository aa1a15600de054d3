import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import type { Rule } from '../detection/index.js';
import { html, layout, localeOf, markdownTitle, renderMarkdown, safeHref, sendPage, type Texts } from '../platform/pages/index.js';

/**
 * The runbooks, as the install ships them: `docs/runbooks/<rule id>.md`, found relative to this
 * module — `src/console/` under tsx and `dist/console/` once built are both two levels below the
 * package, and package.json `files` ships `docs/runbooks` beside `dist`.
 */
export const runbookDirectory = new URL('../../docs/runbooks/', import.meta.url);

const text: Texts<'title' | 'intro' | 'rule' | 'severity' | 'what' | 'missing' | 'missingText' | 'all' | 'low' | 'medium' | 'high' | 'critical'> = {
  en: {
    title: 'Runbooks', intro: 'One runbook per detection rule: what an alert means, how to tell whether it is real, how to contain it and how to close it. Every alert and its mail link here.',
    rule: 'Rule', severity: 'Severity', what: 'What it detects', missing: 'No such runbook', missingText: 'There is no runbook by that name. The index lists every rule.', all: 'All runbooks',
    low: 'low', medium: 'medium', high: 'high', critical: 'critical',
  },
  de: {
    title: 'Handlungsanleitungen', intro: 'Eine Anleitung je Erkennungsregel: was eine Warnmeldung bedeutet, wie man erkennt, ob sie echt ist, wie man eindämmt und wie man abschließt. Jede Warnmeldung und ihre E-Mail verweisen hierher. Die Anleitungen selbst sind auf Englisch.',
    rule: 'Regel', severity: 'Schweregrad', what: 'Was sie erkennt', missing: 'Keine solche Anleitung', missingText: 'Unter diesem Namen gibt es keine Anleitung. Die Übersicht nennt jede Regel.', all: 'Alle Anleitungen',
    low: 'niedrig', medium: 'mittel', high: 'hoch', critical: 'kritisch',
  },
};

/** A link in a runbook: another runbook (`<id>.md`) becomes its page; web addresses, site paths and anchors stay. */
const runbookLink = (target: string): string | undefined => {
  const sibling = /^(?:\.\/)?([a-z][a-z0-9-]*(?:\.[a-z0-9-]+)+)\.md(#[\w-]+)?$/.exec(target);
  if (sibling !== null) return `/runbooks/${sibling[1] as string}${sibling[2] ?? ''}`;
  return safeHref(target);
};

/**
 * `GET /runbooks/` (every rule with its runbook) and `GET /runbooks/<rule id>` (the runbook as
 * a page in the layout). Public: a runbook is operating instructions and holds no secret, and
 * the person an alert mail reaches may not be signed in. Only a rule's id opens a file — the id
 * is looked up in the table of rules, never joined into a path as given — and an unknown id is
 * a 404 page.
 */
export function runbookPages({ rules, directory = runbookDirectory }: { rules: readonly Rule[]; directory?: URL }) {
  const rendered = new Map<string, { title: string; body: ReturnType<typeof renderMarkdown> }>();
  async function runbook(rule: Rule) {
    const cached = rendered.get(rule.id);
    if (cached !== undefined) return cached;
    const source = await readFile(new URL(`${rule.id}.md`, directory), 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (source === undefined) return undefined;
    const page = { title: markdownTitle(source) ?? rule.title, body: renderMarkdown(source, { skipTitle: true, link: runbookLink }) };
    rendered.set(rule.id, page);
    return page;
  }

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/runbooks/', async (request, reply) => {
      const locale = localeOf(request);
      const t = text[locale];
      const body = html`<p>${t.intro}</p>
<table><caption>${t.title}</caption><thead><tr><th scope="col">${t.rule}</th><th scope="col">${t.severity}</th><th scope="col">${t.what}</th></tr></thead>
<tbody>${rules.map((r) => html`<tr><th scope="row"><a href="/runbooks/${r.id}" hreflang="en">${r.title}</a><br><code>${r.id}</code></th><td>${t[r.severity]}</td><td>${r.describe}</td></tr>`)}</tbody></table>`;
      return sendPage(reply, layout({ locale, title: t.title, path: request.url, body, wide: true }));
    });
    app.get('/runbooks', async (_request, reply) => reply.status(301).header('location', '/runbooks/').send());

    app.get('/runbooks/:id', async (request, reply) => {
      const locale = localeOf(request);
      const t = text[locale];
      const { id } = request.params as { id: string };
      const rule = rules.find((r) => r.id === id);
      const page = rule === undefined ? undefined : await runbook(rule);
      if (page === undefined) {
        return sendPage(reply, layout({ locale, title: t.missing, path: request.url, body: html`<p>${t.missingText}</p><p><a href="/runbooks/">${t.all}</a></p>` }), 404);
      }
      // The runbooks are written in English; the page says so to screen readers (WCAG 2.2, 3.1.2).
      return sendPage(reply, layout({ locale, title: page.title, path: request.url, body: html`<p><a href="/runbooks/">${t.all}</a></p><div lang="en">${page.body}</div>` }));
    });
  };
}
