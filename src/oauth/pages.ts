import { formatDate, html, layout, pageCsp, passkeySignInPath, scriptPageCsp, type Html, type Locale, type Texts } from '../platform/pages/index.js';
import { describeScopeFor, type ScopeAudience } from './scope-texts.js';

export { pageCsp };

/**
 * The sign-in, second-factor and consent pages an app sends a person to, in the one layout of
 * every page (platform/pages): the tenant's name, who is signed in, the language switch. No
 * script but the passkey button's (on the second-factor page only: the file of this origin the
 * account's sign-in uses too, `passkeySignInPath`); every form carries the interaction's CSRF
 * token; every input has a label, errors are announced (role="alert") and tied to their field,
 * and everything works by keyboard (WCAG 2.2: 1.3.1, 2.1.1, 3.3.1, 3.3.2, 4.1.2).
 */

/** The second-factor page's: the same, plus this origin's passkey script (a file, never inline). */
export const passkeyPageCsp = scriptPageCsp;

/** What every OAuth page knows: the reader's language, the page's path (for the language switch) and whose space it is. */
export interface PageFrame {
  readonly locale: Locale;
  readonly path: string;
  readonly space?: string;
  /** The signed-in person, once known (the consent page). */
  readonly person?: { readonly label: string; readonly role: string };
}

export interface AppFacts {
  readonly name: string;
  readonly publisher: string;
}

const text: Texts<
  | 'signInTitle'
  | 'signInIntro'
  | 'email'
  | 'password'
  | 'signIn'
  | 'cancel'
  | 'factorTitle'
  | 'factorIntro'
  | 'factorIntroPasskey'
  | 'code'
  | 'continue'
  | 'usePasskey'
  | 'passkeyWaiting'
  | 'passkeyFailed'
  | 'consentTitle'
  | 'app'
  | 'publisher'
  | 'recordsOf'
  | 'asks'
  | 'notAvailable'
  | 'notAvailableHint'
  | 'capped'
  | 'findPatient'
  | 'findHint'
  | 'search'
  | 'choosePatient'
  | 'searchFirst'
  | 'noMatch'
  | 'born'
  | 'allow'
  | 'deny'
  | 'refusedTitle'
  | 'refusedText'
  | 'returnToApp'
