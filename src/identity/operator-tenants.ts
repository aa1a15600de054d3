import { operatorEvent, type Actor, type Audit, type AuditAction } from '../audit/index.js';
import { HttpError } from '../platform/http/index.js';
import type { Tenant, Tenants } from '../tenants/index.js';
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
}

export function createOperatorTenants({ tenants, audit }: { tenants: Tenants; audit: Audit }): OperatorTenants {
  const actorOf = (id: string): Actor => ({ id: `operator:${id}`, role: 'operator', client: 'session' });
  async function recorded(by: OperatorAct, action: AuditAction, tenantId: string, detail = '') {
    const event = { ...operatorEvent(action, actorOf(by.operatorId), { resources: [`Tenant/${tenantId}`], detail }), sourceIp: by.sourceIp, requestId: by.requestId };
    await audit.record(operatorRealm, [event]);
    await audit.record(tenantId, [event]);
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
  };
}
