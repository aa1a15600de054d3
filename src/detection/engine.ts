import { selectEventsToEvaluate, selectHead } from '../audit/index.js';
import type { Clock } from '../platform/clock.js';
import type { SqlDatabase, SqlExecutor, Storage } from '../platform/db/index.js';
import type { Leadership } from '../platform/leadership.js';
import { periodic } from '../platform/periodic.js';
import { walkTenants } from '../platform/walk-tenants.js';
import { readAlertSettings, realmContext } from './alert-settings.js';
import { DetectionError } from './errors.js';
import { createStateCache, remember } from './state-cache.js';
import { moveCursor, pruneStates, selectCursor, selectStates, saveState } from './store.js';
import type { DetectionEvent, EventRule, Finding, RuleConfig, Rule } from './types.js';
import { severities } from './types.js';

/** A finding ready to be stored: which rule, in which realm, when (the engine's and probes' output). */
export interface Raised {
  readonly realm: string;
  readonly rule: Rule;
  readonly finding: Finding;
  /** When it was seen (the event's time, or the probe's). */
  readonly at: number;
}

export interface EngineMetrics {
  /** Events the rules looked at. */
  evaluated(count: number): void;
  /** A rule threw on an event (it is skipped for that event; the others run). */
  ruleFailed(ruleId: string): void;
  /** Age of the oldest event not evaluated yet in a realm, ms (0 when caught up). */
  lag(realm: string, ms: number): void;
}

export interface EngineDeps {
  readonly storage: Pick<Storage, 'tenant' | 'visitTenant'>;
  readonly clock: Clock;
  readonly rules: readonly Rule[];
  /** Thresholds per rule id (config `detection.rules`), checked against each rule's defaults. */
  readonly overrides: Readonly<Record<string, RuleConfig>>;
  /** The operators' realm id (its trail gets the `operators` rules). */
  readonly operatorRealm: string;
  /** Stores the findings inside the engine's transaction (alerts.ts `store`). */
  readonly store: (tx: SqlExecutor, raised: readonly Raised[]) => Promise<void>;
  /** After the transaction committed: the alerts are durable, delivery may start. */
  readonly afterStore?: (realm: string) => void;
  readonly metrics?: EngineMetrics;
  /** Events read per realm and transaction. */
  readonly batchEvents: number;
  /**
   * Chains the realm's committed pending events (audit.settle; PostgreSQL) before an `evaluate()`
   * called by hand, so it sees every answered request's event. The job does not: it is woken once
   * events are chained, and its walk picks up the rest.
   */
  readonly settle?: (realm: string) => Promise<void>;
  /** Rule state untouched this long is dropped (ms); default 35 days, past every window and baseline. */
  readonly stateTtlMs?: number;
}

export interface Engine {
  /** Evaluates the realm's events up to its chain's head now (pending ones chained first); resolves with how many it evaluated. */
  evaluate(realm: string): Promise<number>;
  /**
   * The background job: every realm with new events shortly after they are appended in this
   * process (`wake`), and every realm each `walkMs` (events other processes or nodes appended).
   * With a leadership, only the leading node evaluates: the state is shared, the work is not.
   */
  run(options: RunOptions): { wake(realm: string): void; stop(): Promise<void> };
  /** The thresholds in effect for a rule. */
  configOf(ruleId: string): RuleConfig;
}

/**
 * Merges the configured thresholds over each rule's defaults; an unknown rule id, an unknown
 * threshold or a value of another type than the default's is refused at start, by name.
 */
