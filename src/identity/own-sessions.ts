import { operatorEvent, type Audit } from '../audit/index.js';
import { AccountError } from './accounts.js';
import type { Sessions } from './sessions.js';

export interface OwnSessionsContext {
  readonly tenantId: string;
  readonly accountId: string;
  readonly sourceIp: string;
  readonly requestId: string;
}

/**
 * A person ending their own sessions — one forgotten on another device, or all but the one in
 * use (OWASP ASVS 5 V7.5.2, V7.4.5), or signing out — audited as `session.revoked` by the owner.
 * The JSON routes (`DELETE /auth/sessions/{id}`, `POST /auth/logout`) and the pages end sessions
 * through this.
 */
export function ownSessions({ sessions, audit }: { sessions: Sessions; audit: Audit }) {
  const record = async (context: OwnSessionsContext, detail: string) => {
    const actor = { id: `account:${context.accountId}`, role: 'session', client: 'tresor-auth' };
    await audit.record(context.tenantId, [{ ...operatorEvent('session.revoked', actor, { resources: [`Account/${context.accountId}`], detail }), purpose: 'HOPERAT', sourceIp: context.sourceIp, requestId: context.requestId, status: 204 }]);
  };
  return {
    /** Ends one live session of the account's own; any other id is not found, whether or not it exists. */
    async end(context: OwnSessionsContext, sessionId: string): Promise<void> {
      const mine = await sessions.list(context.tenantId, context.accountId);
      if (!mine.some((s) => s.id === sessionId) || !(await sessions.revoke(context.tenantId, sessionId))) {
        throw new AccountError('session-not-found', 'You have no live session with that id.', { status: 404, expose: true });
      }
      await record(context, 'by-owner');
    },
    /** Signing out: ends the session in use, audited like the JSON API's logout. */
    async signOut(context: OwnSessionsContext, sessionId: string): Promise<void> {
      await sessions.revoke(context.tenantId, sessionId);
      await record(context, 'logout');
    },
    /** Ends every live session of the account but `current`; how many ended. */
    async endOthers(context: OwnSessionsContext, current: string): Promise<number> {
      const ended = await sessions.revokeAll(context.tenantId, context.accountId, current);
      if (ended > 0) await record(context, 'others-by-owner');
      return ended;
    },
  };
}

export type OwnSessions = ReturnType<typeof ownSessions>;
