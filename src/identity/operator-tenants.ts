import { operatorEvent, type Actor, type Audit, type AuditAction } from '../audit/index.js';
import { HttpError } from '../platform/http/index.js';
import { MoveRefused, type MoveReport } from '../regions/index.js';
import { TenantError, type Tenant, type Tenants } from '../tenants/index.js';
import { operatorRealm } from './realm.js';

/** Who acts, and where from: the operator's account id and the request (for the audit events). */
export interface OperatorAct {
  readonly operatorId: string;
  readonly sourceIp: string;
  readonly requestId: string;
}

/**
 * What a platform operator does to tenants — list, create, disable, set the second-factor
 * policy — with its audit events, for both the JSON API (`/platform/tenants…`) and the operator
 * console's pages, so neither has its own copy: a listing is an event of the operators' trail;
 * a change is an event of the operators' trail (who did what) and of the tenant's (what happened
 * to it). The caller has already passed `authenticator.operator` (role `operator`).
 */
export interface OperatorTenants {
  list(by: OperatorAct): Promise<Tenant[]>;
  create(by: OperatorAct, id: string, name?: string, region?: string): Promise<Tenant>;
  disable(by: OperatorAct, id: string): Promise<Tenant>;
  setMfaPolicy(by: OperatorAct, id: string, policy: string): Promise<Tenant>;
  /**
   * Moves the tenant to another region while the server runs (regions/move-tenant.ts): its
   * requests are answered 503 meanwhile. Done: `tenant.region_moved` in the tenant's trail (now
   * in the target region) and the operators'; refused or failed: in the operators' trail, outcome
   * failure, and a refusal (4xx) naming why — nothing moved.
   */
  move(by: OperatorAct, id: string, to: string, reason: string): Promise<MoveReport>;
}

/** Moves a tenant (regions/move-tenant.ts with this process's deps); MoveRefused when nothing moved. */
export type TenantMover = (tenantId: string, to: string) => Promise<MoveReport>;

/** A move's reason: at most 200 printable characters — why, never who the patients are. */
export function moveReasonOf(raw: string): string | undefined {
  const reason = raw.normalize('NFC').trim();
  return reason === '' || reason.length > 200 || /[\p{Cc}]/u.test(reason) ? undefined : reason;
}

export function createOperatorTenants({ tenants, audit, mover }: { tenants: Tenants; audit: Audit; mover?: TenantMover | undefined }): OperatorTenants {
  const actorOf = (id: string): Actor => ({ id: `operator:${id}`, role: 'operator', client: 'session' });
  async function recorded(by: OperatorAct, action: AuditAction, tenantId: string, detail = '') {
    const event = { ...operatorEvent(action, actorOf(by.operatorId), { resources: [`Tenant/${tenantId}`], detail }), sourceIp: by.sourceIp, requestId: by.requestId };
    await audit.record(operatorRealm, [event]);
    await audit.record(tenantId, [event]);
  }
  async function refused(by: OperatorAct, tenantId: string, to: string, error: TenantError): Promise<never> {
    const event = { ...operatorEvent('tenant.region_moved', actorOf(by.operatorId), { resources: [`Tenant/${tenantId}`], detail: `to ${to}: ${error.message}`, outcome: 'failure' }), sourceIp: by.sourceIp, requestId: by.requestId };
    await audit.record(operatorRealm, [event]);
    throw error;
  }
  return {
    async list(by) {
      const list = await tenants.list();
      await audit.record(operatorRealm, [{ ...operatorEvent('tenant.listed', actorOf(by.operatorId), { detail: `${list.length} tenants` }), sourceIp: by.sourceIp, requestId: by.requestId }]);
      return list;
    },
    async create(by, id, name, region) {
      const created = await tenants.create(id, name, region);
      // Where its data lives is part of what happened (GDPR Art. 30(1)(e): transfers are recorded).
      await recorded(by, 'tenant.created', created.id, `region ${created.region}`);
      return created;
    },
    async disable(by, id) {
      const disabled = await tenants.disable(id);
      await recorded(by, 'tenant.disabled', disabled.id);
      return disabled;
    },
    async setMfaPolicy(by, id, policy) {
      if ((await tenants.get(id)) === undefined) throw new HttpError('not-found', `No tenant ${id}.`, { status: 404 });
      const changed = await tenants.setMfaPolicy(id, policy);
      await recorded(by, 'tenant.settings_changed', changed.id, `mfa ${changed.mfaPolicy}`);
      return changed;
    },
    async move(by, id, rawTo, rawReason) {
      const tenant = await tenants.get(id);
      if (tenant === undefined) throw new HttpError('not-found', `No tenant ${id}.`, { status: 404 });
      const to = rawTo.trim();
      const reason = moveReasonOf(rawReason);
      if (reason === undefined) return refused(by, id, to, new TenantError('setting-invalid', 'A move needs a reason: 1–200 printable characters (why, not who the patients are).', { status: 400 }));
      if (!tenants.regions.names.includes(to)) return refused(by, id, to, new TenantError('region-unknown', `No region "${to}" (regions: ${tenants.regions.names.join(', ')}).`, { status: 400 }));
      if (mover === undefined || tenants.regions.names.length < 2) return refused(by, id, to, new TenantError('move-refused', 'This deployment has one region: there is nowhere to move a tenant to.', { status: 409 }));
      let report: MoveReport;
      try {
        report = await mover(id, to);
      } catch (error) {
        // Refused or failed before the switch: the tenant is where it was (regions/move-tenant.ts).
        if (error instanceof MoveRefused) return refused(by, id, to, new TenantError('move-refused', `${error.message}; nothing was moved.`, { status: 409, cause: error }));
        await audit.record(operatorRealm, [{ ...operatorEvent('tenant.region_moved', actorOf(by.operatorId), { resources: [`Tenant/${id}`], detail: `to ${to}: the move failed`, outcome: 'failure' }), sourceIp: by.sourceIp, requestId: by.requestId }]);
        throw error;
      }
      await recorded(by, 'tenant.region_moved', id, `from ${report.from} to ${report.to}: ${reason}`);
      return report;
    },
  };
}