> = {
  en: {
    signInTitle: 'Sign in to continue to {app}',
    signInIntro: '{app} (by {publisher}) asks to use records. Sign in first; you decide what it may do on the next page.',
    email: 'Email address',
    password: 'Password',
    signIn: 'Sign in',
    cancel: 'Cancel and return to the app',
    factorTitle: 'Confirm it is you',
    factorIntro: 'Enter the 6-digit code from your authenticator app, or one of your recovery codes.',
    factorIntroPasskey: 'Use your passkey, or enter the 6-digit code from your authenticator app, or one of your recovery codes.',
    code: 'Code',
    continue: 'Continue',
    usePasskey: 'Use a passkey',
    passkeyWaiting: 'Waiting for your passkey…',
    passkeyFailed: 'The passkey did not work. Try again, or enter a code.',
    consentTitle: 'Allow {app} to use records?',
    app: 'App',
    publisher: 'Published by',
    recordsOf: 'Records of',
    asks: 'It asks to',
    notAvailable: 'Not available to your role',
    notAvailableHint: 'The app also asked for these; your role cannot use them, so it will not get them.',
    capped: 'It can never do more than your own role ({role}) allows. You can withdraw this at any time under “Connected apps”; every access it makes is recorded.',
    findPatient: 'Find the patient (name, identifier or birth date)',
    findHint: 'A birth date as YYYY-MM-DD. Only patients you may see are listed; the search is recorded.',
    search: 'Search patients',
    choosePatient: 'Patient record the app works with',
    searchFirst: 'Search for the patient first.',
    noMatch: 'No patient you may see matches this search.',
    born: 'born',
    allow: 'Allow',
    deny: 'Don’t allow',
    refusedTitle: '{app} cannot be used with your role',
    refusedText: 'Everything this app asks for is outside what your role ({role}) may do, so there is nothing you could allow. Return to the app; it will be told that access was not given.',
    returnToApp: 'Return to the app',
  },
  de: {
    signInTitle: 'Anmelden, um mit {app} fortzufahren',
    signInIntro: '{app} (von {publisher}) möchte Daten nutzen. Melden Sie sich zuerst an; auf der nächsten Seite entscheiden Sie, was die App darf.',
    email: 'E-Mail-Adresse',
    password: 'Passwort',
    signIn: 'Anmelden',
    cancel: 'Abbrechen und zur App zurückkehren',
    factorTitle: 'Bestätigen Sie, dass Sie es sind',
    factorIntro: 'Geben Sie den 6-stelligen Code aus Ihrer Authenticator-App oder einen Ihrer Wiederherstellungscodes ein.',
    factorIntroPasskey: 'Nutzen Sie Ihren Passkey oder geben Sie den 6-stelligen Code aus Ihrer Authenticator-App oder einen Ihrer Wiederherstellungscodes ein.',
    code: 'Code',
    continue: 'Weiter',
    usePasskey: 'Passkey verwenden',
    passkeyWaiting: 'Warte auf Ihren Passkey …',
    passkeyFailed: 'Der Passkey hat nicht funktioniert. Versuchen Sie es erneut oder geben Sie einen Code ein.',
    consentTitle: '{app} die Nutzung von Daten erlauben?',
    app: 'App',
    publisher: 'Anbieter',
    recordsOf: 'Daten von',
    asks: 'Die App möchte',
    notAvailable: 'Für Ihre Rolle nicht verfügbar',
    notAvailableHint: 'Darum hat die App auch gebeten; Ihre Rolle kann es nicht nutzen, also erhält die App es nicht.',
    capped: 'Sie kann nie mehr, als Ihre eigene Rolle ({role}) erlaubt. Sie können das jederzeit unter „Verbundene Apps“ widerrufen; jeder Zugriff der App wird protokolliert.',
    findPatient: 'Patientin oder Patienten suchen (Name, Kennung oder Geburtsdatum)',
    findHint: 'Ein Geburtsdatum als JJJJ-MM-TT. Nur Personen, die Sie sehen dürfen, werden angezeigt; die Suche wird protokolliert.',
    search: 'Patienten suchen',
    choosePatient: 'Patientenakte, mit der die App arbeitet',
    searchFirst: 'Suchen Sie zuerst die Patientin oder den Patienten.',
    noMatch: 'Zu dieser Suche gibt es niemanden, den Sie sehen dürfen.',
    born: 'geboren',
    allow: 'Erlauben',
    deny: 'Nicht erlauben',
    refusedTitle: '{app} ist mit Ihrer Rolle nicht nutzbar',
    refusedText: 'Alles, worum diese App bittet, liegt außerhalb dessen, was Ihre Rolle ({role}) darf; es gibt also nichts zu erlauben. Kehren Sie zur App zurück; sie erfährt, dass kein Zugriff gewährt wurde.',
    returnToApp: 'Zur App zurückkehren',
  },
};

const fill = (template: string, values: Record<string, string>) => template.replace(/\{(\w+)\}/g, (_m, key: string) => values[key] ?? '');

function page(frame: PageFrame, title: string, body: Html, scripts?: readonly string[]): Html {
  return layout({
    locale: frame.locale,
    title,
    path: frame.path,
    ...(frame.space === undefined ? {} : { space: frame.space }),
    ...(frame.person === undefined ? {} : { person: frame.person }),
    ...(scripts === undefined ? {} : { scripts }),
    body,
  });
}

const alert = (id: string, message: string | undefined) => (message === undefined ? undefined : html`<p class="alert" role="alert" id="${id}">${message}</p>`);
const described = (id: string, message: string | undefined) => (message === undefined ? undefined : html` aria-describedby="${id}" aria-invalid="true"`);

export function loginPage(frame: PageFrame, input: { action: string; csrf: string; app: AppFacts; error?: string; email?: string }): Html {
  const t = text[frame.locale];
  const names = { app: input.app.name, publisher: input.app.publisher };
  return page(
    frame,
    fill(t.signInTitle, names),
    html`<p class="hint">${fill(t.signInIntro, names)}</p>
${alert('login-error', input.error)}
<form method="post" action="${input.action}" novalidate>
<input type="hidden" name="csrf" value="${input.csrf}">
<label for="email">${t.email}</label>
<input id="email" name="email" type="email" autocomplete="username" required value="${input.email ?? ''}"${described('login-error', input.error)}>
<label for="password">${t.password}</label>
<input id="password" name="password" type="password" autocomplete="current-password" required${described('login-error', input.error)}>
<div class="actions"><button class="primary" type="submit">${t.signIn}</button></div>
</form>
<form method="post" action="${input.action.replace(/\/login$/, '/abort')}">
<input type="hidden" name="csrf" value="${input.csrf}">
<button type="submit">${t.cancel}</button>
</form>`,
  );
}

