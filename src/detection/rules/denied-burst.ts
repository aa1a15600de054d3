import type { DetectionEvent, EventRule } from '../types.js';
import { principalKey, principalOf } from './principal.js';
import { advance, crossed, type Window } from './window.js';

/**
 * A clinician who opens a patient outside their care is refused once or twice and asks for the
 * patient to be booked, or breaks the glass; ten refusals in ten minutes is someone trying door
 * after door (a script with a key of the wrong role, or a person probing).
 */
const defaults = { denials: 10, windowMinutes: 10 };

// A credential used at another tenant has its own rule (access.cross-tenant): not counted twice.
const counted = (event: DetectionEvent) => !event.detail.startsWith('other-tenant ');

/**
 * A burst of refused accesses by one principal: the permission checks hold, but someone keeps
 * trying (OWASP ASVS 5 V16.3.2: failed authorization is logged — and here, watched).
 */
export const deniedBurst: EventRule<Window, typeof defaults> = {
  kind: 'event',
  id: 'access.denied-burst',
  severity: 'medium',
  title: 'Burst of refused accesses',
  describe: 'One person, API key or app was refused access many times within minutes: someone may be probing for records or functions their role does not allow.',
  defaults,
  realms: 'tenants',
  actions: ['access.denied'],
  key: (event) => (counted(event) ? principalKey(event) : undefined),
  evaluate(event, state, config) {
    if (!counted(event)) return {};
    const advanced = advance(state, event, config.windowMinutes);
    const { window, evidence } = crossed(advanced, advanced.count, config.denials, event.seq);
    const { name } = principalOf(event);
    return {
      state: window,
      ...(evidence === undefined ? {} : { findings: [{ subject: name, summary: `${name} (${event.actor.role}) was refused access ${window.count} times within ${config.windowMinutes} minutes`, evidence }] }),
    };
  },
};
