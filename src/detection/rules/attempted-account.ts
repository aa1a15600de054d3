import type { DetectionEvent } from '../types.js';

/**
 * The account a sign-in event was aimed at: `Account/<id>` when one exists, else the pseudonym
 * the trail records for an address no account has (`unknown-account:<hmac>`; identity/accounts.ts)
 * — never the typed address. Undefined for events that name neither.
 */
export function attemptedAccount(event: DetectionEvent): string | undefined {
  const account = event.resources.find((r) => r.startsWith('Account/'));
  if (account !== undefined) return account;
  return /(?:^| )(unknown-account:[0-9a-f]{16})(?: |$)/.exec(event.detail)?.[1];
}