export function secondFactorPage(frame: PageFrame, input: { action: string; csrf: string; ticket: string; passkey: boolean; error?: string }): Html {
  const t = text[frame.locale];
  return page(
    frame,
    t.factorTitle,
    html`<p>${input.passkey ? t.factorIntroPasskey : t.factorIntro}</p>
${alert('code-error', input.error)}
<form method="post" action="${input.action}" id="second-factor-form" novalidate>
<input type="hidden" name="csrf" value="${input.csrf}">
<input type="hidden" name="ticket" value="${input.ticket}">
<input type="hidden" name="passkey" id="passkey" value="">${input.passkey ? html`\n<input type="hidden" name="offer" value="passkey">` : undefined}
<label for="code">${t.code}</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"${described('code-error', input.error)}>
<div class="actions"><button class="primary" type="submit">${t.continue}</button></div>
</form>
${
  input.passkey
    ? html`<div class="actions"><button type="button" id="use-passkey" hidden data-options="${input.action.replace(/\/second-factor$/, '/passkey-options')}" data-waiting="${t.passkeyWaiting}" data-failed="${t.passkeyFailed}">${t.usePasskey}</button></div>
<p id="passkey-status" class="hint" role="status"></p>`
    : undefined
}`,
    input.passkey ? [passkeySignInPath] : undefined,
  );
}

/** A patient a staff member may choose, as the search found them (already redacted to their role). */
export interface PatientOption {
  readonly id: string;
  readonly name: string;
  readonly birthDate?: string;
}

/** A patient as the consent page lists them: the name (given names, family) and birth date of the record as the person may see it. */
export function patientOption(id: string, content: string): PatientOption {
  const resource = JSON.parse(content) as { name?: Array<{ text?: string; given?: string[]; family?: string }>; birthDate?: string };
  const name = resource.name?.[0];
  const label = name === undefined ? '' : (name.text ?? [...(name.given ?? []), name.family ?? ''].join(' ')).trim();
  return { id, name: label === '' ? `Patient/${id}` : label, ...(typeof resource.birthDate === 'string' ? { birthDate: resource.birthDate } : {}) };
}

export interface ConsentInput {
  readonly action: string;
  readonly csrf: string;
  readonly app: AppFacts;
  /** The scopes the person's role can use (what Allow grants). */
  readonly offered: readonly string[];
  /** The scopes asked for that the role cannot use (shown, never granted). */
  readonly dropped: readonly string[];
  readonly audience: ScopeAudience;
  readonly role: string;
  /** Patients: "your own records". */
  readonly patientLabel?: string;
  /** Staff choosing the patient record an app with patient/ scopes works with. */
  readonly patientChoice?: { readonly query: string; readonly searched: boolean; readonly options: readonly PatientOption[]; readonly chosen?: string };
  readonly error?: string;
}

const scopeItem = (locale: Locale, scope: string, audience: ScopeAudience) => html`<li>${describeScopeFor(locale, scope, audience)} <span class="hint">(${scope})</span></li>`;

