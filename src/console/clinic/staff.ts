import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { personRoles, resetReasonMax, type AccountAdministration, type AccountInfo, type Administrator, type SessionInfo } from '../../identity/index.js';
import { AppError } from '../../platform/errors.js';
import { formatDateTime, html, seeOther, type Html, type Locale, type Texts } from '../../platform/pages/index.js';
import type { PageGuard, StaffCaller } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import { sendClinicPage } from './clinic-page.js';
import { buttonForm, confirmBody, csrfField, described, doneOf, formOf, lookOnly, mayChange, refusalOf, requestContext } from './forms.js';

type Key =
  | 'title' | 'intro' | 'invite' | 'inviteTitle' | 'inviteIntro' | 'email' | 'role' | 'status' | 'secondFactor' | 'lastSignIn' | 'manage' | 'yes' | 'no' | 'none' | 'people'
  | 'patientLink' | 'patientHint' | 'sendInvite' | 'back' | 'facts' | 'created' | 'sessions' | 'sessionStarted' | 'sessionSeen' | 'sessionFrom' | 'noSessions'
  | 'changeRole' | 'newRole' | 'saveRole' | 'roleHint' | 'reinvite' | 'reinviteHint' | 'unlock' | 'unlockHint' | 'endSessions' | 'endSessionsHint' | 'enable' | 'disable' | 'disableTitle'
  | 'disableText' | 'disableConfirm' | 'resetTitle' | 'resetText' | 'reason' | 'reasonHint' | 'resetConfirm' | 'resetFactor' | 'cancel' | 'actions' | 'you' | 'reasonMissing'
  | 'operatorSends' | 'statusInvited' | 'statusActive' | 'statusDisabled'
  | 'doneInvited' | 'donePending' | 'doneRole' | 'doneReinvited' | 'doneUnlocked' | 'doneSessions' | 'doneEnabled' | 'doneDisabled' | 'doneReset';

