import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Html } from '../../platform/pages/index.js';
import type { StaffCaller } from '../page-guard.js';
import { sendPersonPage } from '../person-page.js';
import { clinicNav, sectionPath, type ClinicSection } from './nav.js';

/** A clinic console page in the one layout: the tenant's name, the person, the sections their role may use. */
export function sendClinicPage(
  request: FastifyRequest,
  reply: FastifyReply,
  caller: StaffCaller,
  page: { readonly section: ClinicSection; readonly title: string; readonly body: Html; readonly notice?: string; readonly error?: string; readonly status?: number; readonly wide?: boolean; readonly scripts?: readonly string[] },
): FastifyReply {
  const { me, locale } = caller;
  return sendPersonPage(request, reply, caller, {
    ...page,
    nav: clinicNav(me.realmId, me.account.role, locale, caller.openAlerts),
    current: sectionPath(me.realmId, page.section),
    signOut: `/tenants/${me.realmId}/account/sign-out`,
    wide: page.wide ?? true,
  });
}
