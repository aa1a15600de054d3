import { AppError } from '../errors.js';
import type { Metrics } from './metrics.js';
import { HttpError } from './problem.js';

export interface ReadinessReport {
  readonly ready: boolean;
  /** The storage engine (`sqlite`, `postgres`). */
  readonly engine: string;
  /** How long the storage ping took. */
  readonly pingSeconds: number;
  /** Why not ready (exposed as `/readyz` exposes it). */
  readonly error?: AppError;
}

/**
 * What `/readyz` answers, as one function both it and the operator console's health page call:
 * the storage is pinged now, and `tresor_storage_up` / `tresor_storage_ping_seconds` record it.
 */
export function createReadiness(storage: { readonly engine: string; ping(): Promise<void> }, metrics: Pick<Metrics, 'storageUp' | 'storagePingSeconds'>): () => Promise<ReadinessReport> {
  return async () => {
    const started = performance.now();
    let error: AppError | undefined;
    try {
      await storage.ping();
      metrics.storageUp.set(1);
    } catch (cause) {
      metrics.storageUp.set(0);
      error = cause instanceof AppError ? cause : new HttpError('storage-unavailable', 'Storage is unreachable.', { status: 503, cause });
    }
    const pingSeconds = (performance.now() - started) / 1000;
    metrics.storagePingSeconds.set(pingSeconds);
    return { ready: error === undefined, engine: storage.engine, pingSeconds, ...(error === undefined ? {} : { error }) };
  };
}
