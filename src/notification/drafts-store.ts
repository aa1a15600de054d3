import type { SqlExecutor } from '../platform/db/index.js';
import type { NoticeKind } from './drafts-compose.js';
import type { FreeText } from './drafts-texts.js';
import type { NoticeLanguage } from './people.js';

export const draftStates = ['draft', 'approved', 'sent'] as const;
export type DraftState = (typeof draftStates)[number];

/** A draft as stored: free text, the state with who and when; no facts and no people. */
export interface DraftRow {
  readonly id: string;
  readonly incidentId: string;
  readonly kind: NoticeKind;
  readonly tenantId: string;
  readonly scopeId: string;
  readonly scopeHash: string;
  readonly state: DraftState;
  readonly freeText: Readonly<Record<NoticeLanguage, FreeText>>;
  /** Counts every edit: an approval names the version it approved. */
  readonly version: number;
  readonly createdAt: number;
  readonly createdBy: string;
  readonly editedAt: number;
  readonly editedBy: string;
  readonly approvedAt: number | null;
  readonly approvedBy: string | null;
  readonly sentAt: number | null;
  readonly sentBy: string | null;
}

export const deliveryChannels = ['email', 'post', 'unreachable', 'filed'] as const;
export type DeliveryChannel = (typeof deliveryChannels)[number];

/**
 * One recipient of a draft on one channel. `email`: `queued` (the notifier took it; with a mail
 * relay its outbox retries until the relay accepts), `failed` (the notifier refused; `code` says
 * why; a later send tries again). `post`: `batched` (in the print batch). `unreachable`: erased,
 * deleted, or no address at all (HIPAA 164.404(d)(2) substitute notice). `filed`: a person
 * filed the report or notice outside Tresor.
 */
export interface DeliveryRow {
  readonly draftId: string;
  /** `Patient/<id>`, an account id, `security-contact`, or `filed`. */
  readonly recipient: string;
  readonly channel: DeliveryChannel;
  readonly status: 'queued' | 'failed' | 'batched' | 'unreachable' | 'filed';
  readonly code: string | null;
  /** The notice's own id, carried in the mail (the relay's queue matches it): never the address. */
  readonly messageId: string | null;
  readonly at: number;
  readonly attempts: number;
}

interface Row {
  id: string;
  incident_id: string;
  kind: string;
  tenant_id: string;
  scope_id: string;
  scope_hash: string;
  state: string;
  free_text: string;
  version: number | string;
  created_at: number | string;
  created_by: string;
  edited_at: number | string;
  edited_by: string;
  approved_at: number | string | null;
  approved_by: string | null;
  sent_at: number | string | null;
  sent_by: string | null;
}

const columns = 'id, incident_id, kind, tenant_id, scope_id, scope_hash, state, free_text, version, created_at, created_by, edited_at, edited_by, approved_at, approved_by, sent_at, sent_by';
const num = (v: number | string | null): number | null => (v === null ? null : Number(v));

const toDraft = (r: Row): DraftRow => ({
  id: r.id,
  incidentId: r.incident_id,
  kind: r.kind as NoticeKind,
  tenantId: r.tenant_id,
  scopeId: r.scope_id,
  scopeHash: r.scope_hash,
  state: r.state as DraftState,
  freeText: JSON.parse(r.free_text) as DraftRow['freeText'],
  version: Number(r.version),
  createdAt: Number(r.created_at),
  createdBy: r.created_by,
  editedAt: Number(r.edited_at),
  editedBy: r.edited_by,
  approvedAt: num(r.approved_at),
  approvedBy: r.approved_by,
  sentAt: num(r.sent_at),
  sentBy: r.sent_by,
});

export async function insertDraft(db: SqlExecutor, d: DraftRow): Promise<void> {
  await db.execute(`INSERT INTO ${db.table('notice_drafts')} (${columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, [
    d.id, d.incidentId, d.kind, d.tenantId, d.scopeId, d.scopeHash, d.state, JSON.stringify(d.freeText), d.version, d.createdAt, d.createdBy, d.editedAt, d.editedBy, d.approvedAt, d.approvedBy, d.sentAt, d.sentBy,
  ]);
}

/** Writes the draft's changeable fields when it is still at `version` (a concurrent edit or approval loses: 0 rows). */
export async function updateDraft(db: SqlExecutor, d: DraftRow, version: number): Promise<boolean> {
  const changed = await db.execute(`UPDATE ${db.table('notice_drafts')} SET state = ?, free_text = ?, version = ?, edited_at = ?, edited_by = ?, approved_at = ?, approved_by = ?, sent_at = ?, sent_by = ? WHERE id = ? AND version = ?`, [
    d.state, JSON.stringify(d.freeText), d.version, d.editedAt, d.editedBy, d.approvedAt, d.approvedBy, d.sentAt, d.sentBy, d.id, version,
  ]);
  return changed === 1;
}

export async function selectDrafts(db: SqlExecutor, incidentId: string): Promise<DraftRow[]> {
  return (await db.query<Row>(`SELECT ${columns} FROM ${db.table('notice_drafts')} WHERE incident_id = ? ORDER BY id`, [incidentId])).map(toDraft);
}

export async function selectDraft(db: SqlExecutor, incidentId: string, id: string): Promise<DraftRow | undefined> {
  const [row] = await db.query<Row>(`SELECT ${columns} FROM ${db.table('notice_drafts')} WHERE incident_id = ? AND id = ?`, [incidentId, id]);
  return row === undefined ? undefined : toDraft(row);
}

interface DeliveryDbRow {
  draft_id: string;
  recipient: string;
  channel: string;
  status: string;
  code: string | null;
  message_id: string | null;
  at: number | string;
  attempts: number | string;
}

export async function selectDeliveries(db: SqlExecutor, draftId: string): Promise<DeliveryRow[]> {
  const rows = await db.query<DeliveryDbRow>(`SELECT draft_id, recipient, channel, status, code, message_id, at, attempts FROM ${db.table('notice_deliveries')} WHERE draft_id = ? ORDER BY recipient, channel`, [draftId]);
  return rows.map((r) => ({ draftId: r.draft_id, recipient: r.recipient, channel: r.channel as DeliveryChannel, status: r.status as DeliveryRow['status'], code: r.code, messageId: r.message_id, at: Number(r.at), attempts: Number(r.attempts) }));
}

/** Records one recipient's outcome; a second try of the same recipient and channel replaces a failure and counts the attempt. */
export async function upsertDelivery(db: SqlExecutor, row: Omit<DeliveryRow, 'attempts'>): Promise<void> {
  const table = db.table('notice_deliveries');
  const updated = await db.execute(`UPDATE ${table} SET status = ?, code = ?, message_id = ?, at = ?, attempts = attempts + 1 WHERE draft_id = ? AND recipient = ? AND channel = ?`, [row.status, row.code, row.messageId, row.at, row.draftId, row.recipient, row.channel]);
  if (updated === 0) {
    await db.execute(`INSERT INTO ${table} (draft_id, recipient, channel, status, code, message_id, at, attempts) VALUES (?, ?, ?, ?, ?, ?, ?, 1)`, [row.draftId, row.recipient, row.channel, row.status, row.code, row.messageId, row.at]);
  }
}
