import type { SqlExecutor } from '../platform/db/index.js';
import { componentIds, componentStates, type ComponentId, type ComponentOverride, type ComponentState, type DayBucket, type EntryUpdate, type Impact, type StatusEntry } from './types.js';
import { compactSamples, dayOf, emptyCounts, type Sample } from './uptime.js';

/** The only file touching the status tables (platform data set). */
export interface StatusStore {
  addSamples(samples: readonly Sample[]): Promise<void>;
  /** Samples before `before` folded into their days; days before `keepFrom` (a day) dropped. */
  compact(before: number, keepFrom: string): Promise<void>;
  /** Day buckets since `fromDay`, with the raw samples of days not yet compacted folded in. */
  days(fromDay: string): Promise<DayBucket[]>;
  entries(since: number): Promise<StatusEntry[]>;
  entry(id: string): Promise<StatusEntry | undefined>;
  putEntry(entry: StatusEntry): Promise<void>;
  overrides(): Promise<ComponentOverride[]>;
  setOverride(override: ComponentOverride): Promise<void>;
  clearOverride(component: ComponentId): Promise<boolean>;
  ping(): Promise<void>;
}

interface EntryRow {
  id: string;
  kind: string;
  title: string;
  body: string;
  components: string;
  status: string;
  impact: string;
  starts_at: number | string;
  ends_at: number | string | null;
  created_at: number | string;
  updated_at: number | string;
  updates: string;
}

const isComponent = (v: unknown): v is ComponentId => (componentIds as readonly unknown[]).includes(v);
const isState = (v: unknown): v is ComponentState => (componentStates as readonly unknown[]).includes(v);

function countsOf(text: string): Record<ComponentState, number> {
  const parsed = JSON.parse(text) as Record<string, unknown>;
  const counts = emptyCounts();
  for (const s of componentStates) counts[s] = typeof parsed[s] === 'number' ? parsed[s] : 0;
  return counts;
}

function entryOf(r: EntryRow): StatusEntry {
  return {
    id: r.id,
    kind: r.kind as StatusEntry['kind'],
    title: r.title,
    text: r.body,
    components: (JSON.parse(r.components) as unknown[]).filter(isComponent),
    status: r.status,
    impact: r.impact as Impact,
    startsAt: Number(r.starts_at),
    ...(r.ends_at === null ? {} : { endsAt: Number(r.ends_at) }),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    updates: JSON.parse(r.updates) as EntryUpdate[],
  };
}

export function createStatusStore(db: SqlExecutor & { transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> }): StatusStore {
  const samples = db.table('status_samples');
  const days = db.table('status_days');
  const entries = db.table('status_entries');
  const overrides = db.table('status_overrides');
  const readSamples = async (tx: SqlExecutor, where: string, params: number[]): Promise<Sample[]> =>
    (await tx.query<{ component: string; at: number | string; state: string }>(`SELECT component, at, state FROM ${samples} WHERE ${where}`, params)).flatMap((r) =>
      isComponent(r.component) && isState(r.state) ? [{ component: r.component, at: Number(r.at), state: r.state }] : [],
    );
  const readDays = async (tx: SqlExecutor, fromDay: string): Promise<DayBucket[]> =>
    (await tx.query<{ component: string; day: string; counts: string }>(`SELECT component, day, counts FROM ${days} WHERE day >= ?`, [fromDay])).flatMap((r) =>
      isComponent(r.component) ? [{ component: r.component, day: r.day, counts: countsOf(r.counts) }] : [],
    );
  return {
    async addSamples(list) {
      await db.transaction(async (tx) => {
        for (const s of list) await tx.execute(`INSERT INTO ${samples} (component, at, state) VALUES (?, ?, ?)`, [s.component, s.at, s.state]);
      });
    },
    async compact(before, keepFrom) {
      await db.transaction(async (tx) => {
        const old = await readSamples(tx, 'at < ?', [before]);
        if (old.length > 0) {
          const touched = new Set(old.map((s) => dayOf(s.at)));
          const existing = (await readDays(tx, [...touched].sort()[0] as string)).filter((b) => touched.has(b.day));
          for (const b of compactSamples(existing, old)) {
            await tx.execute(`DELETE FROM ${days} WHERE component = ? AND day = ?`, [b.component, b.day]);
            await tx.execute(`INSERT INTO ${days} (component, day, counts) VALUES (?, ?, ?)`, [b.component, b.day, JSON.stringify(b.counts)]);
          }
          await tx.execute(`DELETE FROM ${samples} WHERE at < ?`, [before]);
        }
        await tx.execute(`DELETE FROM ${days} WHERE day < ?`, [keepFrom]);
      });
    },
    async days(fromDay) {
      const stored = await readDays(db, fromDay);
      return compactSamples(stored, await readSamples(db, 'at >= ?', [Date.parse(`${fromDay}T00:00:00Z`)]));
    },
    async entries(since) {
      return (await db.query<EntryRow>(`SELECT * FROM ${entries} WHERE updated_at >= ? OR (kind <> 'notice' AND status NOT IN ('resolved', 'completed')) ORDER BY starts_at DESC, id`, [since])).map(entryOf);
    },
    async entry(id) {
      const [row] = await db.query<EntryRow>(`SELECT * FROM ${entries} WHERE id = ?`, [id]);
      return row === undefined ? undefined : entryOf(row);
    },
    async putEntry(e) {
      const values = [e.kind, e.title, e.text, JSON.stringify(e.components), e.status, e.impact, e.startsAt, e.endsAt ?? null, e.createdAt, e.updatedAt, JSON.stringify(e.updates)];
      await db.transaction(async (tx) => {
        const changed = await tx.execute(`UPDATE ${entries} SET kind = ?, title = ?, body = ?, components = ?, status = ?, impact = ?, starts_at = ?, ends_at = ?, created_at = ?, updated_at = ?, updates = ? WHERE id = ?`, [...values, e.id]);
        if (changed === 0) await tx.execute(`INSERT INTO ${entries} (kind, title, body, components, status, impact, starts_at, ends_at, created_at, updated_at, updates, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [...values, e.id]);
      });
    },
    async overrides() {
      return (await db.query<{ component: string; state: string; note: string; until: number | string }>(`SELECT component, state, note, until FROM ${overrides}`)).flatMap((r) =>
        isComponent(r.component) && isState(r.state) ? [{ component: r.component, state: r.state, note: r.note, until: Number(r.until) }] : [],
      );
    },
    async setOverride(o) {
      await db.transaction(async (tx) => {
        await tx.execute(`DELETE FROM ${overrides} WHERE component = ?`, [o.component]);
        await tx.execute(`INSERT INTO ${overrides} (component, state, note, until) VALUES (?, ?, ?, ?)`, [o.component, o.state, o.note, o.until]);
      });
    },
    async clearOverride(component) {
      return (await db.execute(`DELETE FROM ${overrides} WHERE component = ?`, [component])) > 0;
    },
    async ping() {
      await db.query(`SELECT 1 AS one FROM ${overrides} WHERE 1 = 0`);
    },
  };
}
