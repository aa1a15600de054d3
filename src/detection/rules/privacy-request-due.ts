import type { EventRule, Severity } from '../types.js';

const stages: Readonly<Record<string, { severity: Severity; words: string }>> = {
  'two-thirds': { severity: 'medium', words: 'two thirds of its month have passed' },
  overdue: { severity: 'high', words: 'it is overdue' },
};

/**
 * A data subject's request (GDPR Art. 15–21) nears or has passed its due date — one calendar
 * month from receipt, or the extended date (Art. 12(3)) — and is still open: the requests' job
 * records `privacy.request_due` at two thirds of the time and once overdue. One alert per request
 * and stage; completing, rejecting or withdrawing the request stops further stages. Ids, the
 * type and the due date only: never the patient's words.
 */
export const privacyRequestDue: EventRule<undefined, Record<string, never>> = {
  kind: 'event',
  id: 'privacy.request-due',
  severity: 'medium',
  title: 'Data subject request due',
  describe: 'A patient’s request (access, portability, rectification, erasure, restriction, objection) is due soon or overdue and nobody has answered it.',
  defaults: {},
  realms: 'tenants',
  actions: ['privacy.request_due'],
  evaluate(event) {
    const field = (name: string) => new RegExp(`(?:^| )${name}=(\\S+)`).exec(event.detail)?.[1];
    const request = field('request');
    const stage = field('stage');
    const type = field('type') ?? 'data subject';
    if (request === undefined || stage === undefined) return {};
    const known = stages[stage] ?? { severity: 'high' as const, words: stage };
    return { findings: [{ subject: `privacy-request:${request}/${stage}`, summary: `The ${type} request ${request} is due ${field('due') ?? 'soon'} — ${known.words}`, severity: known.severity }] };
  },
};
