import type * as Argon2 from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { IdentityError } from './errors.js';

/**
 * Passwords as NIST SP 800-63B-4 (§3.1.1.2) and OWASP ASVS 5 (V6.2) ask: long rather than
 * complicated, any Unicode (NFKC-normalised, so one password typed on two keyboards is one
 * password), spaces and paste allowed, no composition rules, no expiry; refused only when too
 * short, too long, commonly used or breached, or made of the account's own context (email,
 * names, tenant) — with the reason. Stored as argon2id (ASVS 5 V11.4.2; OWASP Password Storage
 * Cheat Sheet minimum m=19 MiB, t=2, p=1).
 */

/** Minimum length in characters (code points): 15 when the password is the only factor, 8 with a second factor (NIST SP 800-63B-4 §3.1.1.2). */
export const minLength = { singleFactor: 15, withSecondFactor: 8 } as const;
/** At least 64 must be accepted (NIST, ASVS 5 V6.2.9); beyond this a password is refused, which bounds the hashing work a request can ask for. */
export const maxLength = 1024;

export type PasswordRefusal = 'password-too-short' | 'password-too-long' | 'password-common' | 'password-context';

export interface PasswordContext {
  readonly email?: string;
  readonly names?: readonly string[];
  readonly tenant?: string;
}

/** The form a password is checked, hashed and verified in: Unicode NFKC (ASVS 5 V6.2.x, NIST "SHOULD apply NFKC or NFKD"). */
export const normalise = (password: string): string => password.normalize('NFKC');

let blocklist: Set<string> | undefined;

/**
 * Common and breached passwords (zxcvbn-ts: 49,000 from breach corpora, 7,800 diceware words)
 * plus English and German words and names from subtitles and Wikipedia (about 260,000): a
 * password that is exactly one of these, ignoring case, is refused. Loaded once, on first use.
 */
export function passwordBlocklist(): ReadonlySet<string> {
  if (blocklist === undefined) {
    blocklist = new Set<string>();
    // Required here, not imported: the packs decompress their word lists as they load (about a
    // tenth of a second), which only a process that sets passwords should pay.
    const require = createRequire(import.meta.url);
    const packs = ['@zxcvbn-ts/language-common', '@zxcvbn-ts/language-en', '@zxcvbn-ts/language-de'].map((name) => (require(name) as { dictionary: Record<string, unknown> }).dictionary);
    for (const pack of packs) {
      for (const words of Object.values(pack)) {
        if (Array.isArray(words)) for (const word of words) if (typeof word === 'string') blocklist.add(normalise(word).toLowerCase());
      }
    }
  }
  return blocklist;
}

/** The words of the account's context: email local part and its pieces, the email's domain labels, names, tenant. */
function contextWords(context: PasswordContext): Set<string> {
  const words = new Set<string>();
  const add = (value: string | undefined) => {
    if (value === undefined) return;
    const lower = normalise(value).toLowerCase().trim();
    if (lower.length === 0) return;
    words.add(lower);
    for (const piece of lower.split(/[^\p{L}\p{N}]+/u)) if (piece.length >= 3) words.add(piece);
  };
  if (context.email !== undefined) {
    const [local, domain] = context.email.split('@');
    add(local);
    add(context.email);
    add(domain);
    for (const label of (domain ?? '').split('.')) add(label);
  }
  for (const name of context.names ?? []) add(name);
  add(context.tenant);
  return words;
}

/**
 * Whether a new password may be set; the error names the reason (ASVS 5 V6.2.x). Checked on the
 * whole password: context words count when the password is one of them, or one of them with
 * digits or punctuation around it ("alice2024!").
 */
export function checkNewPassword(password: string, options: { readonly hasSecondFactor: boolean; readonly context?: PasswordContext }): void {
  const normalised = normalise(password);
  const length = [...normalised].length;
  const min = options.hasSecondFactor ? minLength.withSecondFactor : minLength.singleFactor;
  if (length < min) {
    throw refuse('password-too-short', `A password needs at least ${min} characters${options.hasSecondFactor ? '' : ' (8 once the account has a second factor)'}. Several words with spaces between them are easy to remember.`);
  }
  if (length > maxLength) throw refuse('password-too-long', `A password may have at most ${maxLength} characters.`);
  const lower = normalised.toLowerCase();
  if (passwordBlocklist().has(lower)) throw refuse('password-common', 'This password is too common: it appears in lists of breached or frequently used passwords. Choose another.');
  const core = lower.replace(/^[^\p{L}]+|[^\p{L}]+$/gu, '');
  const context = contextWords(options.context ?? {});
  if (context.has(lower) || (core.length > 0 && context.has(core))) {
    throw refuse('password-context', 'A password must not be your email address, your name or the organisation’s name. Choose another.');
  }
}