const text: Texts<Key> = {
  en: {
    title: 'Staff and invitations',
    intro: 'Everyone with an account in this clinic. Open a person to change their role, send a new setup link, unlock, disable, end their sessions or reset a lost second factor.',
    invite: 'Invite someone',
    inviteTitle: 'Invite someone',
    inviteIntro: 'The person gets a setup link by message (valid 72 hours) and chooses their own password. You never see the link. Every role but tenant-admin reaches what yours does not (patient records, billing, the audit trail): such an invitation waits for a platform operator’s approval before its link is sent.',
    email: 'Email address',
    role: 'Role',
    status: 'Status',
    secondFactor: 'Second factor',
    lastSignIn: 'Signed in (live session)',
    manage: 'Manage',
    yes: 'yes',
    no: 'no',
    none: '—',
    people: 'People of this clinic',
    patientLink: 'Patient record (for a patient account)',
    patientHint: 'As Patient/<id>, from the clinician or front desk who registered the patient (your role cannot search patient records). An account linked to a patient waits for a platform operator’s approval before its setup link is sent.',
    sendInvite: 'Send invitation',
    back: 'Back to staff',
    facts: 'Account',
    created: 'Created',
    sessions: 'Live sessions',
    sessionStarted: 'Started',
    sessionSeen: 'Last seen',
    sessionFrom: 'From address',
    noSessions: 'No live session.',
    changeRole: 'Change role',
    newRole: 'New role',
    saveRole: 'Change role',
    roleHint: 'The person’s sessions end: they sign in again with the new role. A role that reaches more than yours waits for a platform operator.',
    reinvite: 'Send a new setup link',
    reinviteHint: 'For an invitation that expired or was lost: earlier links stop working.',
    operatorSends: 'This account reaches more than your role does: a platform operator approves it and sends its setup link (tresor user approve).',
    unlock: 'Unlock sign-in',
    unlockHint: 'After too many failed sign-ins the account is locked; this lifts the lock.',
    endSessions: 'End all sessions',
    endSessionsHint: 'Signs the person out everywhere (a lost or shared device).',
    enable: 'Enable account',
    disable: 'Disable account…',
    disableTitle: 'Disable this account?',
    disableText: 'The person can no longer sign in, their open links stop working and their sessions end now. You can enable the account again later.',
    disableConfirm: 'Disable account',
    resetTitle: 'Reset this person’s second factor?',
    resetText: 'Every second factor of the account (authenticator app, passkeys, recovery codes) is removed and their sessions end. They set up a new one at their next sign-in. Make sure first that you are talking to the person themself.',
    reason: 'Reason (goes into the audit trail)',
    reasonHint: `For example “lost phone, identity checked in person”. At most ${resetReasonMax} characters; no health data.`,
    resetConfirm: 'Reset second factor',
    resetFactor: 'Reset second factor…',
    cancel: 'Cancel',
    actions: 'Actions',
    you: '(you)',
    reasonMissing: 'Give a reason for the reset.',
    statusInvited: 'invited',
    statusActive: 'active',
    statusDisabled: 'disabled',
    doneInvited: 'Invitation sent.',
    donePending: 'The account is created; its setup link is sent once a platform operator approves it.',
    doneRole: 'Role changed; the person’s sessions ended.',
    doneReinvited: 'A new setup link was sent.',
    doneUnlocked: 'Sign-in unlocked.',
    doneSessions: 'The person’s sessions ended.',
    doneEnabled: 'Account enabled.',
    doneDisabled: 'Account disabled; its sessions ended.',
    doneReset: 'Second factor reset; the person sets up a new one at the next sign-in.',
  },
  de: {
    title: 'Mitarbeitende und Einladungen',
    intro: 'Alle Personen mit einem Konto in dieser Praxis. Öffnen Sie eine Person, um ihre Rolle zu ändern, einen neuen Einrichtungslink zu senden, zu entsperren, zu deaktivieren, ihre Sitzungen zu beenden oder einen verlorenen zweiten Faktor zurückzusetzen.',
    invite: 'Jemanden einladen',
    inviteTitle: 'Jemanden einladen',
    inviteIntro: 'Die Person erhält einen Einrichtungslink per Nachricht (72 Stunden gültig) und wählt ihr Passwort selbst. Sie sehen den Link nie. Jede Rolle außer tenant-admin erreicht, was Ihre nicht erreicht (Patientenakten, Abrechnung, Protokoll): Eine solche Einladung wartet auf die Freigabe durch den Plattformbetrieb, bevor ihr Link versandt wird.',
    email: 'E-Mail-Adresse',
    role: 'Rolle',
    status: 'Status',
    secondFactor: 'Zweiter Faktor',
    lastSignIn: 'Angemeldet (laufende Sitzung)',
    manage: 'Verwalten',
    yes: 'ja',
    no: 'nein',
    none: '—',
    people: 'Personen dieser Praxis',
    patientLink: 'Patientenakte (für ein Patientenkonto)',
    patientHint: 'Als Patient/<id>, von der Ärztin, dem Arzt oder dem Empfang, die den Patienten angelegt haben (Ihre Rolle kann keine Patientenakten suchen). Ein mit einem Patienten verknüpftes Konto wartet auf die Freigabe durch den Plattformbetrieb, bevor sein Einrichtungslink versandt wird.',
    sendInvite: 'Einladung senden',
    back: 'Zurück zu den Mitarbeitenden',
    facts: 'Konto',
    created: 'Angelegt',
    sessions: 'Laufende Sitzungen',
    sessionStarted: 'Begonnen',
    sessionSeen: 'Zuletzt aktiv',
    sessionFrom: 'Von Adresse',
    noSessions: 'Keine laufende Sitzung.',
    changeRole: 'Rolle ändern',
    newRole: 'Neue Rolle',
    saveRole: 'Rolle ändern',
    roleHint: 'Die Sitzungen der Person enden: Sie meldet sich mit der neuen Rolle erneut an. Eine Rolle, die mehr erreicht als Ihre, wartet auf den Plattformbetrieb.',
    reinvite: 'Neuen Einrichtungslink senden',
    reinviteHint: 'Für eine abgelaufene oder verlorene Einladung: frühere Links werden ungültig.',
    operatorSends: 'Dieses Konto erreicht mehr als Ihre Rolle: Der Plattformbetrieb gibt es frei und sendet seinen Einrichtungslink (tresor user approve).',
    unlock: 'Anmeldung entsperren',
    unlockHint: 'Nach zu vielen Fehlversuchen ist das Konto gesperrt; dies hebt die Sperre auf.',
    endSessions: 'Alle Sitzungen beenden',
    endSessionsHint: 'Meldet die Person überall ab (verlorenes oder geteiltes Gerät).',
    enable: 'Konto aktivieren',
    disable: 'Konto deaktivieren …',
    disableTitle: 'Dieses Konto deaktivieren?',
    disableText: 'Die Person kann sich nicht mehr anmelden, ihre offenen Links werden ungültig und ihre Sitzungen enden sofort. Sie können das Konto später wieder aktivieren.',
    disableConfirm: 'Konto deaktivieren',
    resetTitle: 'Zweiten Faktor dieser Person zurücksetzen?',
    resetText: 'Alle zweiten Faktoren des Kontos (Authenticator-App, Passkeys, Wiederherstellungscodes) werden entfernt und ihre Sitzungen enden. Bei der nächsten Anmeldung richtet die Person einen neuen ein. Vergewissern Sie sich vorher, dass Sie mit der Person selbst sprechen.',
    reason: 'Grund (wird protokolliert)',
    reasonHint: `Zum Beispiel „Telefon verloren, Identität persönlich geprüft“. Höchstens ${resetReasonMax} Zeichen; keine Gesundheitsdaten.`,
    resetConfirm: 'Zweiten Faktor zurücksetzen',
    resetFactor: 'Zweiten Faktor zurücksetzen …',
    cancel: 'Abbrechen',
    actions: 'Aktionen',
    you: '(Sie)',
    reasonMissing: 'Geben Sie einen Grund für das Zurücksetzen an.',
    statusInvited: 'eingeladen',
    statusActive: 'aktiv',
    statusDisabled: 'deaktiviert',
    doneInvited: 'Einladung gesendet.',
    donePending: 'Das Konto ist angelegt; sein Einrichtungslink wird nach Freigabe durch den Plattformbetrieb versandt.',
    doneRole: 'Rolle geändert; die Sitzungen der Person wurden beendet.',
    doneReinvited: 'Ein neuer Einrichtungslink wurde gesendet.',
    doneUnlocked: 'Anmeldung entsperrt.',
    doneSessions: 'Die Sitzungen der Person wurden beendet.',
    doneEnabled: 'Konto aktiviert.',
    doneDisabled: 'Konto deaktiviert; seine Sitzungen wurden beendet.',
    doneReset: 'Zweiter Faktor zurückgesetzt; die Person richtet bei der nächsten Anmeldung einen neuen ein.',
  },
};

