import type { Message } from '../identity/index.js';
import { html } from '../platform/pages/index.js';
import type { Incident } from './types.js';

/** The clinic console's page of an incident. */
export const clinicIncidentPath = (tenant: string, id: string): string => `/tenants/${tenant}/console/incidents/${id}`;
/** The operator console's page of an incident. */
export const operatorIncidentPath = (id: string): string => `/platform/console/incidents/${id}`;

/** How a mail names the incident and which of its updates it carries: `<incident id>#<update number>`. */
export const updateMark = (incidentId: string, seq: number): string => `${incidentId}#${seq}`;

export interface UpdateMailInput {
  readonly incident: Pick<Incident, 'id' | 'title' | 'severity' | 'state'>;
  /** The update's number in the incident's timeline. */
  readonly seq: number;
  readonly tenant: { readonly id: string; readonly name: string };
  /** The customer update, as the operator wrote it for the affected tenants. */
  readonly text: string;
  readonly publicUrl: string | undefined;
  readonly to: { readonly accountId: string; readonly email: string };
}

// Header text: no line breaks or controls in a subject (RFC 5322 §2.2).
const oneLine = (text: string) => text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();

/**
 * A customer update of an incident as mail to a tenant's admin or security contact, German first
 * and English below like every Tresor message. It carries the operator's text, the incident's
 * title, severity and state and a link to the clinic console's page — nothing from records, no
 * tokens (the operator's text is checked by a person, not by this function).
 */
export function updateMessage(input: UpdateMailInput): Message {
  const { incident, tenant } = input;
  const base = (input.publicUrl ?? '').replace(/\/+$/, '');
  const link = `${base}${clinicIncidentPath(tenant.id, incident.id)}`;
  const subject = `[Tresor incident ${incident.severity.toUpperCase()}] ${oneLine(incident.title)} – ${oneLine(tenant.name)} (${tenant.id})`;
  const de = `Neuigkeiten zu einem Sicherheitsvorfall, der Ihren Mandanten betrifft (Stand: ${incident.state}).`;
  const en = `An update on a security incident that concerns your tenant (state: ${incident.state}).`;
  const text = [de, en, '', input.text, '', `Vorfall ansehen / View the incident: ${link}`, `Vorfall / Incident: ${updateMark(incident.id, input.seq)}`, '', '-- ', 'Tresor'].join('\n');
  const body = html`<!doctype html>
<html lang="de"><head><meta charset="utf-8"><title>${subject}</title></head>
<body>
<p lang="de">${de}</p>
<p lang="en">${en}</p>
${input.text.split(/\n{2,}/).map((paragraph) => html`<p>${paragraph.split('\n').map((line, i) => (i === 0 ? line : html`<br>${line}`))}</p>`)}
<p><a href="${link}">Vorfall ansehen / <span lang="en">View the incident</span></a></p>
<p>Vorfall / <span lang="en">Incident</span>: ${updateMark(incident.id, input.seq)}</p>
</body></html>`;
  return { kind: 'incident', tenantId: tenant.id, accountId: input.to.accountId, to: input.to.email, subject, text, html: body.toString() };
}
