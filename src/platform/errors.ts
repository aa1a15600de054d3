/**
 * One error base for the whole service. Each module owns a closed table of codes; callers
 * switch on `code`, never on message text. `cause` and stacks never leave the process: the
 * HTTP surfaces render only `code`, `status`, `message` (when `expose`) and `issues`.
 */
export interface ErrorIssue {
  /** FHIRPath-like location of the problem, e.g. `Observation.subject`. */
  readonly expression?: string;
  readonly diagnostics: string;
}

export interface AppErrorOptions {
  readonly status: number;
  readonly expose?: boolean;
  readonly cause?: unknown;
  readonly issues?: readonly ErrorIssue[];
  readonly headers?: Readonly<Record<string, string>>;
}

export class AppError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly status: number;
  readonly expose: boolean;
  readonly issues: readonly ErrorIssue[];
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: Code, message: string, options: AppErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = options.status;
    // 5xx messages are never shown to clients unless a module says so explicitly.
    this.expose = options.expose ?? options.status < 500;
    this.issues = options.issues ?? [];
    this.headers = options.headers ?? {};
  }
}

export function isAppError(value: unknown): value is AppError {
  return value instanceof AppError;
}

/**
 * What may be logged about an error. Messages of foreign errors are dropped because they can
 * carry record contents (JSON.parse quotes its input; PostgreSQL quotes values in `detail`
 * and in messages like `invalid input syntax`). OWASP ASVS 5 V16.2.5: no sensitive data in logs.
 */
export function describeErrorForLog(error: unknown): Record<string, unknown> {
  if (error instanceof AppError) {
    return { type: 'AppError', code: error.code, status: error.status, cause: error.cause === undefined ? undefined : describeErrorForLog(error.cause) };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const frames = (error.stack ?? '').split('\n').filter((line) => line.trimStart().startsWith('at ')).slice(0, 12);
    return { type: error.name, code: typeof code === 'string' || typeof code === 'number' ? code : undefined, stack: frames.join('\n') };
  }
  return { type: typeof error };
}
