import type { EventRule } from '../types.js';
import { advance, type Window } from './window.js';

const defaults = { repeatCount: 3, repeatDays: 7 };

/**
 * Break-the-glass: every emergency access is an alert for the review queue (someone independent
 * looks at each), and a person who uses it again and again within days raises it to critical.
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
    const window = advance(state, event, config.repeatDays * 24 * 60);
    const repeated = window.count >= config.repeatCount;
    const patients = event.subjects.length === 0 ? 'a record' : event.subjects.join(', ');
    return {
      state: window,
      findings: [
        {
          subject: event.actor.id,
          summary: repeated ? `${event.actor.id} used break-the-glass ${window.count} times within ${config.repeatDays} days (now for ${patients})` : `${event.actor.id} used break-the-glass for ${patients}`,
          ...(repeated ? { severity: 'critical' as const } : {}),
        },
      ],
    };
  },
};
