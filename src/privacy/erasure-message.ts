import type { Message } from '../identity/index.js';
import { html } from '../platform/pages/index.js';

/**
 * The confirmation to an erased person (GDPR Art. 12(3), 19): that their data was erased, when,
 * and by which clinic — no record contents, no name, no link (there is no account left to open
 * one). Both languages, German first, as the other messages to people (identity/messages.ts).
 */
export function erasureMessage(input: { tenantId: string; tenantName: string; accountId: string; to: string; erasedAt: string }): Message {
  const day = input.erasedAt.slice(0, 10);
  const de = `Ihre Daten bei ${input.tenantName} wurden am ${day} gelöscht (Art. 17 DSGVO). Ihr Zugang ist geschlossen; mit dieser Nachricht wird auch Ihre E-Mail-Adresse bei uns gelöscht.`;
  const en = `Your data held by ${input.tenantName} was erased on ${day} (GDPR Art. 17). Your account is closed; with this message your e-mail address is erased from our records too.`;
  return {
    kind: 'erasure',
    tenantId: input.tenantId,
    accountId: input.accountId,
    to: input.to,
    subject: `Löschung Ihrer Daten / Your data was erased (${input.tenantName})`,
    text: `${de}\n\n${en}\n`,
    html: html`<!doctype html><html lang="de"><body><p>${de}</p><p lang="en">${en}</p></body></html>`.toString(),
  };
}
