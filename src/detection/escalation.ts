import type { Accounts, Notifier } from '../identity/index.js';
import type { Clock } from '../platform/clock.js';
import type { Storage } from '../platform/db/index.js';
import { describeErrorForLog } from '../platform/errors.js';
import type { Leadership } from '../platform/leadership.js';
import { periodic } from '../platform/periodic.js';
import { realmRounds } from '../platform/realm-rounds.js';
import { walkTenants } from '../platform/walk-tenants.js';
import { readAlertSettings, type AlertSettings } from './alert-settings.js';
import { alertMessage, type Recipient } from './alert-message.js';
import { levels, nextStepAt, planStep, type EscalationPolicy, type Level } from './escalation-policy.js';
import { hasPendingSteps, saveStep, selectDue } from './escalation-store.js';
import type { Alert } from './store.js';

export interface EscalationDeps {
  readonly storage: Storage;
  readonly clock: Clock;
  /** Who the tenant's admins and the platform's operators are, with their addresses. */
  readonly accounts: Pick<Accounts, 'list'>;
  /** The tenant's name for the subject line. */
  readonly tenantName: (tenantId: string) => Promise<string | undefined>;
  /** Messages to people: the SMTP relay's notifier (a sealed outbox, retried until taken), or the outbox. */
  readonly notifier: Notifier;
  readonly publicUrl: string | undefined;
  readonly operatorRealm: string;
  readonly policy: EscalationPolicy;
  /** Ids, rule ids, levels and counts only: never an address. */
  readonly log: { info(fields: object, message: string): void; warn(fields: object, message: string): void; error(fields: object, message: string): void };
  /** Alerts looked at per realm and round. */
  readonly batch?: number;
  /**
   * A tenant's alert reaches the operators' level (escalated.ts `reached`): awaited before their
   * mail is handed over, so their console shows every tenant alert they were mailed about.
   */
  readonly reachedOperators?: (alert: Alert, at: number) => Promise<void>;
}

export interface Escalation {
  /** Sends what is due in the realm now (one at a time per realm in this process); resolves with how many mails were handed over. */
  run(realm: string): Promise<number>;
  /**
   * The job: every realm each `everyMs` (steps come due as time passes, quiet hours end), and a
   * realm at once when `wake` is called (an alert raised or made more severe). With a
   * leadership, only the leading node sends: the state is shared, the mail goes once.
   */
  start(options: { realms: () => Promise<string[]>; everyMs: number; leadership?: Leadership }): { wake(realm: string): void; stop(): Promise<void> };
}

/**
 * Alerts that reach a person (SPEC L4; NIST SP 800-61r2 §3.2.7 notification): each open alert
 * walks the escalation path — the tenant's admins, its security contact, the platform operators
 * — one level each time its severity's time passes without an acknowledgement; an acknowledged
 * or resolved alert stops. The state is in the realm's data set (escalation-store.ts) and is
 * written after the step's mail was handed to the notifier, whose outbox keeps it until the
 * relay took it: a crash at any point loses no mail (at worst, one crashing in the instant
 * between the two repeats a step's mail — for an alert, twice beats never).
 */