export function consentPage(frame: PageFrame, input: ConsentInput): Html {
  const t = text[frame.locale];
  const choice = input.patientChoice;
  const records = frame.locale === 'de' ? { patient: 'Ihre eigenen Daten' } : { patient: 'your own records' };
  const options =
    choice === undefined
      ? undefined
      : choice.options.length === 0
        ? html`<p class="hint" id="patient-none">${choice.searched ? t.noMatch : t.searchFirst}</p>`
        : choice.options.map(
            (p, i) =>
              html`<div><input type="radio" name="patient" id="patient-${i}" value="${p.id}"${p.id === choice.chosen || choice.options.length === 1 ? html` checked` : undefined}> <label class="inline" for="patient-${i}">${p.name}${p.birthDate === undefined ? undefined : html` <span class="hint">(${t.born} ${/^\d{4}-\d{2}-\d{2}$/.test(p.birthDate) ? formatDate(frame.locale, `${p.birthDate}T00:00:00Z`) : p.birthDate})</span>`}</label></div>`,
          );
  return page(
    frame,
    fill(t.consentTitle, { app: input.app.name }),
    html`<dl class="facts"><dt>${t.app}</dt><dd>${input.app.name}</dd><dt>${t.publisher}</dt><dd>${input.app.publisher}</dd>${input.patientLabel === undefined ? undefined : html`<dt>${t.recordsOf}</dt><dd>${input.patientLabel === 'own' ? records.patient : input.patientLabel}</dd>`}</dl>
<h2>${t.asks}</h2>
<ul>
${input.offered.map((s) => scopeItem(frame.locale, s, input.audience))}
</ul>
${
  input.dropped.length === 0
    ? undefined
    : html`<h2>${t.notAvailable}</h2>
<p class="hint">${t.notAvailableHint}</p>
<ul>
${input.dropped.map((s) => scopeItem(frame.locale, s, input.audience))}
</ul>`
}
<p class="hint">${fill(t.capped, { role: input.role })}</p>
${alert('consent-error', input.error)}
${
  choice === undefined
    ? undefined
    : html`<form method="get" action="${input.action.replace(/\/consent$/, '')}" role="search">
<label for="q">${t.findPatient}</label>
<input id="q" name="q" type="search" autocomplete="off" value="${choice.query}" aria-describedby="q-hint">
<p class="hint" id="q-hint">${t.findHint}</p>
<button type="submit">${t.search}</button>
</form>`
}
<form method="post" action="${input.action}">
<input type="hidden" name="csrf" value="${input.csrf}">
${choice === undefined ? undefined : html`<input type="hidden" name="q" value="${choice.query}">\n<fieldset${input.error === undefined ? undefined : html` aria-describedby="consent-error"`}><legend>${t.choosePatient}</legend>\n${options}\n</fieldset>`}
<div class="actions"><button class="primary" type="submit" name="decision" value="allow">${t.allow}</button>
<button type="submit" name="decision" value="deny">${t.deny}</button></div>
</form>`,
  );
}

/** Nothing the app asks for is usable by this role: say so, and send the app `access_denied`. */
export function refusedPage(frame: PageFrame, input: { action: string; csrf: string; app: AppFacts; role: string; dropped: readonly string[]; audience: ScopeAudience }): Html {
  const t = text[frame.locale];
  return page(
    frame,
    fill(t.refusedTitle, { app: input.app.name }),
    html`<p>${fill(t.refusedText, { role: input.role })}</p>
<h2>${t.notAvailable}</h2>
<ul>
${input.dropped.map((s) => scopeItem(frame.locale, s, input.audience))}
</ul>
<form method="post" action="${input.action}">
<input type="hidden" name="csrf" value="${input.csrf}">
<button class="primary" type="submit" name="decision" value="deny">${t.returnToApp}</button>
</form>`,
  );
}

const messages: Texts<'signedOutTitle' | 'signedOutText' | 'factorRequiredTitle' | 'factorRequiredText' | 'errorTitle' | 'errorText'> = {
  en: {
    signedOutTitle: 'Signed out',
    signedOutText: 'Your sign-in ended; go back to the app and start again.',
    factorRequiredTitle: 'Second factor required',
    factorRequiredText: 'Your organisation requires a second factor for your account. Set one up in Tresor first, then connect the app again.',
    errorTitle: 'Something went wrong',
    errorText: 'The app sent a request this server cannot accept ({error}). Go back to the app and try again; if it keeps happening, tell the app’s publisher.',
  },
  de: {
    signedOutTitle: 'Abgemeldet',
    signedOutText: 'Ihre Anmeldung ist abgelaufen; kehren Sie zur App zurück und beginnen Sie neu.',
    factorRequiredTitle: 'Zweiter Faktor erforderlich',
    factorRequiredText: 'Ihre Organisation verlangt für Ihr Konto einen zweiten Faktor. Richten Sie ihn zuerst in Tresor ein und verbinden Sie dann die App erneut.',
    errorTitle: 'Etwas ist schiefgegangen',
    errorText: 'Die App hat eine Anfrage gesendet, die dieser Server nicht annehmen kann ({error}). Kehren Sie zur App zurück und versuchen Sie es erneut; passiert es wieder, informieren Sie den Anbieter der App.',
  },
};

export type MessageKind = 'signedOut' | 'factorRequired';

export function messagePage(frame: PageFrame, kind: MessageKind): Html {
  const t = messages[frame.locale];
  return page(frame, kind === 'signedOut' ? t.signedOutTitle : t.factorRequiredTitle, html`<p>${kind === 'signedOut' ? t.signedOutText : t.factorRequiredText}</p>`);
}

/** oidc-provider's own error page (a request it refuses before any page of ours), naming the OAuth error. */
export function oauthErrorPage(frame: PageFrame, error: string): Html {
  const t = messages[frame.locale];
  return page(frame, t.errorTitle, html`<p>${fill(t.errorText, { error })}</p>`);
}