const listDone = ['invited', 'pending'] as const;
const personDone = ['role', 'reinvited', 'unlocked', 'sessions', 'enabled', 'disabled', 'reset'] as const;
const doneKey = { invited: 'doneInvited', pending: 'donePending', role: 'doneRole', reinvited: 'doneReinvited', unlocked: 'doneUnlocked', sessions: 'doneSessions', enabled: 'doneEnabled', disabled: 'doneDisabled', reset: 'doneReset' } as const satisfies Record<string, Key>;

const staffRoles = personRoles.filter((r) => r !== 'patient');
const statusText = (t: Record<Key, string>, status: AccountInfo['status']) => (status === 'invited' ? t.statusInvited : status === 'active' ? t.statusActive : t.statusDisabled);

type Account = AccountInfo & { readonly createdAt: string };

function staffList(base: string, accounts: readonly Account[], live: ReadonlyMap<string, SessionInfo[]>, caller: StaffCaller): Html {
  const { locale } = caller;
  const meId = caller.me.account.id;
  const t = text[locale];
  return html`<p>${t.intro}</p>
${mayChange(caller) ? html`<p><a href="${base}invite">${t.invite}</a></p>` : lookOnly(caller)}
<table>
<caption>${t.people}</caption>
<thead><tr><th scope="col">${t.email}</th><th scope="col">${t.role}</th><th scope="col">${t.status}</th><th scope="col">${t.secondFactor}</th><th scope="col">${t.lastSignIn}</th><th scope="col">${t.actions}</th></tr></thead>
<tbody>${accounts.map((a) => {
    const newest = (live.get(a.id) ?? []).map((s) => s.createdAt).sort().at(-1);
    return html`<tr><th scope="row">${a.email}${a.id === meId ? html` <span class="hint">${t.you}</span>` : undefined}</th><td>${a.role}</td><td>${statusText(t, a.status)}</td><td>${a.secondFactor ? t.yes : t.no}</td><td>${newest === undefined ? t.none : formatDateTime(locale, newest)}</td><td><a href="${base}${a.id}" aria-label="${t.manage}: ${a.email}">${t.manage}</a></td></tr>`;
  })}</tbody>
</table>`;
}

