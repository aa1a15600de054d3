import type { AuditAction } from '../../audit/index.js';
import type { DetectionEvent, EventRule } from '../types.js';
import { networkOf } from './network-of.js';

// Staff sign in from the practice and from home; an integration calls from one server. Twenty
// networks per credential cover a person's usual places with room to spare. IPv4 addresses are
// compared whole; IPv6 by their /64 (a device's temporary addresses change daily within it).
// Patients sign in from home, phones and mobile networks whose addresses change all the time:
// their new places are normal and would bury the staff's, so patients are left out by default.
const defaults = { addressesKept: 20, ipv4PrefixBits: 32, ipv6PrefixBits: 64, ignoreRoles: ['patient'] as readonly string[] };

export interface KnownSources {
  /** The credential's networks, most recently used first, at most `addressesKept`. */
  readonly networks: readonly string[];
}

/** Where a credential acts: a person's sign-in, and every request an API key or an app's token makes. */
const actions: readonly AuditAction[] = [
  'auth.login_succeeded',
  'token.issued',
  'token.refreshed',
  'record.created',
  'record.read',
  'record.updated',
  'record.deleted',
  'record.searched',
  'record.history-read',
  'record.exported',
  'bundle.processed',
  'audit.read',
];

const apiKeyId = /^[0-9a-f]{16}$/;

/**
 * The credential an event was made with: a person's account at sign-in (`Account/<id>`; their
 * session's later requests come from that sign-in), an app's token (`oauth:<client>|<who>`), or
 * an API key (`apikey:<id>`). Undefined for anything else (sessions' requests, the CLI, jobs).
 */
export function credentialOf(event: DetectionEvent, ignoreRoles: readonly string[]): string | undefined {
  if (ignoreRoles.includes(event.actor.role) || event.sourceIp === '' || event.sourceIp === 'local') return undefined;
  if (event.action === 'auth.login_succeeded') return event.resources.find((r) => r.startsWith('Account/'));
  if (event.actor.client.startsWith('oauth:')) return `${event.actor.client}|${event.actor.id}`;
  if (apiKeyId.test(event.actor.id)) return `apikey:${event.actor.id}`;
  return undefined;
}

/**
 * First use of a credential from a network it has not been used from before (of the most recent
 * ones it remembers): a stolen password, key or token used from the thief's place. The very
 * first use of a credential is no alert — it has no history to differ from — and neither is a
 * credential's first use after five weeks unused (its history is forgotten then). Low severity:
 * people travel and work from home; the alert asks the owner "was this you?".
 * OWASP ASVS 5 V6.3.5 (notify of suspicious authentication), NIST SP 800-63B §5.2.2.
 */
export const newSource: EventRule<KnownSources, typeof defaults> = {
  kind: 'event',
  id: 'auth.new-source',
  severity: 'low',
  title: 'Credential used from a new address',
  describe: 'A person\'s sign-in, an API key or an app\'s token was used from a network address it has not been used from before: check with its owner that it was them.',
  defaults,
  realms: 'tenants',
  actions,
  key: (event, config) => credentialOf(event, config.ignoreRoles),
  evaluate(event, state, config) {
    const credential = credentialOf(event, config.ignoreRoles);
    // Not a credential's use (a session's request, a job): nothing to remember, nothing to compare.
    if (credential === undefined) return {};
    const network = networkOf(event.sourceIp, config.ipv4PrefixBits, config.ipv6PrefixBits);
    const kept = Math.max(1, Math.floor(config.addressesKept));
    const networks = [network, ...(state?.networks ?? []).filter((n) => n !== network)].slice(0, kept);
    if (state === undefined || state.networks.includes(network)) return { state: { networks } };
    return { state: { networks }, findings: [{ subject: credential, summary: `${credential} used from ${event.sourceIp}, an address it has not used before (${state.networks.length} known)` }] };
  },
};
