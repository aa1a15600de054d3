import type { EventRule, Severity } from '../types.js';

const stages: Readonly<Record<string, { severity: Severity; words: string }>> = {
  'two-thirds': { severity: 'medium', words: 'two thirds of its time have passed' },
  ninety: { severity: 'high', words: '90 % of its time has passed' },
  overdue: { severity: 'critical', words: 'it is overdue' },
};

/**
 * A breach notification deadline nears or has passed (the notification assessment's job records
 * `notification.deadline_near` in the operators' trail and in the tenant's whose duty it is):
 * GDPR Art. 33(1)'s 72 hours, HIPAA 164.404's 60 days and the others. One alert per item and
 * stage — at two thirds, at 90 % and when overdue — louder each time; marking the item done
 * stops further stages. Ids and the provision only: never patients.
 */
export const notificationDeadline: EventRule<undefined, Record<string, never>> = {
  kind: 'event',
  id: 'notification.deadline',
  severity: 'medium',
  title: 'Breach notification deadline',
  describe: 'A duty to notify a breach (the supervisory authority, the patients, HHS, the card brands…) is due soon or overdue, and nobody has marked it done.',
  defaults: {},
  realms: 'all',
  actions: ['notification.deadline_near'],
  evaluate(event) {
    const field = (name: string) => new RegExp(`(?:^| )${name}=(\\S+)`).exec(event.detail)?.[1];
    const incident = field('incident');
    const item = field('item');
    const stage = field('stage');
    const due = field('due');
    const cite = /cite=(.+)$/.exec(event.detail)?.[1] ?? item ?? 'a notification';
    if (incident === undefined || item === undefined || stage === undefined) return {};
    const known = stages[stage] ?? { severity: 'high' as const, words: stage };
    return { findings: [{ subject: `incident:${incident}/${item}/${stage}`, summary: `Incident ${incident}: the notification under ${cite} is due ${due ?? 'soon'} — ${known.words}`, severity: known.severity }] };
  },
};
