import type { EventRule } from '../types.js';
import { attemptedAccount } from './attempted-account.js';

// Leaked e-mail/password pairs from other sites, tried from many addresses (a botnet), each
// address and account only a few times so that no per-account or per-address limit trips. A
// clinic of 20–50 staff and a few hundred portal patients sees a few mistyped passwords an
// hour, nearly all followed by a success: 40 failures within an hour, from 10 or more addresses
// against 20 or more accounts, with fewer than one attempt in ten succeeding, is not that.
const defaults = { failures: 40, sources: 10, accounts: 20, maxSuccessRatio: 0.1, windowMinutes: 60 };

/** Distinct addresses and accounts kept in the window: enough to judge, bounded under a flood. */
const distinctKept = 200;
const evidenceKept = 20;

export interface StuffingWindow {
  readonly start: number;
  readonly failures: number;
  readonly successes: number;
  readonly sources: readonly string[];
  readonly accounts: readonly string[];
  readonly evidence: readonly number[];
  readonly raised?: boolean;
}

const add = (list: readonly string[], value: string, cap: number) => (list.includes(value) || list.length >= cap ? list : [...list, value]);

/**
 * Credential stuffing: across the whole realm, many failed sign-ins from many addresses against
 * many accounts, with few successes — one realm-wide window, so a spread-out attack that stays
 * under every per-account and per-address limit still adds up. OWASP Credential Stuffing
 * Prevention Cheat Sheet; MITRE ATT&CK T1110.004.
 */
export const credentialStuffing: EventRule<StuffingWindow, typeof defaults> = {
  kind: 'event',
  id: 'auth.credential-stuffing',
  severity: 'critical',
  title: 'Credential stuffing',
  describe: 'Many failed sign-ins from many different network addresses against many accounts, with almost no successes: someone may be trying e-mail/password pairs leaked from other sites.',
  defaults,
  realms: 'all',
  actions: ['auth.login_failed', 'auth.login_succeeded'],
  key: () => 'realm',
  evaluate(event, state, config, realm) {
    const fresh = state === undefined || event.at - state.start >= config.windowMinutes * 60_000 || event.at < state.start;
    const current: StuffingWindow = fresh ? { start: event.at, failures: 0, successes: 0, sources: [], accounts: [], evidence: [] } : state;
    // One success per completed sign-in (with a second factor, only its step records one).
    if (event.action === 'auth.login_succeeded') return { state: { ...current, successes: current.successes + 1 } };
    const account = attemptedAccount(event);
    const window: StuffingWindow = {
      ...current,
      failures: current.failures + 1,
      sources: event.sourceIp === '' ? current.sources : add(current.sources, event.sourceIp, distinctKept),
      accounts: account === undefined ? current.accounts : add(current.accounts, account, distinctKept),
      evidence: current.evidence.length >= evidenceKept ? current.evidence : [...current.evidence, event.seq],
    };
    const ratio = window.successes / (window.successes + window.failures);
    const crossing = window.failures >= config.failures && window.sources.length >= config.sources && window.accounts.length >= config.accounts && ratio <= config.maxSuccessRatio;
    if (!crossing) return { state: window };
    const finding = {
      subject: `realm:${realm.realm}`,
      summary: `${window.failures} failed sign-ins from ${window.sources.length} addresses against ${window.accounts.length} accounts within ${config.windowMinutes} minutes, ${window.successes} succeeded`,
    };
    if (window.raised === true) return { state: window, findings: [{ ...finding, evidence: [event.seq] }] };
    return { state: { ...window, raised: true }, findings: [{ ...finding, evidence: window.evidence }] };
  },
};
