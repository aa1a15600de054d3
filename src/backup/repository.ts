/**
 * Where encrypted backups go (SPEC B1). A repository stores opaque, already-encrypted objects by
 * name; it never sees plaintext, keys or tenant ids (object names are keyed hashes and
 * time-ordered snapshot ids). Implementations: a local directory (another disk or mount) and
 * SFTP; S3 later, behind this same interface.
 *
 * Names: lower-case `[a-z0-9._-]` segments separated by `/`, e.g. `chunks/3f/3fa9…`,
 * `snapshots/01J….manifest`. No `..`, no leading `/`.
 */
export interface Repository {
  /** The location for messages and logs, without any credential (no password, no key). */
  readonly display: string;
  /**
   * Writes an object so that afterwards either all of it is there under `name`, or nothing
   * (write to a temporary name, flush to stable storage, rename). Overwriting is allowed.
   */
  put(name: string, data: Uint8Array, options?: PutOptions): Promise<void>;
  /**
   * Makes every `deferred` put since the last call durable and visible under its name (the
   * snapshot calls it before writing its manifest). Repositories without deferred puts make
   * each put durable at once and need nothing here.
   */
  flush?(): Promise<void>;
  /** Drops the deferred puts not flushed yet (a snapshot that failed): their temporaries go. */
  discard?(): Promise<void>;
  /** The object's bytes; `BackupError('object-missing')` when there is none. */
  get(name: string): Promise<Buffer>;
  has(name: string): Promise<boolean>;
  /** Every object name under `prefix` (recursive), sorted. Temporary files of unfinished puts are never listed. */
  list(prefix: string): Promise<string[]>;
  /** Removes an object; no error when it is already gone. */
  delete(name: string): Promise<void>;
  close(): Promise<void>;
}

export interface PutOptions {
  /**
   * For many immutable objects written in a row (chunks): the object may become durable and
   * visible only at the next `flush()` — never before its content is durable, so a crash leaves
   * a temporary at most, never a name with missing content.
   */
  readonly deferred?: boolean;
}

const segment = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/** Throws unless `name` is a valid object name (see Repository). */
export function checkObjectName(name: string): void {
  const parts = name.split('/');
  if (parts.length === 0 || parts.length > 8 || parts.some((p) => !segment.test(p) || p === '..' || p.endsWith('.tmp'))) {
    throw new TypeError(`invalid object name ${JSON.stringify(name)}`);
  }
}
