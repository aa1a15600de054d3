import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Html } from '../../platform/pages/index.js';
import { layout, sendPage } from '../../platform/pages/index.js';
import type { StaffCaller } from '../page-guard.js';
import { clinicNav, sectionPath, type ClinicSection } from './nav.js';

/** A clinic console page in the one layout: the tenant's name, the person, the sections their role may use. */
export function sendClinicPage(
  request: FastifyRequest,
  reply: FastifyReply,
  caller: StaffCaller,
  page: { readonly section: ClinicSection; readonly title: string; readonly body: Html; readonly notice?: string; readonly error?: string; readonly status?: number; readonly wide?: boolean; readonly scripts?: readonly string[] },
): FastifyReply {
  const { me, locale } = caller;
  const base = `/tenants/${me.realmId}`;
  return sendPage(
    reply,
    layout({
      locale,
      title: page.title,
      space: me.space,
      person: { label: me.account.email, role: me.account.role },
      nav: clinicNav(me.realmId, me.account.role, locale),
      current: sectionPath(me.realmId, page.section),
      signOut: { action: `${base}/account/sign-out`, csrf: me.csrf },
      path: request.url,
      body: page.body,
      wide: page.wide ?? true,
      ...(page.notice === undefined ? {} : { notice: page.notice }),
      ...(page.error === undefined ? {} : { error: page.error }),
      ...(page.scripts === undefined ? {} : { scripts: page.scripts }),
    }),
    page.status ?? 200,
  );
}
