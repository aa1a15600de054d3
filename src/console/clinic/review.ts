import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { createEmergencyReview, type Audit, type StoredEvent } from '../../audit/index.js';
import { AppError } from '../../platform/errors.js';
import { formatDateTime, html, seeOther, type Html, type Locale, type Texts } from '../../platform/pages/index.js';
import { accessEvent, actorOf, type RecordAccess } from '../../records/index.js';
import type { PageGuard, StaffCaller } from '../page-guard.js';
import type { PageRealm } from '../page-realm.js';
import { sendClinicPage } from './clinic-page.js';
import { pageAccessContext } from '../page-access.js';
import { requireSection } from './section-access.js';

type Key =
  | 'title' | 'intro' | 'none' | 'access' | 'when' | 'who' | 'patient' | 'records' | 'reason' | 'verdict' | 'justified' | 'notJustified' | 'note' | 'noteHint'
  | 'signOff' | 'own' | 'signed' | 'trail' | 'invalid';

const text: Texts<Key> = {
  en: {
    title: 'Break-the-glass review', intro: 'Emergency accesses to records outside the care relationship that nobody has reviewed yet, newest first. Judge each against its stated reason.',
    none: 'Nothing to review.', access: 'Emergency access', when: 'When', who: 'Who', patient: 'Patient', records: 'Records opened', reason: 'Stated reason',
    verdict: 'Your verdict', justified: 'Justified', notJustified: 'Not justified', note: 'Review note', noteHint: '3–500 characters; recorded in the audit trail with your verdict.',
    signOff: 'Sign off this access', own: 'This is your own access: another reviewer signs it off.', signed: 'The review was recorded.', trail: 'See it in the audit trail',
    invalid: 'Choose a verdict and write a note of 3–500 characters.',
  },
  de: {
    title: 'Notfallzugriffe prüfen', intro: 'Notfallzugriffe auf Akten außerhalb der Behandlung, die noch niemand geprüft hat, neueste zuerst. Beurteilen Sie jeden anhand der angegebenen Begründung.',
    none: 'Nichts zu prüfen.', access: 'Notfallzugriff', when: 'Wann', who: 'Wer', patient: 'Patient', records: 'Geöffnete Akten', reason: 'Angegebene Begründung',
    verdict: 'Ihr Urteil', justified: 'Gerechtfertigt', notJustified: 'Nicht gerechtfertigt', note: 'Prüfvermerk', noteHint: '3–500 Zeichen; wird mit Ihrem Urteil im Protokoll festgehalten.',
    signOff: 'Diesen Zugriff abzeichnen', own: 'Das ist Ihr eigener Zugriff: Eine andere Person zeichnet ihn ab.', signed: 'Die Prüfung wurde festgehalten.', trail: 'Im Protokoll ansehen',
    invalid: 'Wählen Sie ein Urteil und schreiben Sie einen Vermerk mit 3–500 Zeichen.',
  },
};

export interface ReviewPagesDeps {
  readonly guard: PageGuard;
  readonly realm: PageRealm;
  readonly audit: Audit;
  readonly access: RecordAccess;
}

/**
 * `/tenants/{t}/console/review/` (`emergency:review`): the break-the-glass accesses nobody has
 * signed off (the JSON queue `GET /audit/emergency-access/pending`), each with a sign-off form;
 * `POST …/review/{id}` records the verdict through the audit module's review service. Viewing the
 * queue is an `audit.read` event, as reading the trail through the API is.
 */