export function ruleConfigs(rules: readonly Rule[], overrides: Readonly<Record<string, RuleConfig>>): Map<string, RuleConfig> {
  const configs = new Map<string, RuleConfig>();
  for (const rule of rules) configs.set(rule.id, rule.defaults);
  for (const [id, values] of Object.entries(overrides)) {
    const rule = rules.find((r) => r.id === id);
    if (rule === undefined) throw new DetectionError('rules-config-invalid', `detection.rules: no rule ${JSON.stringify(id)} (tresor detection rules lists them)`, { status: 400 });
    for (const [key, value] of Object.entries(values)) {
      const fallback = (rule.defaults as Record<string, unknown>)[key];
      if (fallback === undefined) throw new DetectionError('rules-config-invalid', `detection.rules.${id}: no threshold ${JSON.stringify(key)} (it has ${Object.keys(rule.defaults).join(', ')})`, { status: 400 });
      if (Array.isArray(fallback) !== Array.isArray(value) || typeof fallback !== typeof value) throw new DetectionError('rules-config-invalid', `detection.rules.${id}.${key}: expected a ${Array.isArray(fallback) ? 'list' : typeof fallback}`, { status: 400 });
      if (typeof value === 'number' && (!Number.isFinite(value) || value < 0)) throw new DetectionError('rules-config-invalid', `detection.rules.${id}.${key}: a number of 0 or more`, { status: 400 });
    }
    configs.set(id, { ...rule.defaults, ...values });
  }
  for (const rule of rules) if (!severities.includes(rule.severity)) throw new DetectionError('rules-config-invalid', `rule ${rule.id}: unknown severity`, { status: 500 });
  return configs;
}

const stateTtlDefault = 35 * 24 * 3_600_000;

/**
 * The detection engine (SPEC L2): reads each realm's audit chain after a durable cursor, runs
 * every event rule over each event with the rule's stored state, and in one transaction stores
 * the findings as alerts, saves the state and moves the cursor — only if the cursor is still
 * where it read it, so two nodes or processes never raise the same alert twice. It never sits on
 * a request's path: the trail is written first, the rules read it afterwards; a rule that throws
 * is counted and skipped for that event, and nothing stops the trail from growing.
 */
