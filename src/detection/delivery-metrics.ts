import type { Registry } from 'prom-client';
import type * as PromClient from 'prom-client';
import { lazyRequire } from '../platform/lazy-require.js';

const promClient = lazyRequire<typeof PromClient>('prom-client');

/** What one delivery attempt came to: sent, failed and to be tried again, or failed for the last time. */
export type AttemptOutcome = 'delivered' | 'retrying' | 'given-up';

export interface DeliveryMetrics {
  attempted(target: 'webhook' | 'syslog', outcome: AttemptOutcome): void;
}

/**
 * Alert delivery in /metrics: attempts per kind of target and outcome (no label per tenant or
 * endpoint, so the series stay few). A rising `given-up` means alerts are not reaching people.
 */
export function registerDeliveryMetrics(registry: Registry): DeliveryMetrics {
  const { Counter } = promClient();
  const attempts = new Counter({ name: 'tresor_alert_delivery_attempts_total', help: 'Alert delivery attempts (webhooks, syslog) by outcome', labelNames: ['target', 'outcome'], registers: [registry] });
  return { attempted: (target, outcome) => attempts.inc({ target, outcome }) };
}
