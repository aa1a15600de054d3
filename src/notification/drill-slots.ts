import type { IncidentCaller } from '../incidents/index.js';
import type { Notifier } from '../identity/index.js';
import type { Assessments } from './assessments.js';
import type { DrillContext, DrillSlots } from './drill.js';
import type { NoticeDrafts } from './drafts.js';

export interface DrillSlotsDeps {
  readonly assessments: Pick<Assessments, 'compute'>;
  readonly drafts: Pick<NoticeDrafts, 'generate' | 'list' | 'render'>;
  /** The same drafts service mailing through `notifier` instead of the configured one: the drill's test SMTP server. */
  readonly draftsMailingThrough: (notifier: Notifier) => Pick<NoticeDrafts, 'edit' | 'approve' | 'send'>;
  /** A notifier that hands mail straight to the drill's test SMTP server. */
  readonly testServer: (smtp: { readonly host: string; readonly port: number }) => Promise<Notifier & { close(): void }>;
}

class DrillCheckFailed extends Error {}

/** What the drill's operator writes into the letters: plain, and saying it is an exercise. */
const drillFreeText = {
  de: {
    whatHappened: 'Dies ist eine Übung mit erfundenen Daten: Ein Zugangsschlüssel wurde gestohlen und benutzt.',
    measures: 'Übung: Wir haben den Schlüssel gesperrt und den Vorfall untersucht.',
    consequences: 'Übung: keine — es sind keine echten Daten betroffen.',
    contact: 'Übung: keine Antwort nötig.',
  },
  en: {
    whatHappened: 'This is an exercise on made-up data: an access key was stolen and used.',
    measures: 'Exercise: we revoked the key and investigated the incident.',
    consequences: 'Exercise: none — no real data is affected.',
    contact: 'Exercise: no reply needed.',
  },
} as const;
const fail = (message: string): never => {
  throw new DrillCheckFailed(message);
};

/** What the drill's synthetic reads must lead to, per tenant: read in clear, every state far below 500, no card data. */
const expectedAnswers: Readonly<Record<string, string>> = {
  'gdpr.33-1': 'yes',
  'hipaa.164-402': 'yes',
  'hipaa.164-404': 'yes',
  'hipaa.164-406': 'no',
  'pci.12-10-1': 'not-applicable',
};

/**
 * The drill's assessment, drafts and delivery steps, over the services a real incident uses:
 * the checklist must come out as the synthetic compromise demands, a letter must exist for each
 * affected person naming them, and with a test SMTP server the letters are approved — by a
 * second, synthetic approver: the drill plays both people of the four eyes — and mailed to it.
 */
export function drillSlots({ assessments, drafts, draftsMailingThrough, testServer }: DrillSlotsDeps): DrillSlots {
  return {
    async assess({ caller, incidentId, scopeId, scope }: DrillContext) {
      const view = await assessments.compute(caller, incidentId, scopeId);
      for (const tenant of scope.tenants) {
        for (const [rule, answer] of Object.entries(expectedAnswers)) {
          const item = view.items.find((i) => i.rule === rule && i.tenantId === tenant.tenantId);
          // A regime switched off in the configuration lists no item: nothing to check.
          if (item !== undefined && item.answer !== answer) fail(`${rule} for ${tenant.tenantId} answers ${item.answer}, not ${answer}`);
        }
      }
      const due = view.items.filter((i) => i.dueAt !== null && (i.answer === 'yes' || i.answer === 'decide')).length;
      return `${view.items.length} items, ${due} with a deadline`;
    },

    async drafts({ caller, incidentId, scopeId, people }: DrillContext) {
      await drafts.generate(caller, incidentId, { scopeId });
      const letters = (await drafts.list(caller, incidentId)).filter((d) => d.kind === 'individual');
      let checked = 0;
      for (const person of people) {
        const letter = letters.find((d) => d.tenantId === person.tenantId);
        if (letter === undefined) fail(`no letters drafted for ${person.tenantId}`);
        // The people were checked against what the drill created when they were resolved.
        const { body } = await drafts.render(caller, incidentId, (letter as { id: string }).id, { format: 'text', recipient: person.patient });
        const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
        if (person.name === null || !text.includes(person.name)) fail(`the letter to ${person.patient} does not name its addressee`);
        checked += 1;
      }
      return `${letters.length} letter drafts, ${checked} letters checked for their addressee`;
    },

    async deliver({ caller, incidentId, smtp }: DrillContext) {
      if (smtp === undefined) return undefined;
      const notifier = await testServer(smtp);
      try {
        const mailing = draftsMailingThrough(notifier);
        const { accountId: _drafter, ...rest } = caller;
        const approver: IncidentCaller = { ...rest, actor: { ...caller.actor, id: 'system:incident-drill-approver' } };
        let mailed = 0;
        let posted = 0;
        for (const letter of (await drafts.list(caller, incidentId)).filter((d) => d.kind === 'individual')) {
          // The operator writes the free text (nothing is approved with the draft's reminders left in it).
          await mailing.edit(caller, incidentId, letter.id, drillFreeText);
          await mailing.approve(approver, incidentId, letter.id);
          const { tally } = await mailing.send(caller, incidentId, letter.id);
          if (tally.failed > 0) fail(`${tally.failed} letters of ${letter.tenantId} were refused by the test server`);
          mailed += tally.email;
          posted += tally.post;
        }
        return `${mailed} letters mailed to the test server, ${posted} to the print batch`;
      } finally {
        notifier.close();
      }
    },
  };
}

const loopback = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|localhost)$/;

/**
 * A notifier that hands each message straight to the drill's test SMTP server (`--smtp`),
 * never the configured relay. Plain SMTP on loopback only; anything else must offer STARTTLS
 * (RFC 8314: no cleartext submission across a network), verified as any relay's.
 */
export async function testServerNotifier(smtp: { readonly host: string; readonly port: number }): Promise<Notifier & { close(): void }> {
  const { createSmtpTransport } = await import('../mail/index.js');
  const transport = await createSmtpTransport({
    host: smtp.host,
    port: smtp.port,
    security: loopback.test(smtp.host) ? 'none' : 'starttls',
    from: 'incident-drill@tresor.invalid',
    connectionTimeoutMs: 10_000,
    greetingTimeoutMs: 10_000,
    socketTimeoutMs: 30_000,
  });
  return { send: (message) => transport.send({ to: message.to, subject: message.subject, text: message.text, html: message.html }), close: () => transport.close() };
}
