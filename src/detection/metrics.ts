import type { Registry } from 'prom-client';
import type * as PromClient from 'prom-client';
import { lazyRequire } from '../platform/lazy-require.js';
import type { Alerts } from './alerts.js';
import type { EngineMetrics } from './engine.js';

const promClient = lazyRequire<typeof PromClient>('prom-client');

/**
 * Detection in /metrics: how far behind the rules are (the age of the oldest event not yet
 * evaluated, the largest over realms — no label per tenant, so 10,000 tenants stay 1 series),
 * events evaluated, rules that threw, alerts raised per severity.
 */
export function registerDetectionMetrics(registry: Registry, alerts: Alerts): EngineMetrics {
  const { Counter, Gauge } = promClient();
  const lags = new Map<string, number>();
  new Gauge({
    name: 'tresor_detection_lag_seconds',
    help: 'Age of the oldest audit event the detection rules have not evaluated yet, the largest over realms (0: caught up)',
    registers: [registry],
    aggregator: 'max',
    collect() {
      let most = 0;
      for (const ms of lags.values()) most = Math.max(most, ms);
      this.set(most / 1000);
    },
  });
  const evaluated = new Counter({ name: 'tresor_detection_events_total', help: 'Audit events evaluated by the detection rules', registers: [registry] });
  const failed = new Counter({ name: 'tresor_detection_rule_errors_total', help: 'Events a detection rule failed on (the rule skipped them; the others ran)', labelNames: ['rule'], registers: [registry] });
  const raised = new Counter({ name: 'tresor_alerts_raised_total', help: 'Alerts raised (new alerts, not findings joining one)', labelNames: ['severity'], registers: [registry] });
  alerts.onChange((change) => {
    if (change.kind === 'raised') raised.inc({ severity: change.alert.severity });
  });
  return {
    evaluated: (count) => evaluated.inc(count),
    ruleFailed: (rule) => failed.inc({ rule }),
    lag(realm, ms) {
      if (ms === 0) lags.delete(realm);
      else lags.set(realm, ms);
    },
  };
}
