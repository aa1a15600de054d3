import type { Audit } from './audit.js';
import { AuditError } from './errors.js';
import type { Actor, AuditEventInput, PurposeOfUse } from './events.js';
import type { StoredEvent } from './store.js';

export const reviewVerdicts = ['justified', 'not-justified'] as const;
export type ReviewVerdict = (typeof reviewVerdicts)[number];

export interface SignOff {
  /** The `access.emergency_granted` event's id (its seq in the chain). */
  readonly access: number;
  readonly verdict: ReviewVerdict;
  /** Why: 3–500 printable characters (kept in the review event, as the grant keeps its reason). */
  readonly note: string;
  readonly reviewer: Actor;
  readonly purpose: PurposeOfUse;
  readonly requestId: string;
  readonly sourceIp: string;
}

/**
 * The review of break-the-glass accesses (SPEC I7), on the audit trail itself: a sign-off is an
 * `access.emergency_reviewed` event whose one resource is `AuditEvent/<seq>` of the grant and
 * whose detail is `<verdict>: <note>` — durable and tamper-evident like every event, and the
 * queue is the grants that no review event references. Nobody reviews their own access.
 */
export interface EmergencyReview {
  /** Grants not yet reviewed, newest first, at most `limit`; the grants of one request as one (resources and patients merged). */
  pending(tenantId: string, limit?: number): Promise<StoredEvent[]>;
  /** Records the sign-off; 404 unknown grant, 403 own access, 409 already reviewed, 400 bad note. */
  signOff(tenantId: string, input: SignOff): Promise<void>;
}

const sameRequest = (a: StoredEvent, b: StoredEvent): boolean => a.requestId !== '' && a.requestId === b.requestId && a.actor.id === b.actor.id;

export const reviewedRef = (seq: number): string => `AuditEvent/${seq}`;

// How many grants are looked at per round, and how many reviews since the oldest of them.
const grantBatch = 500;
const reviewWindow = 10_000;

export function createEmergencyReview(audit: Audit): EmergencyReview {
  /** The grants among these that a review event references. */
  async function reviewedAmong(tenantId: string, grants: readonly StoredEvent[]): Promise<Set<number>> {
    const oldest = grants.at(-1);
    if (oldest === undefined) return new Set();
    // A review always comes after its grant: the reviews since the oldest grant are enough.
    // Only sign-offs count: a refused attempt is an event of the same action with outcome failure.
    const reviews = await audit.query(tenantId, { actions: ['access.emergency_reviewed'], outcome: 'success', from: oldest.at, count: reviewWindow });
    const seqs = new Set<number>();
    for (const review of reviews) for (const ref of review.resources) if (ref.startsWith('AuditEvent/')) seqs.add(Number(ref.slice('AuditEvent/'.length)));
    return seqs;
  }

  async function grantOf(tenantId: string, seq: number): Promise<StoredEvent | undefined> {
    const [event] = await audit.query(tenantId, { actions: ['access.emergency_granted'], before: seq + 1, count: 1 });
    return event?.seq === seq ? event : undefined;
  }

  return {
    async pending(tenantId, limit = 100) {
      const out: StoredEvent[] = [];
      let before: number | undefined;
      for (;;) {
        const grants = await audit.query(tenantId, { actions: ['access.emergency_granted'], count: grantBatch, ...(before === undefined ? {} : { before }) });
        const reviewed = await reviewedAmong(tenantId, grants);
        for (const grant of grants) {
          if (reviewed.has(grant.seq)) continue;
          // One item per break-the-glass request: its grants (a page opens several types) are
          // shown and signed off together, under the newest one's id.
          const index = out.findIndex((o) => sameRequest(o, grant));
          if (index >= 0) {
            const first = out[index] as StoredEvent;
            out[index] = { ...first, resources: [...first.resources, ...grant.resources], subjects: [...new Set([...first.subjects, ...grant.subjects])] };
            continue;
          }
          if (out.length >= limit) return out;
          out.push(grant);
        }
        if (grants.length < grantBatch) return out;
        before = (grants.at(-1) as StoredEvent).seq;
      }
    },
    async signOff(tenantId, input) {
      const note = input.note.normalize('NFC').trim();
      if (!(reviewVerdicts as readonly string[]).includes(input.verdict)) throw new AuditError('review-invalid', 'The verdict is justified or not-justified.', { status: 400, expose: true });
      if (note.length < 3 || note.length > 500 || /\p{Cc}/u.test(note)) throw new AuditError('review-invalid', 'The note says why, in 3–500 printable characters.', { status: 400, expose: true });
      const grant = Number.isSafeInteger(input.access) && input.access > 0 ? await grantOf(tenantId, input.access) : undefined;
      if (grant === undefined) throw new AuditError('review-not-found', 'No break-the-glass access with this id.', { status: 404, expose: true });
      // Separation of duties (ASVS 5 V8.2): the one who broke the glass never signs it off.
      if (grant.actor.id === input.reviewer.id) throw new AuditError('review-own-access', 'You cannot review your own emergency access; another reviewer must.', { status: 403, expose: true });
      if ((await reviewedAmong(tenantId, [grant])).has(grant.seq)) throw new AuditError('already-reviewed', 'This access has already been reviewed.', { status: 409, expose: true });
      // The other grants of the same request (the same person, the same request id) go with it.
      const siblings = grant.requestId === '' ? [] : (await audit.query(tenantId, { actions: ['access.emergency_granted'], actor: grant.actor.id, from: grant.at - 60_000, to: grant.at + 60_000, count: 100 })).filter((g) => g.seq !== grant.seq && sameRequest(g, grant));
      const reviewedAlready = await reviewedAmong(tenantId, siblings);
      const covered = [grant, ...siblings.filter((g) => !reviewedAlready.has(g.seq))].sort((a, b) => a.seq - b.seq);
      const event: AuditEventInput = {
        action: 'access.emergency_reviewed',
        outcome: 'success',
        status: 200,
        actor: input.reviewer,
        purpose: input.purpose,
        resources: covered.map((g) => reviewedRef(g.seq)),
        subjects: [...new Set(covered.flatMap((g) => g.subjects))],
        classes: [],
        requestId: input.requestId,
        sourceIp: input.sourceIp,
        detail: `${input.verdict}: ${note}`,
      };
      await audit.record(tenantId, [event]);
    },
  };
}

/** A review event's verdict and note, from its detail. */
export function parseReview(event: StoredEvent): { verdict: ReviewVerdict; note: string } | undefined {
  const m = /^(justified|not-justified): ([\s\S]*)$/.exec(event.detail);
  return m === null ? undefined : { verdict: m[1] as ReviewVerdict, note: m[2] as string };
}
