import type { EventRule } from '../types.js';
import { advance, type Window } from './window.js';

/**
 * Break-the-glass is for emergencies: one use a week by one person is plausible (the night an
 * unknown patient arrives unconscious); a third within seven days is a habit, and a habit of
 * opening records outside one's care is what the review exists to stop.
 */
const defaults = { repeatCount: 3, repeatDays: 7 };

/**
 * Break-the-glass: every emergency access is an alert pointing to the review queue (someone
 * independent signs each off: ASVS 5 V8.2, separation of duties), and a person who uses it again
 * and again within days raises it to critical. Counted per request: one emergency request that
 * opens several records is one use (the review page signs them off together). The reason the
 * person typed stays in the trail and the review page — it can name a condition, so it never
 * goes into an alert, a mail or a webhook.
 */
export const emergencyAccess: EventRule<Window, typeof defaults> = {
  kind: 'event',
  id: 'access.emergency',
  severity: 'medium',
  title: 'Break-the-glass access',
  describe: 'Someone opened a record outside their normal access with a stated emergency reason. Each use needs an independent review; repeated use by the same person is escalated.',
  defaults,
  realms: 'tenants',
  actions: ['access.emergency_granted'],
  key: (event) => event.actor.id,
  evaluate(event, state, config) {
    // A grant without a request id (none today) counts as a use of its own.
    const window = advance(state, event, config.repeatDays * 24 * 60, event.requestId === '' ? `seq:${event.seq}` : event.requestId, 100);
    const uses = window.distinct.length;
    const repeated = uses >= config.repeatCount;
    const patients = event.subjects.length === 0 ? 'a record' : event.subjects.join(', ');
    const review = `review it at /tenants/${event.tenantId}/console/review/`;
    return {
      state: window,
      findings: [
        {
          subject: event.actor.id,
          summary: repeated ? `${event.actor.id} used break-the-glass ${uses} times within ${config.repeatDays} days (now for ${patients}); ${review}` : `${event.actor.id} used break-the-glass for ${patients}; ${review}`,
          ...(repeated ? { severity: 'critical' as const } : {}),
        },
      ],
    };
  },
};