export function createEngine(deps: EngineDeps): Engine {
  const { storage, clock, rules, operatorRealm, batchEvents } = deps;
  const configs = ruleConfigs(rules, deps.overrides);
  // Per action, the rules that watch it with their thresholds: one list for the tenants' trails,
  // one for the operators'.
  interface Watching {
    readonly rule: EventRule<unknown, RuleConfig>;
    readonly config: RuleConfig;
  }
  const watching = { tenants: new Map<string, Watching[]>(), operators: new Map<string, Watching[]>() };
  for (const rule of rules) {
    if (rule.kind !== 'event') continue;
    const entry: Watching = { rule, config: configs.get(rule.id) as RuleConfig };
    for (const [realms, byAction] of Object.entries(watching)) {
      if (rule.realms !== 'all' && rule.realms !== realms) continue;
      for (const action of rule.actions) {
        const list = byAction.get(action) ?? [];
        list.push(entry);
        byAction.set(action, list);
      }
    }
  }
  // 64 realms of up to 10,000 keys: a clinic's few dozen principals take well under a megabyte
  // (a service key's window of 5,000 patients is the largest state, about 75 KB); past the
  // bound a realm's states are read per batch, as without the cache.
  const stateCache = createStateCache(64, 10_000);
  const ttl = deps.stateTtlMs ?? stateTtlDefault;
  const lastPrune = new Map<string, number>();

  // Per realm one evaluation at a time in this process (the cursor guards across processes).
  const running = new Map<string, Promise<number>>();
  function evaluateInTurn(realm: string): Promise<number> {
    const previous = running.get(realm) ?? Promise.resolve(0);
    const next = previous.catch(() => 0).then(() => evaluateNow(realm));
    running.set(realm, next);
    void next.finally(() => {
      if (running.get(realm) === next) running.delete(realm);
    }).catch(() => undefined);
    return next;
  }

  async function evaluateNow(realm: string): Promise<number> {
    const db = await storage.tenant(realm);
    let total = 0;
    for (;;) {
      const evaluated = await batch(db, realm);
      if (evaluated < 0) break;
      total += evaluated;
      if (evaluated < batchEvents) break;
      // A backlog is worked off batch by batch with the event loop free in between: requests
      // are answered between two batches, not after the whole backlog.
      await new Promise((resolve) => setImmediate(resolve));
    }
    const now = clock.now().getTime();
    if (now - (lastPrune.get(realm) ?? 0) > 3_600_000) {
      lastPrune.set(realm, now);
      stateCache.drop(realm);
      await pruneStates(db, now - ttl);
    }
    return total;
  }

  // One batch: -1 when there was nothing to read.
  async function batch(db: SqlDatabase, realm: string): Promise<number> {
    let cursor = await selectCursor(db);
    if (cursor === undefined) {
      // The migration places the cursor (store.ts: a new realm from its first event, an upgraded
      // one from its end); should its row be gone, the rules go on from the chain's head rather
      // than replay the whole history into a flood of stale alerts.
      const head = (await selectHead(db))?.seq ?? 0;
      await db.transaction((tx) => moveCursor(tx, undefined, head));
      cursor = await selectCursor(db);
      if (cursor === undefined) return -1;
    }
    const events = await selectEventsToEvaluate(db, realm, cursor, batchEvents);
    if (events.length === 0) {
      deps.metrics?.lag(realm, 0);
      return -1;
    }
    deps.metrics?.lag(realm, Math.max(0, clock.now().getTime() - (events[0] as DetectionEvent).at));
    const operators = realm === operatorRealm;
    const context = realmContext(realm, operators, await readAlertSettings(db));
    const byAction = operators ? watching.operators : watching.tenants;
    // Each event with the rules that watch it and their keys; the keys each rule needs states for.
    const keyed: Array<{ event: DetectionEvent; watch: Watching; key: string | undefined }> = [];
    const keysOf = new Map<string, Set<string>>();
    for (const event of events) {
      const list = byAction.get(event.action);
      if (list === undefined) continue;
      for (const watch of list) {
        let key: string | undefined;
        try {
          key = watch.rule.key?.(event, watch.config);
        } catch {
          deps.metrics?.ruleFailed(watch.rule.id);
          continue;
        }
        keyed.push({ event, watch, key });
        if (key !== undefined) {
          let keys = keysOf.get(watch.rule.id);
          if (keys === undefined) keysOf.set(watch.rule.id, (keys = new Set()));
          keys.add(key);
        }
      }
    }
    // The batch's states: those this process kept since it last moved the cursor, the rest read
    // at once. The batch works on its own copies; the kept ones change only once it committed.
    const kept = stateCache.at(realm, cursor);
    const states = new Map<string, Map<string, unknown>>();
    try {
      for (const [rule, keys] of keysOf) {
        const known = kept.rules.get(rule);
        const batchStates = new Map<string, unknown>();
        const missing: string[] = [];
        for (const key of keys) {
          if (known?.has(key) !== true) missing.push(key);
          else if (known.get(key) !== undefined) batchStates.set(key, known.get(key));
        }
        if (missing.length > 0) {
          const read = await selectStates(db, rule, missing);
          for (const key of missing) {
            const state = read.get(key);
            remember(kept, rule, key, state);
            if (state !== undefined) batchStates.set(key, state);
          }
        }
        states.set(rule, batchStates);
      }
    } catch (error) {
      stateCache.drop(realm);
      throw error;
    }
    const changed = new Map<string, Map<string, unknown>>();
    const raised: Raised[] = [];
    for (const { event, watch, key } of keyed) {
      const { rule } = watch;
      try {
        const ruleStates = key === undefined ? undefined : states.get(rule.id);
        const outcome = rule.evaluate(event, ruleStates?.get(key as string), watch.config, context);
        if (ruleStates !== undefined && outcome.state !== undefined) {
          if (outcome.state === null) ruleStates.delete(key as string);
          else ruleStates.set(key as string, outcome.state);
          let changes = changed.get(rule.id);
          if (changes === undefined) changed.set(rule.id, (changes = new Map()));
          changes.set(key as string, outcome.state);
        }
        if (outcome.findings !== undefined) for (const finding of outcome.findings) raised.push({ realm, rule, finding: finding.evidence === undefined ? { ...finding, evidence: [event.seq] } : finding, at: event.at });
      } catch {
        // A broken rule must not stop the others nor the cursor: it misses this event, and says so.
        deps.metrics?.ruleFailed(rule.id);
      }
    }
    const last = (events[events.length - 1] as DetectionEvent).seq;
    const now = clock.now().getTime();
    let moved = false;
    try {
      moved = await db.transaction(async (tx) => {
        if (!(await moveCursor(tx, cursor, last))) return false;
        for (const [rule, changes] of changed) for (const [key, state] of changes) await saveState(tx, rule, key, state, now);
        if (raised.length > 0) await deps.store(tx, raised);
        return true;
      });
    } finally {
      if (moved) {
        for (const [rule, changes] of changed) for (const [key, state] of changes) remember(kept, rule, key, state ?? undefined);
        stateCache.moved(realm, kept, last);
      } else stateCache.drop(realm);
    }
    // Another process evaluated these events first (its alerts stand): read on from where it is.
    if (!moved) return 0;
    deps.metrics?.evaluated(events.length);
    if (raised.length > 0) deps.afterStore?.(realm);
    if (events.length < batchEvents) deps.metrics?.lag(realm, 0);
    return events.length;
  }

  return {
    async evaluate(realm) {
      await deps.settle?.(realm);
      return evaluateInTurn(realm);
    },
    configOf(ruleId) {
      const config = configs.get(ruleId);
      if (config === undefined) throw new DetectionError('unknown-rule', `no rule ${ruleId}`, { status: 404 });
      return config;
    },
    run: (options) =>
      scheduleDetection({
        ...options,
        evaluate: (realm) => storage.visitTenant(realm, () => evaluateInTurn(realm)),
        walk: async (ids, isStopped, pause) => {
          await walkTenants(storage, ids, async (realm) => void (await evaluateInTurn(realm)), { stopped: isStopped, pause, spreadMs: 0 });
        },
        settled: () => Promise.all(running.values()).then(() => undefined, () => undefined),
      }),
  };
}