export function createEscalation(deps: EscalationDeps): Escalation {
  const { storage, clock, accounts, notifier, operatorRealm, policy, log } = deps;
  const batch = deps.batch ?? 200;

  async function recipientsOf(realm: string, level: Level, settings: AlertSettings): Promise<Recipient[]> {
    if (level === levels.securityContact) return settings.securityContact === undefined ? [] : [{ realm, accountId: 'security-contact', email: settings.securityContact }];
    const [home, role] = level === levels.admins ? [realm, 'tenant-admin'] : [operatorRealm, 'operator'];
    // Active accounts only: an invited person has not proven the address, a disabled one left.
    return (await accounts.list(home)).filter((a) => a.role === role && a.status === 'active').map((a) => ({ realm: home, accountId: a.id, email: a.email }));
  }

  async function notifyOne(realm: string, alert: Alert, from: Level, to: Level, moreSevere: boolean, settings: AlertSettings, now: number): Promise<{ level: Level; sent: number }> {
    const platform = realm === operatorRealm;
    const where = { id: realm, name: platform ? 'Tresor' : ((await deps.tenantName(realm)) ?? realm), platform };
    let sent = 0;
    let level = from;
    for (;;) {
      // Recorded first: a crash after it and before the step is saved repeats the step next round
      // (the record is written again, the same), while the other order could leave operators
      // mailed about an alert their console does not list.
      if (level === levels.operators && !platform) await deps.reachedOperators?.(alert, now);
      const recipients = await recipientsOf(realm, level, settings);
      const next = nextStepAt(alert.severity, level, now, policy);
      const input = { alert, where, level, moreSevere, timeZone: settings.timeZone, publicUrl: deps.publicUrl, escalatesInMinutes: next === undefined ? undefined : policy.minutes[alert.severity] };
      for (const recipient of recipients) {
        await notifier.send(alertMessage(input, recipient));
        sent += 1;
      }
      // A level with nobody on it (no security contact set) is passed on at once: someone must hear.
      if (level >= to && (recipients.length > 0 || level >= levels.operators)) break;
      if (level < to || recipients.length === 0) level = (level + 1) as Level;
    }
    if (sent === 0) log.error({ event: 'alert.unnotified', realm, alert: alert.id, rule: alert.rule }, 'nobody to tell of this alert: no active admin, no security contact, no active operator');
    return { level, sent };
  }

  async function runNow(realm: string): Promise<number> {
    const db = await storage.tenant(realm);
    const now = clock.now().getTime();
    const due = await selectDue(db, realm, now, batch);
    if (due.length === 0) return 0;
    const settings = await readAlertSettings(db);
    const operators = realm === operatorRealm;
    let mails = 0;
    for (const { alert, step } of due) {
      const plan = planStep({ severity: alert.severity, step, now, operators, settings, policy });
      if (plan.kind === 'hold') continue;
      if (plan.kind === 'console') {
        await saveStep(db, alert.id, { level: 0, severity: alert.severity, notifiedAt: now });
        continue;
      }
      if (plan.kind === 'none') {
        // Only the severity it is known by changes, so the alert is not looked at again each round.
        if (step !== undefined && step.severity !== alert.severity) await saveStep(db, alert.id, { ...step, severity: alert.severity });
        continue;
      }
      const moreSevere = step !== undefined && step.level > 0 && plan.from <= step.level;
      const { level, sent } = await notifyOne(realm, alert, plan.from, plan.to, moreSevere, settings, now);
      const nextAt = nextStepAt(alert.severity, level, now, policy);
      await saveStep(db, alert.id, { level, severity: alert.severity, notifiedAt: now, ...(nextAt === undefined ? {} : { nextAt }) });
      log.info({ event: 'alert.notified', realm, alert: alert.id, rule: alert.rule, severity: alert.severity, level, mails: sent }, 'alert mailed');
      mails += sent;
    }
    return mails;
  }

  // Per realm one round at a time in this process (leadership keeps other nodes out).
  const running = new Map<string, Promise<number>>();
  function runInTurn(realm: string): Promise<number> {
    const next = (running.get(realm) ?? Promise.resolve(0)).catch(() => 0).then(() => runNow(realm));
    running.set(realm, next);
    void next
      .finally(() => {
        if (running.get(realm) === next) running.delete(realm);
      })
      .catch(() => undefined);
    return next;
  }

  return {
    run: runInTurn,
    start({ realms, everyMs, leadership }) {
      let stopped = false;
      let waking: Promise<void> = Promise.resolve();
      const failed = (realm: string) => (error: unknown) => {
        log.error({ event: 'alert.notify_failed', realm, err: describeErrorForLog(error) }, 'alert mail round failed; the next round tries again');
      };
      // Realms with open alerts that may need a step, and those a change here marked; all of
      // them every tenth round (steps another node's alerts need, or a crash cut off).
      const rounds = realmRounds(10);
      const walk = periodic(
        async (isStopped, pause) => {
          const { realms: due } = rounds.pick(await realms());
          await walkTenants(
            storage,
            due,
            async (realm) => {
              await runInTurn(realm).catch(failed(realm));
              rounds.settle(realm, await hasPendingSteps(await storage.tenant(realm)).catch(() => true));
            },
            { stopped: isStopped, pause, spreadMs: 0 },
          );
        },
        everyMs,
        0,
        leadership,
      );
      return {
        wake(realm) {
          if (stopped) return;
          rounds.mark(realm);
          waking = waking.then(async () => {
            if (stopped || (leadership !== undefined && !(await leadership.held()))) return;
            await storage.visitTenant(realm, () => runInTurn(realm)).catch(failed(realm));
          });
        },
        async stop() {
          stopped = true;
          await walk.stop();
          await waking;
          await Promise.all([...running.values()].map((p) => p.catch(() => 0)));
        },
      };
    },
  };
}
