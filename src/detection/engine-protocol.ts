import type { StorageConfig } from '../platform/db/index.js';
import type { AlertChange } from './alerts.js';
import type { RuleConfig } from './types.js';

/** What the detection worker is started with (structured-cloned: data only). */
export interface WorkerSetup {
  readonly storage: StorageConfig;
  /** With regions: the other regions' storage settings (a tenant is found in its region's). */
  readonly regions?: readonly StorageConfig[];
  readonly overrides: Readonly<Record<string, RuleConfig>>;
  readonly operatorRealm: string;
  readonly batchEvents: number;
  readonly dedupMs: number;
  /** The nice value the worker gives its own thread (0: the server's priority). */
  readonly niceness: number;
  /** The server thread's clock at the start, ms. */
  readonly now: number;
}

/** Server thread → worker. Each request carries the server's clock (`now`, ms). */
export type ToWorker =
  | { readonly kind: 'evaluate'; readonly id: number; readonly realm: string; readonly now: number }
  | { readonly kind: 'walk'; readonly id: number; readonly realms: readonly string[]; readonly now: number }
  | { readonly kind: 'hold'; readonly id: number; readonly realm: string }
  | { readonly kind: 'release'; readonly id: number }
  | { readonly kind: 'stop'; readonly id: number };

/** Worker → server thread. */
export type FromWorker =
  /** Started: its kernel thread id and the nice value it runs at (undefined where unknown). */
  | { readonly kind: 'ready'; readonly threadId: number | undefined; readonly nice: number | undefined }
  | { readonly kind: 'done'; readonly id: number; readonly count: number }
  | { readonly kind: 'failed'; readonly id: number; readonly error: { readonly message: string; readonly code: string | undefined } }
  | { readonly kind: 'held'; readonly id: number }
  | { readonly kind: 'changes'; readonly changes: readonly AlertChange[] }
  | { readonly kind: 'evaluated'; readonly count: number }
  | { readonly kind: 'rule-failed'; readonly rule: string }
  | { readonly kind: 'lag'; readonly realm: string; readonly ms: number };