const refuse = (code: PasswordRefusal, message: string) => new IdentityError(code, message, { status: 422, expose: true });

export interface Argon2Parameters {
  /** KiB of memory; OWASP's minimum for argon2id is 19 MiB (19,456 KiB) with t=2, p=1. */
  readonly memoryKiB: number;
  readonly iterations: number;
  readonly parallelism: number;
}

export const argon2Minimum: Argon2Parameters = { memoryKiB: 19_456, iterations: 2, parallelism: 1 };

export interface PasswordHasherOptions extends Argon2Parameters {
  /** Hashes and verifications running at once; more wait their turn (a login flood queues here, not on the CPU). */
  readonly concurrency: number;
  /** Waiting beyond this many, a request is refused with 503 instead of queueing without bound. */
  readonly maxQueued: number;
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  /**
   * Verifies a password against a stored hash. `stored` undefined (no such account, or no
   * password) does the same argon2 work against a dummy hash and fails: the answer and the work
   * do not tell whether the account exists (ASVS 5 V6.3.8 and the no-enumeration rule).
   * `rehash` is true when the stored hash used weaker parameters than today's.
   */
  verify(stored: string | undefined, password: string): Promise<{ readonly ok: boolean; readonly rehash: boolean }>;
  /** argon2 operations finished so far (tests assert equal work, not equal time). */
  work(): number;
  /**
   * Loads argon2 and makes the dummy hash, so that the first verification for an unknown account
   * costs only the usual work. A server calls it at start; a command that checks no password
   * never pays for it.
   */
  prepare(): Promise<void>;
}

// The native module loads with the first hash, not with every process that builds the services.
let argon2: Promise<typeof Argon2> | undefined;
const loadArgon2 = () => (argon2 ??= import('@node-rs/argon2'));

/** `$argon2id$v=19$m=19456,t=2,p=1$…`: the parameters a stored hash was made with. */
export function parametersOf(stored: string): Argon2Parameters | undefined {
  const match = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(stored);
  return match === null ? undefined : { memoryKiB: Number(match[1]), iterations: Number(match[2]), parallelism: Number(match[3]) };
}

export function createPasswordHasher(options: PasswordHasherOptions): PasswordHasher {
  if (options.memoryKiB < argon2Minimum.memoryKiB || options.iterations < argon2Minimum.iterations || options.parallelism < argon2Minimum.parallelism) {
    throw new TypeError('argon2id parameters below m=19456 KiB, t=2, p=1 (OWASP Password Storage Cheat Sheet)');
  }
  // argon2id (algorithm 2 of @node-rs/argon2), on libuv's thread pool: the event loop stays free.
  const params = { algorithm: 2, memoryCost: options.memoryKiB, timeCost: options.iterations, parallelism: options.parallelism } as const;
  let running = 0;
  let done = 0;
  const waiting: Array<() => void> = [];
  // A slot is handed straight from a finishing operation to the next waiter, so a newcomer can
  // never slip in between and exceed the limit.
  const limited = async <T>(work: () => Promise<T>): Promise<T> => {
    if (running < options.concurrency) running += 1;
    else if (waiting.length >= options.maxQueued) {
      throw new IdentityError('auth-busy', 'Too many sign-ins at once; try again in a moment.', { status: 503, expose: true, headers: { 'retry-after': '1' } });
    } else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await work();
    } finally {
      done += 1;
      const next = waiting.shift();
      if (next === undefined) running -= 1;
      else next();
    }
  };
  let dummy: Promise<string> | undefined;
  const dummyHash = () => (dummy ??= loadArgon2().then(({ hash }) => hash(randomBytes(32), params)));
  const weaker = (stored: string) => {
    const p = parametersOf(stored);
    return p === undefined || p.memoryKiB < options.memoryKiB || p.iterations < options.iterations || p.parallelism < options.parallelism;
  };
  return {
    hash: (password) => limited(async () => (await loadArgon2()).hash(normalise(password), params)),
    async verify(stored, password) {
      const against = stored ?? (await dummyHash());
      const { verify } = await loadArgon2();
      const ok = await limited(() => verify(against, normalise(password)).catch(() => false));
      return { ok: ok && stored !== undefined, rehash: ok && stored !== undefined && weaker(stored) };
    },
    work: () => done,
    async prepare() {
      await dummyHash();
    },
  };
}
