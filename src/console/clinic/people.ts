import type { Accounts } from '../../identity/index.js';
import type { Locale, Texts } from '../../platform/pages/index.js';

const text: Texts<'system' | 'thePatient' | 'formerAccount'> = {
  en: { system: 'Tresor (automatically)', thePatient: 'the patient', formerAccount: 'a former account' },
  de: { system: 'Tresor (automatisch)', thePatient: 'der Patient', formerAccount: 'ein früheres Konto' },
};

/**
 * Who did something, in words, for the console's pages: a colleague by e-mail address, the
 * patient as "the patient", Tresor's own jobs as Tresor, an account since deleted as a former
 * one — never a bare account id. Takes audit actor ids (`account:<id>`, `system:<job>`) and bare
 * account ids (a request's owner). One read of the tenant's accounts per page.
 */
export async function namePeople(accounts: Pick<Accounts, 'list'>, tenantId: string, locale: Locale): Promise<(who: string) => string> {
  const t = text[locale];
  const byId = new Map((await accounts.list(tenantId)).map((a) => [a.id, a]));
  return (who) => {
    if (who.startsWith('system:')) return t.system;
    const account = byId.get(who.startsWith('account:') ? who.slice('account:'.length) : who);
    // An API key's or an operator's actor id is shown as it is (it names a key or a person already).
    if (account === undefined) return who.startsWith('account:') || !who.includes(':') ? t.formerAccount : who;
    return account.kind === 'patient' ? t.thePatient : account.email;
  };
}
