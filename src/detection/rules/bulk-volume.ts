import type { EventRule } from '../types.js';
import { principalKey, principalOf } from './principal.js';
import { advance, crossed, type Window } from './window.js';

/**
 * A person's searches in a clinic return a page at a time (20 by default, at most 1000): a busy
 * hour is a few hundred resources. 2000 in an hour is a register being pulled out. Service keys
 * and apps' service tokens synchronise in bulk by design: they get their own, higher ceiling.
 */
const defaults = {
  windowMinutes: 60,
  /** Fires at this many resources returned by searches and exports in a window. */
  resources: 2000,
  /** Roles (`actor.role`) of machines, held to `serviceResources` instead. */
  serviceRoles: ['service', 'service-reader'] as readonly string[],
  serviceResources: 100_000,
};

/**
 * Bulk volume: one principal pulling out a great many resources through searches and exports
 * within an hour — an exfiltration's shape even when the patients are few (every observation
 * of a few). The count is the resources each search or export returned (its event's
 * `resources`), never what they hold.
 */
export const bulkVolume: EventRule<Window, typeof defaults> = {
  kind: 'event',
  id: 'access.bulk-volume',
  severity: 'high',
  title: 'Bulk search or export volume',
  describe: 'One person, API key or app received an unusually large number of records from searches or exports within an hour: the data may be being copied out of the vault.',
  defaults,
  realms: 'tenants',
  actions: ['record.searched', 'record.exported'],
  key: (event) => (event.outcome === 'success' && event.resources.length > 0 ? principalKey(event) : undefined),
  evaluate(event, state, config) {
    const returned = event.resources.length;
    if (event.outcome !== 'success' || returned === 0) return {};
    // The window counts resources, not events: one search of 1000 weighs 1000.
    const advanced = advance(state, event, config.windowMinutes);
    const summed = { ...advanced, count: advanced.count - 1 + returned };
    const limit = config.serviceRoles.includes(event.actor.role) ? config.serviceResources : config.resources;
    const { window, evidence } = crossed(summed, summed.count, limit, event.seq);
    const { name } = principalOf(event);
    return {
      state: window,
      ...(evidence === undefined ? {} : { findings: [{ subject: name, summary: `${name} (${event.actor.role}) received ${window.count} resources from searches and exports within ${config.windowMinutes} minutes (limit ${limit})`, evidence }] }),
    };
  },
};
