import type { Registry } from 'prom-client';
import type * as PromClient from 'prom-client';
import { lazyRequire } from '../platform/lazy-require.js';
import type { Clock } from '../platform/clock.js';
import type { SqlDatabase } from '../platform/db/index.js';
import { IdentityError } from './errors.js';
import { createSourceWindow } from './throttle.js';

const promClient = lazyRequire<typeof PromClient>('prom-client');

/**
 * Guessing credentials (API keys, apps' access tokens, apps' client credentials) is throttled per source address
 * like sign-ins (OWASP ASVS 5 V6.1.1, V6.3.1; throttle.ts): more than
 * {@link credentialThrottlePolicy.sourceMaxFailures} failures within the window and the address
 * is refused — whatever it presents — until the window has passed. Failures are counted in the
 * platform data set, so every node shares one budget per address; the refusal is remembered
 * in process, so a throttled address costs no query per request, and another node refuses it
 * from its next failure. Every failure and refusal counts in /metrics by method, never by key,
 * token or address (V16.2.5: no credentials in telemetry).
 */
export const credentialThrottlePolicy = {
  sourceWindowMs: 10 * 60_000,
  sourceMaxFailures: 100,
} as const;

export type CredentialMethod = 'api_key' | 'access_token' | 'client_secret';

export interface CredentialThrottle {
  /** Before a bearer credential is looked at: throws 429 for an address that spent its budget. */
  check(source: string, method: CredentialMethod): void;
  /** After a credential failed: counts it, and throws 429 once the address is over its budget. */
  failed(source: string, method: CredentialMethod): Promise<void>;
}

const throttled = (retryAfterSeconds: number) =>
  new IdentityError('auth-throttled', `Too many failed authentications from this address; try again in ${retryAfterSeconds} s.`, {
    status: 429,
    expose: true,
    headers: { 'retry-after': String(retryAfterSeconds) },
  });

export function createCredentialThrottle({ db, clock, registry }: { db: SqlDatabase; clock: Clock; registry: Registry }): CredentialThrottle {
  const window = createSourceWindow({ db, clock, kind: 'credential-failure', windowMs: credentialThrottlePolicy.sourceWindowMs, max: credentialThrottlePolicy.sourceMaxFailures });
  const { Counter } = promClient();
  const failures = new Counter({ name: 'tresor_auth_failures_total', help: 'Bearer credentials (API keys, access tokens) that failed to authenticate, by method', labelNames: ['method'], registers: [registry] });
  const refusals = new Counter({ name: 'tresor_auth_throttled_total', help: 'Requests refused because their source address failed too often, by method', labelNames: ['method'], registers: [registry] });
  const blocked = new Map<string, number>();
  const refuse = (method: CredentialMethod, until: number): never => {
    refusals.inc({ method });
    throw throttled(Math.max(1, Math.ceil((until - clock.now().getTime()) / 1000)));
  };
  return {
    check(source, method) {
      const until = blocked.get(source);
      if (until === undefined) return;
      if (until > clock.now().getTime()) refuse(method, until);
      blocked.delete(source);
    },
    async failed(source, method) {
      failures.inc({ method });
      const verdict = await window.take(source);
      if (verdict.allowed) return;
      // A flood of addresses must not grow the map without bound: the oldest entries go first.
      if (blocked.size >= 10_000) blocked.delete(blocked.keys().next().value as string);
      const until = clock.now().getTime() + verdict.retryAfterSeconds * 1000;
      blocked.set(source, until);
      refuse(method, until);
    },
  };
}
