import type { DetectionEvent } from '../types.js';

/**
 * Who did it, as the access rules count it: the actor and the client it came through — a person
 * in their own session and the same person through an app are two principals (the app's token
 * may be stolen while the session is not), an API key or an app's service token is one.
 */
export function principalOf(event: Pick<DetectionEvent, 'actor'>): { readonly key: string; readonly name: string } {
  const { id, client } = event.actor;
  const plain = client === '' || client === 'session' || client === id;
  return { key: principalKey(event), name: plain ? id : `${id} via ${client}` };
}

/** `principalOf(event).key` alone: the rules' state key, built for most events a rule sees. */
export function principalKey(event: Pick<DetectionEvent, 'actor'>): string {
  return `${event.actor.id}|${event.actor.client}`;
}

/** The record accesses that disclose patients' data (reads, searches, histories, exports, bundles). */
export const recordAccesses = ['record.read', 'record.searched', 'record.history-read', 'record.exported', 'bundle.processed'] as const;