function inviteForm(base: string, csrf: string, locale: Locale, values: { email?: string; role?: string; patient?: string }, error?: string): Html {
  const t = text[locale];
  return html`<p>${t.inviteIntro}</p>
<form method="post" action="${base}invite" novalidate>
${csrfField(csrf)}
<label for="email">${t.email}</label>
<input id="email" name="email" type="email" autocomplete="off" required value="${values.email ?? ''}"${described(error)}>
<label for="role">${t.role}</label>
<select id="role" name="role"${described(error)}>${personRoles.map((r) => html`<option value="${r}"${r === (values.role ?? 'clinician') ? html` selected` : undefined}>${r}</option>`)}</select>
<label for="patient">${t.patientLink}</label>
<input id="patient" name="patient" type="text" autocomplete="off" value="${values.patient ?? ''}" aria-describedby="patient-hint${error === undefined ? '' : ' page-error'}">
<p class="hint" id="patient-hint">${t.patientHint}</p>
<div class="actions"><button type="submit" class="primary">${t.sendInvite}</button> <a href="${base}">${t.back}</a></div>
</form>`;
}

function personPage(base: string, account: Account, sessions: readonly SessionInfo[], caller: StaffCaller, operatorSends: boolean): Html {
  const { locale, me } = caller;
  const t = text[locale];
  const self = account.id === me.account.id;
  const at = `${base}${account.id}`;
  const facts = html`<p><a href="${base}">${t.back}</a></p>
<h2>${t.facts}</h2>
<dl class="facts"><dt>${t.email}</dt><dd>${account.email}${self ? html` <span class="hint">${t.you}</span>` : undefined}</dd><dt>${t.role}</dt><dd>${account.role}</dd><dt>${t.status}</dt><dd>${statusText(t, account.status)}</dd><dt>${t.secondFactor}</dt><dd>${account.secondFactor ? t.yes : t.no}</dd><dt>${t.created}</dt><dd>${formatDateTime(locale, account.createdAt)}</dd></dl>
<h2>${t.sessions}</h2>
${sessions.length === 0
    ? html`<p>${t.noSessions}</p>`
    : html`<table><thead><tr><th scope="col">${t.sessionStarted}</th><th scope="col">${t.sessionSeen}</th><th scope="col">${t.secondFactor}</th><th scope="col">${t.sessionFrom}</th></tr></thead><tbody>${sessions.map(
        (s) => html`<tr><td>${formatDateTime(locale, s.createdAt)}</td><td>${formatDateTime(locale, s.lastSeenAt)}</td><td>${s.secondFactor ? t.yes : t.no}</td><td>${s.sourceIp}</td></tr>`,
      )}</tbody></table>`}`;
  if (!mayChange(caller)) return html`${facts}${lookOnly(caller)}`;
  return html`${facts}
${sessions.length === 0 || self ? undefined : html`<p class="hint">${t.endSessionsHint}</p><div class="actions">${buttonForm(`${at}/end-sessions`, me.csrf, t.endSessions)}</div>`}
${self || account.role === 'patient' ? undefined : html`<h2>${t.changeRole}</h2>
<form method="post" action="${at}/role">
${csrfField(me.csrf)}
<label for="role">${t.newRole}</label>
<select id="role" name="role" aria-describedby="role-hint">${staffRoles.map((r) => html`<option value="${r}"${r === account.role ? html` selected` : undefined}>${r}</option>`)}</select>
<p class="hint" id="role-hint">${t.roleHint}</p>
<div class="actions"><button type="submit">${t.saveRole}</button></div>
</form>`}
<h2>${t.actions}</h2>
${account.status !== 'invited' ? undefined : operatorSends ? html`<p class="hint">${t.operatorSends}</p>` : html`<p class="hint">${t.reinviteHint}</p><div class="actions">${buttonForm(`${at}/reinvite`, me.csrf, t.reinvite)}</div>`}
${account.status === 'active' ? html`<p class="hint">${t.unlockHint}</p><div class="actions">${buttonForm(`${at}/unlock`, me.csrf, t.unlock)}</div>` : undefined}
<div class="actions">
${account.secondFactor && !self ? html`<a href="${at}/reset-second-factor">${t.resetFactor}</a>` : undefined}
${self ? undefined : account.status === 'disabled' ? buttonForm(`${at}/enable`, me.csrf, t.enable) : html`<a href="${at}/disable">${t.disable}</a>`}
</div>`;
}