/** How the engine's work is run: where (this thread or the worker), and the realms it covers. */
export interface RunOptions {
  readonly realms: () => Promise<string[]>;
  readonly wakeMs: number;
  readonly walkMs: number;
  readonly leadership?: Leadership;
}

/**
 * The background job, wherever the rules run: every realm with new events shortly after they are
 * appended in this process (`wake`, debounced by `wakeMs`), and every realm each `walkMs` (events
 * other processes or nodes appended). With a leadership, only the leading node evaluates.
 */
export function scheduleDetection(options: RunOptions & {
  readonly evaluate: (realm: string) => Promise<unknown>;
  readonly walk: (realms: readonly string[], stopped: () => boolean, pause: (ms: number) => Promise<void>) => Promise<void>;
  /** Resolves when work started outside the job (an `evaluate()` by hand) is done. */
  readonly settled: () => Promise<void>;
}): { wake(realm: string): void; stop(): Promise<void> } {
  const { realms, wakeMs, walkMs, leadership } = options;
  const woken = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let flushing: Promise<void> = Promise.resolve();
  const flush = () => {
    timer = undefined;
    const ids = [...woken];
    woken.clear();
    flushing = flushing.then(async () => {
      if (stopped || (leadership !== undefined && !(await leadership.held()))) return;
      for (const realm of ids) {
        if (stopped) return;
        await options.evaluate(realm).catch(() => woken.add(realm));
      }
    });
  };
  const walk = periodic(async (isStopped, pause) => options.walk(await realms(), isStopped, pause), walkMs, 0, leadership);
  return {
    wake(realm) {
      if (stopped) return;
      woken.add(realm);
      if (timer === undefined) {
        timer = setTimeout(flush, wakeMs);
        timer.unref();
      }
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await walk.stop();
      await flushing;
      await options.settled();
    },
  };
}
