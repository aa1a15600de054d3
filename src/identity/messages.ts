import { html, type Html } from '../platform/pages/index.js';
import { resetTokenMinutes, setupTokenHours, type AccountInfo } from './accounts.js';
import { operatorRealm } from './realm.js';

/** `privacy-request`: a data subject's request changed (privacy/requests-mail.ts; no record contents, no free text). `alert`: a detection alert to a person (composed in detection/alert-message.ts; no token in it). `incident`: a customer update of an incident (incidents/update-message.ts; none either). `erasure`: the confirmation of an erasure to the erased person (privacy/erasure-message.ts; no contents). */
export type MessageKind = 'password-reset' | 'invitation' | 'alert' | 'incident' | 'privacy-request' | 'erasure';

export interface Message {
  readonly kind: MessageKind;
  readonly tenantId: string;
  readonly accountId: string;
  /** The recipient's email address. */
  readonly to: string;
  readonly subject: string;
  /** Plain text, with the link or token the message exists for. */
  readonly text: string;
  /** The same as a small HTML document (escaped by construction). */
  readonly html?: string | undefined;
}

/**
 * What an invitation and a password reset say. Both languages in one message, German first (the
 * first deployments are German clinics; tenants have no language setting): the recipient has no
 * session yet, so there is no locale of theirs to follow. Each links to the page that takes the
 * token (`…/account/setup?token=`, `…/account/reset?token=`), never to a JSON endpoint, says how
 * long it is valid, and also carries the code alone on its own line for a mail client that
 * breaks long links. A plain-text part and a small HTML part, escaped by construction.
 */

/** Where a person's account pages are: the tenant's realm, or the operators'. */
const realmPath = (tenantId: string) => (tenantId === operatorRealm ? '/platform' : `/tenants/${encodeURIComponent(tenantId)}`);

interface Link {
  readonly href: string;
  /** Set when `server.publicUrl` is unset: the link is a path only, and the message says so. */
  readonly relative: boolean;
}

function linkTo(publicUrl: string | undefined, tenantId: string, page: 'setup' | 'reset', token: string): Link {
  const path = `${realmPath(tenantId)}/account/${page}?token=${encodeURIComponent(token)}`;
  return publicUrl === undefined ? { href: path, relative: true } : { href: `${publicUrl.replace(/\/+$/, '')}${path}`, relative: false };
}

const relativeNote = {
  de: 'Hinweis: Dieser Tresor-Server kennt seine öffentliche Adresse nicht (server.publicUrl ist nicht gesetzt). Setzen Sie die Adresse Ihres Tresor-Servers vor den Pfad oben, z. B. https://tresor.ihre-praxis.de',
  en: "Note: this Tresor server does not know its public address (server.publicUrl is unset). Put your Tresor server's address in front of the path above, e.g. https://tresor.your-clinic.example",
};

interface Parts {
  readonly kind: Message['kind'];
  readonly subject: string;
  readonly de: readonly string[];
  readonly en: readonly string[];
  readonly button: { readonly de: string; readonly en: string };
}

function compose(account: AccountInfo, token: string, link: Link, parts: Parts): Message {
  const code = { de: 'Einmal-Code', en: 'One-time code' };
  const text = [
    ...parts.de,
    '',
    ...parts.en,
    '',
    link.href,
    '',
    `${code.de} / ${code.en}:`,
    token,
    ...(link.relative ? ['', relativeNote.de, relativeNote.en] : []),
    '',
    '-- ',
    'Tresor',
  ].join('\n');
  const paragraph = (lang: 'de' | 'en', lines: readonly string[]): Html => html`<p lang="${lang}">${lines.map((line, i) => (i === 0 ? line : html`<br>${line}`))}</p>`;
  const body = html`<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>${parts.subject}</title></head>
<body>
${paragraph('de', parts.de)}
${paragraph('en', parts.en)}
<p><a href="${link.href}">${parts.button.de} / <span lang="en">${parts.button.en}</span></a></p>
<p>${code.de} / <span lang="en">${code.en}</span>: <code>${token}</code></p>
${link.relative ? html`<p lang="de">${relativeNote.de}</p><p lang="en">${relativeNote.en}</p>` : ''}
</body></html>`;
  return { kind: parts.kind, tenantId: account.tenantId, accountId: account.id, to: account.email, subject: parts.subject, text, html: body.toString() };
}

export function invitationMessage(account: AccountInfo, token: string, publicUrl: string | undefined): Message {
  const where = account.tenantId === operatorRealm ? { de: 'als Plattform-Betreiber', en: 'as a platform operator' } : { de: `bei „${account.tenantId}“ (Rolle ${account.role})`, en: `at "${account.tenantId}" (role ${account.role})` };
  return compose(account, token, linkTo(publicUrl, account.tenantId, 'setup', token), {
    kind: 'invitation',
    subject: 'Ihr Tresor-Konto / Your Tresor account',
    de: [`Für Sie wurde ein Tresor-Konto ${where.de} angelegt.`, `Bitte wählen Sie innerhalb von ${setupTokenHours} Stunden Ihr Passwort über den Link unten. Der Link gilt nur einmal.`],
    en: [`An account was made for you in Tresor ${where.en}.`, `Please choose your password within ${setupTokenHours} hours at the link below. The link works once.`],
    button: { de: 'Passwort wählen', en: 'Choose your password' },
  });
}

export function resetMessage(account: AccountInfo, token: string, publicUrl: string | undefined): Message {
  const where = account.tenantId === operatorRealm ? { de: 'Ihres Tresor-Betreiberkontos', en: 'your Tresor operator account' } : { de: `Ihres Tresor-Kontos bei „${account.tenantId}“`, en: `your Tresor account at "${account.tenantId}"` };
  return compose(account, token, linkTo(publicUrl, account.tenantId, 'reset', token), {
    kind: 'password-reset',
    subject: 'Tresor-Passwort zurücksetzen / Reset your Tresor password',
    de: [
      `Jemand hat verlangt, das Passwort ${where.de} zurückzusetzen.`,
      `Wenn Sie das waren, wählen Sie innerhalb von ${resetTokenMinutes} Minuten über den Link unten ein neues Passwort. Der Link gilt nur einmal.`,
      'Wenn nicht, ignorieren Sie diese Nachricht: Ihr Passwort bleibt, wie es ist.',
    ],
    en: [
      `Someone asked to reset the password of ${where.en}.`,
      `If it was you, choose a new password within ${resetTokenMinutes} minutes at the link below. The link works once.`,
      'If it was not you, ignore this message: your password stays as it is.',
    ],
    button: { de: 'Neues Passwort wählen', en: 'Choose a new password' },
  });
}
