import type { PlatformReading, ProbeRule, Rule, RuleConfig } from '../detection/index.js';
import type { ComponentCheck, HealthReading } from './components.js';

export interface HealthSources {
  readonly now: () => number;
  /** What `/readyz` answers (platform/http/readiness.ts). */
  readonly readiness: () => Promise<{ readonly ready: boolean }>;
  /** A read of the identity service's tables (accounts, sessions live in the platform data set). */
  readonly identityAnswers: () => Promise<void>;
  /** GETs one tenant's OpenID discovery document in process, its status code; undefined when no tenant is to be asked. */
  readonly oauthDiscovery: () => Promise<number | undefined>;
  /** The detection probe's reading (detection/probes.ts `platformReader`). */
  readonly platform: () => Promise<PlatformReading>;
  readonly replicationShown: boolean;
}

/** One health check of every component, each part failing alone (a failure is a state, never a throw). */
export function createHealthReader(sources: HealthSources): () => Promise<HealthReading> {
  return async () => {
    const at = sources.now();
    const [ready, identity, discovery, platform] = await Promise.all([
      sources.readiness().then((r) => r.ready, () => false),
      sources.identityAnswers().then(() => true, () => false),
      sources.oauthDiscovery().then((code) => (code === undefined ? undefined : code === 200), () => false),
      sources.platform().catch(() => undefined),
    ]);
    return { at, apiReady: ready, signInAnswers: identity, oauthAnswers: discovery, platform, replicationShown: sources.replicationShown };
  };
}

/** Which detection probe rules judge which component, and what a finding makes of it. */
const judged: readonly { readonly component: ComponentCheck['component']; readonly rule: string; readonly state: ComponentCheck['state'] }[] = [
  { component: 'backups', rule: 'platform.backup-overdue', state: 'degraded_performance' },
  { component: 'replication', rule: 'platform.replication', state: 'degraded_performance' },
  { component: 'certificate', rule: 'platform.certificate-expiry', state: 'degraded_performance' },
];

/** The component checks from the detection rule set and its configuration (the same thresholds as the alerts). */
export function componentChecks(rules: readonly Rule[], configs: ReadonlyMap<string, RuleConfig>): ComponentCheck[] {
  return judged.flatMap((j) => {
    const rule = rules.find((r) => r.id === j.rule);
    if (rule === undefined || rule.kind !== 'probe') return [];
    return [{ component: j.component, rule: rule as ProbeRule<PlatformReading, RuleConfig>, config: configs.get(rule.id) ?? rule.defaults, state: j.state }];
  });
}