export function reviewPages({ guard, realm, audit, access }: ReviewPagesDeps) {
  const review = createEmergencyReview(audit);

  function item(caller: StaffCaller, grant: StoredEvent, error?: string): Html {
    const t = text[caller.locale];
    const locale: Locale = caller.locale;
    const id = `access-${grant.seq}`;
    const mine = grant.actor.id === actorOf(caller.principal).id;
    const trail = `/tenants/${caller.me.realmId}/console/audit/?action=access.emergency_granted&actor=${encodeURIComponent(grant.actor.id)}`;
    return html`<li><h2 id="${id}">${t.access} #${grant.seq}</h2>
<dl class="facts"><dt>${t.when}</dt><dd><time datetime="${new Date(grant.at).toISOString()}">${formatDateTime(locale, grant.at)}</time></dd>
<dt>${t.who}</dt><dd>${grant.actor.id} <span class="role">(${grant.actor.role})</span></dd>
<dt>${t.patient}</dt><dd>${grant.subjects.join(', ')}</dd>
<dt>${t.records}</dt><dd>${grant.resources.join(', ')}</dd>
<dt>${t.reason}</dt><dd>${grant.detail}</dd></dl>
<p><a href="${trail}">${t.trail}</a></p>
${
  mine
    ? html`<p class="notice">${t.own}</p>`
    : html`<form method="post" action="/tenants/${caller.me.realmId}/console/review/${String(grant.seq)}" aria-labelledby="${id}" novalidate>
<input type="hidden" name="csrf" value="${caller.me.csrf}">
${error === undefined ? undefined : html`<p class="alert" role="alert" id="${id}-error">${error}</p>`}
<fieldset${error === undefined ? undefined : html` aria-describedby="${id}-error"`}><legend>${t.verdict}</legend>
<label><input type="radio" name="verdict" value="justified" required> ${t.justified}</label>
<label><input type="radio" name="verdict" value="not-justified" required> ${t.notJustified}</label>
</fieldset>
<label for="${id}-note">${t.note}</label>
<textarea id="${id}-note" name="note" rows="2" required minlength="3" maxlength="500" aria-describedby="${error === undefined ? `${id}-hint` : `${id}-error ${id}-hint`}"${error === undefined ? undefined : html` aria-invalid="true"`}></textarea>
<p class="hint" id="${id}-hint">${t.noteHint}</p>
<button type="submit" class="primary">${t.signOff}</button>
</form>`
}</li>`;
  }

  async function queuePage(request: FastifyRequest, reply: FastifyReply, caller: StaffCaller, options: { notice?: string; failed?: { seq: number; error: string }; status?: number } = {}): Promise<FastifyReply> {
    const t = text[caller.locale];
    const pending = await review.pending(caller.me.realmId, 100);
    const ctx = pageAccessContext(request, caller);
    await audit.record(ctx.tenantId, [accessEvent(ctx, 'audit.read', [], 200)]);
    const body = html`<p>${t.intro}</p>${pending.length === 0 ? html`<p role="status">${t.none}</p>` : html`<ul class="plain">${pending.map((g) => item(caller, g, options.failed?.seq === g.seq ? options.failed.error : undefined))}</ul>`}`;
    return sendClinicPage(request, reply, caller, { section: 'review', title: t.title, body, ...(options.notice === undefined ? {} : { notice: options.notice }), ...(options.status === undefined ? {} : { status: options.status }) });
  }

  return async function plugin(app: FastifyInstance): Promise<void> {
    app.get('/tenants/:tenant/console/review/', async (request, reply) => {
      const caller = await guard.person(request, reply, realm);
      if (caller === undefined) return reply;
      requireSection(caller, 'review');
      const signed = (request.query as Record<string, unknown>)['signed'];
      return queuePage(request, reply, caller, typeof signed === 'string' && /^\d{1,15}$/.test(signed) ? { notice: text[caller.locale].signed } : {});
    });

    app.post('/tenants/:tenant/console/review/:id', async (request, reply) => {
      const caller = await guard.person(request, reply, realm);
      if (caller === undefined) return reply;
      requireSection(caller, 'review');
      const { id } = request.params as { id: string };
      const seq = /^\d{1,15}$/.test(id) ? Number(id) : 0;
      const form = (request.body ?? {}) as Record<string, unknown>;
      const ctx = pageAccessContext(request, caller);
      try {
        await review.signOff(caller.me.realmId, {
          access: seq,
          verdict: (form['verdict'] === 'justified' || form['verdict'] === 'not-justified' ? form['verdict'] : '') as 'justified',
          note: typeof form['note'] === 'string' ? form['note'] : '',
          reviewer: actorOf(caller.principal),
          purpose: ctx.purpose,
          requestId: ctx.requestId,
          sourceIp: ctx.sourceIp,
        });
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        // Refusals are audited as the JSON route's are (a 403 is access.denied).
        const shown = await access.failed(ctx, 'access.emergency_reviewed', seq === 0 ? '' : `AuditEvent/${seq}`, error);
        if (shown.code === 'review-invalid') return queuePage(request, reply, caller, { failed: { seq, error: text[caller.locale].invalid }, status: 400 });
        throw shown;
      }
      // PRG: the queue again, without the signed-off access (RFC 9110 §15.4.4 303).
      return seeOther(reply, `/tenants/${caller.me.realmId}/console/review/?signed=${seq}`);
    });
  };
}