/**
 * `/tenants/{t}/console/staff/…`: the tenant's people and their administration. Every action is
 * the same service call as the JSON admin route (identity/administration.ts): the gate
 * (`accounts:manage`, two factors for a change), the self-protection rules, the approvals and
 * the audit events are there, not here. Destructive actions (disable, second-factor reset) have
 * a confirmation step; forms POST → 303 → GET (a notice from a fixed list).
 */
export function staffPages({ guard, realm, administration }: { guard: PageGuard; realm: PageRealm; administration: AccountAdministration }) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    const baseOf = (tenantId: string) => `/tenants/${tenantId}/console/staff/`;
    const idOf = (request: FastifyRequest) => administration.checkAccountId((request.params as { id: string }).id);

    /** The caller as an administrator of this tenant (403 and audited otherwise); undefined when the guard answered (sign-in, enrolment). */
    async function admitted(request: FastifyRequest, reply: FastifyReply, changes: boolean): Promise<{ caller: StaffCaller; admin: Administrator } | undefined> {
      const caller = await guard.person(request, reply, realm);
      if (caller === undefined) return undefined;
      const admin = await administration.admit(caller.me.realmId, caller.principal, requestContext(request), changes);
      return { caller, admin };
    }

    async function accountOf(admin: Administrator, id: string): Promise<Account> {
      const found = (await administration.list(admin)).find((a) => a.id === id);
      if (found === undefined) administration.checkAccountId('-'); // the same 404 as the API
      return found as Account;
    }

    async function showPerson(request: FastifyRequest, reply: FastifyReply, it: { caller: StaffCaller; admin: Administrator }, id: string, extra: { notice?: string; error?: string; status?: number } = {}) {
      const account = await accountOf(it.admin, id);
      const sessions = await administration.sessions(it.admin, id);
      return sendClinicPage(request, reply, it.caller, { section: 'staff', title: account.email, body: personPage(baseOf(it.admin.tenantId), account, sessions, it.caller, administration.invitationNeedsOperator(it.admin, account)), ...extra });
    }

    /** Runs a change; a refusal by the service's rules (409, 404, 400) is shown on the person's page, anything else goes to the error page. */
    function change(path: string, done: (typeof personDone)[number], act: (admin: Administrator, id: string, form: Record<string, string>, locale: Locale) => Promise<unknown>) {
      app.post(`/tenants/:tenant/console/staff/:id/${path}`, async (request, reply) => {
        const it = await admitted(request, reply, true);
        if (it === undefined) return reply;
        const id = idOf(request);
        try {
          await act(it.admin, id, formOf(request), it.caller.locale);
        } catch (error) {
          const refusal = refusalOf(error);
          if (refusal === undefined) throw error;
          return showPerson(request, reply, it, id, { error: refusal.message, status: refusal.status });
        }
        return seeOther(reply, `${baseOf(it.admin.tenantId)}${id}?done=${done}`);
      });
    }

    app.get('/tenants/:tenant/console/staff/', async (request, reply) => {
      const it = await admitted(request, reply, false);
      if (it === undefined) return reply;
      const t = text[it.caller.locale];
      const accounts = await administration.list(it.admin);
      // Sessions tell who is signed in now; accounts keep no "last sign-in" of their own (the audit trail has every sign-in).
      const live = new Map(await Promise.all(accounts.map(async (a) => [a.id, await administration.sessions(it.admin, a.id)] as const)));
      const done = doneOf(request, listDone);
      return sendClinicPage(request, reply, it.caller, { section: 'staff', title: t.title, body: staffList(baseOf(it.admin.tenantId), accounts, live, it.caller), ...(done === undefined ? {} : { notice: t[doneKey[done]] }) });
    });

    app.get('/tenants/:tenant/console/staff/invite', async (request, reply) => {
      // Offered only to who may send it: an administrator signed in with two factors, as the POST asks.
      const it = await admitted(request, reply, true);
      if (it === undefined) return reply;
      const t = text[it.caller.locale];
      return sendClinicPage(request, reply, it.caller, { section: 'staff', title: t.inviteTitle, body: inviteForm(baseOf(it.admin.tenantId), it.caller.me.csrf, it.caller.locale, {}) });
    });

    app.post('/tenants/:tenant/console/staff/invite', async (request, reply) => {
      const it = await admitted(request, reply, true);
      if (it === undefined) return reply;
      const form = formOf(request);
      const values = { email: (form['email'] ?? '').trim(), role: form['role'] ?? '', patient: (form['patient'] ?? '').trim() };
      try {
        const { pending } = await administration.invite(it.admin, { email: values.email, role: values.role, ...(values.patient === '' ? {} : { patient: values.patient }) });
        return seeOther(reply, `${baseOf(it.admin.tenantId)}?done=${pending ? 'pending' : 'invited'}`);
      } catch (error) {
        const refusal = refusalOf(error);
        if (refusal === undefined) throw error;
        const t = text[it.caller.locale];
        return sendClinicPage(request, reply, it.caller, { section: 'staff', title: t.inviteTitle, body: inviteForm(baseOf(it.admin.tenantId), it.caller.me.csrf, it.caller.locale, values, refusal.message), error: refusal.message, status: refusal.status });
      }
    });

    app.get('/tenants/:tenant/console/staff/:id', async (request, reply) => {
      const it = await admitted(request, reply, false);
      if (it === undefined) return reply;
      const done = doneOf(request, personDone);
      return showPerson(request, reply, it, idOf(request), done === undefined ? {} : { notice: text[it.caller.locale][doneKey[done]] });
    });

    // The confirmation steps: a GET that shows what happens, and the form that does it.
    for (const step of ['disable', 'reset-second-factor'] as const) {
      app.get(`/tenants/:tenant/console/staff/:id/${step}`, async (request, reply) => {
        const it = await admitted(request, reply, true);
        if (it === undefined) return reply;
        const t = text[it.caller.locale];
        const account = await accountOf(it.admin, idOf(request));
        const back = `${baseOf(it.admin.tenantId)}${account.id}`;
        const body =
          step === 'disable'
            ? confirmBody({ action: `${back}/disable`, csrf: it.caller.me.csrf, consequence: t.disableText, button: t.disableConfirm, cancel: { href: back, label: t.cancel } })
            : confirmBody({
                action: `${back}/reset-second-factor`,
                csrf: it.caller.me.csrf,
                consequence: t.resetText,
                button: t.resetConfirm,
                cancel: { href: back, label: t.cancel },
                fields: html`<label for="reason">${t.reason}</label><textarea id="reason" name="reason" rows="2" maxlength="${String(resetReasonMax)}" required aria-describedby="reason-hint"></textarea><p class="hint" id="reason-hint">${t.reasonHint}</p>`,
              });
        return sendClinicPage(request, reply, it.caller, { section: 'staff', title: step === 'disable' ? t.disableTitle : t.resetTitle, body: html`<p><strong>${account.email}</strong> (${account.role})</p>${body}` });
      });
    }

    change('role', 'role', (admin, id, form) => administration.update(admin, id, { role: form['role'] ?? '' }));
    change('reinvite', 'reinvited', (admin, id) => administration.reinvite(admin, id));
    change('unlock', 'unlocked', (admin, id) => administration.unlock(admin, id));
    change('end-sessions', 'sessions', (admin, id) => administration.endSessions(admin, id));
    change('enable', 'enabled', (admin, id) => administration.setDisabled(admin, id, false));
    change('disable', 'disabled', (admin, id) => administration.setDisabled(admin, id, true));
    change('reset-second-factor', 'reset', async (admin, id, form, locale) => {
      const reason = (form['reason'] ?? '').trim();
      // The page asks for a reason (the JSON route takes one optionally): a reviewer asks why a factor went.
      if (reason === '') throw new AppError('reason-missing', text[locale].reasonMissing, { status: 400, expose: true });
      return administration.resetSecondFactors(admin, id, reason);
    });
  };
}
