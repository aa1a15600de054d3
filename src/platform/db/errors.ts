import { AppError } from '../errors.js';

export type StorageErrorCode = 'storage-unavailable' | 'dataset-missing' | 'schema-too-new' | 'conflict';

export class StorageError extends AppError<StorageErrorCode> {}

export function storageUnavailable(cause: unknown): StorageError {
  // 503 + Retry-After tells clients (and load balancers) the failure is transient.
  return new StorageError('storage-unavailable', 'The storage engine is unavailable; retry shortly.', {
    status: 503,
    expose: true,
    cause,
    headers: { 'retry-after': '2' },
  });
}
