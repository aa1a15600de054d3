import type { Actor } from '../audit/index.js';
import type { Role } from '../identity/index.js';

/** The rights of GDPR Art. 15–21 a request can invoke. */
export const requestTypes = ['access', 'portability', 'rectification', 'erasure', 'restriction', 'objection'] as const;
export type RequestType = (typeof requestTypes)[number];

/** How a request came in: the portal (the patient, signed in), or recorded by staff from a letter, an e-mail or in person. */
export const requestChannels = ['portal', 'letter', 'email', 'in-person'] as const;
export type RequestChannel = (typeof requestChannels)[number];

/** received → in-progress → completed | rejected; withdrawn by the subject while open. */
export const requestStates = ['received', 'in-progress', 'completed', 'rejected', 'withdrawn'] as const;
export type RequestState = (typeof requestStates)[number];
export const openStates: readonly RequestState[] = ['received', 'in-progress'];

/** The elements of their own Patient a patient may propose to rectify (GDPR Art. 16), as structured fields. */
export const rectifiableElements = ['name', 'telecom', 'address', 'birthDate', 'gender', 'communication'] as const;
export type RectifiableElement = (typeof rectifiableElements)[number];
export type ProposedChanges = Partial<Record<RectifiableElement, unknown>>;

/**
 * A Tresor code on `meta.tag` of a Patient version written because a rectification request was
 * accepted (GDPR Art. 16), so `_history` tells which versions came from one.
 */
export const rectificationTag = { system: 'https://tresor.dev/fhir/CodeSystem/privacy-request', code: 'rectification', display: 'Rectified on the data subject’s request (GDPR Art. 16)' } as const;

/** The free text of a request: personal data, sealed under the subject's data key. */
export interface RequestTexts {
  /** What the patient (or the letter) asks, in their words. */
  readonly text?: string;
  /** How staff verified the identity of a person whose request they recorded. */
  readonly verification?: string;
  /** A rectification's proposed values of the patient's own Patient. */
  readonly changes?: ProposedChanges;
  readonly extensionReason?: string;
  /** The completion's note, or the rejection's reason. */
  readonly outcome?: string;
  /** Where the answer is (an export's download), set by a fulfilment. */
  readonly link?: string;
  readonly notes?: ReadonlyArray<{ readonly at: number; readonly by: string; readonly text: string }>;
}

export interface PrivacyRequest {
  readonly id: string;
  readonly type: RequestType;
  /** `Patient/<id>`. */
  readonly subject: string;
  readonly channel: RequestChannel;
  readonly state: RequestState;
  readonly receivedAt: number;
  readonly dueAt: number;
  /** Set once extended (only once). */
  readonly extendedAt?: number;
  /** The staff account that owns it. */
  readonly owner?: string;
  readonly createdBy: string;
  readonly updatedAt: number;
  readonly closedAt?: number;
  /** Opened; undefined once erased with the patient (or the key is gone). */
  readonly texts?: RequestTexts;
}

/** One entry of a request's own history: who did what when (no free text: that is in the texts). */
export interface RequestHistoryEntry {
  readonly at: number;
  readonly by: string;
  readonly action: string;
  readonly state: RequestState;
}

/**
 * Who acts on a request: a patient (their own), staff (with `privacy:manage`), or the system (a
 * job, the CLI, another module's fulfilment). Built by the routes and pages from their caller.
 */
export interface RequestCaller {
  readonly actor: Actor;
  readonly role: Role | 'system';
  /** The person's account (staff: the default owner). */
  readonly accountId?: string;
  /** A patient caller's own Patient. */
  readonly patient?: string;
  readonly requestId: string;
  readonly sourceIp: string;
}

export const isRequestType = (value: unknown): value is RequestType => typeof value === 'string' && (requestTypes as readonly string[]).includes(value);
export const isRequestState = (value: unknown): value is RequestState => typeof value === 'string' && (requestStates as readonly string[]).includes(value);
export const isRequestChannel = (value: unknown): value is RequestChannel => typeof value === 'string' && (requestChannels as readonly string[]).includes(value);
