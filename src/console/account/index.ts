import type { FastifyInstance } from 'fastify';
import { ownSessions, type Accounts, type Passkeys, type PasswordResets, type Sessions } from '../../identity/index.js';
import type { Audit } from '../../audit/index.js';
import type { FormCsrf } from '../form-csrf.js';
import type { PagePeople } from '../page-person.js';
import type { PageRealm } from '../page-realm.js';
import { firstPasswordPages } from './first-password.js';
import { passwordRulesScript } from './password-rules.js';
import { passkeyRegisterScript, printScript } from './scripts.js';
import { securityPages } from './security.js';
import { sessionsPages } from './sessions.js';

export interface AccountPagesDeps {
  readonly accounts: Accounts;
  readonly sessions: Sessions;
  readonly passkeys: Passkeys;
  readonly passwordResets: PasswordResets;
  readonly audit: Audit;
  readonly people: PagePeople;
  readonly forms: FormCsrf;
}

/** The account pages' scripts, by file name under /assets/. */
export const accountScripts: ReadonlyMap<string, string> = new Map([
  ['password-rules.js', passwordRulesScript],
  ['passkey-register.js', passkeyRegisterScript],
  ['print.js', printScript],
]);

/** A realm's own-account pages: invitation, password reset, password and second factors, sessions. */
export function accountPages(realm: PageRealm, deps: AccountPagesDeps) {
  const own = ownSessions({ sessions: deps.sessions, audit: deps.audit });
  return async function plugin(app: FastifyInstance): Promise<void> {
    await app.register(firstPasswordPages(realm, deps));
    await app.register(securityPages(realm, deps));
    await app.register(sessionsPages(realm, { sessions: deps.sessions, people: deps.people, own }));
  };
}
