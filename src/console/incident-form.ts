import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { AuditAction } from '../audit/index.js';
import { AppError } from '../platform/errors.js';
import { seeOther } from '../platform/pages/index.js';

/** What a form's page needs from its admitted caller: where to record a refusal. */
export interface FormPage {
  readonly record: (action: AuditAction, resources: readonly string[], error?: AppError) => Promise<void>;
}

export interface IncidentFormOptions<P extends FormPage> {
  /** Admits a caller who may change things (the page answers for a refusal itself). */
  readonly admit: (request: FastifyRequest, reply: FastifyReply) => Promise<P | undefined>;
  readonly action: AuditAction;
  /** Does the act; returns where to go after it. */
  readonly work: (request: FastifyRequest, page: P) => Promise<string>;
  /** The page again with the refusal's message (status 4xx). */
  readonly refused: (request: FastifyRequest, page: P, error: AppError) => Promise<FastifyReply>;
}

/**
 * A form of an incident's pages (`POST …/:id/…`): the act, then Post/Redirect/Get (RFC 9110
 * §15.4.4, 303) to the address `work` names; a refusal (4xx but 404, which stays an error page)
 * is recorded in the caller's trail against the incident and shown on the page it came from.
 */
export function incidentForm<P extends FormPage>(app: FastifyInstance, url: string, { admit, action, work, refused }: IncidentFormOptions<P>): void {
  app.post(url, async (request, reply) => {
    const page = await admit(request, reply);
    if (page === undefined) return reply;
    let next: string;
    try {
      next = await work(request, page);
    } catch (error) {
      if (!(error instanceof AppError) || error.status >= 500 || error.status === 404) throw error;
      await page.record(action, [`Incident/${(request.params as { id: string }).id}`], error);
      return refused(request, page, error);
    }
    return seeOther(reply, next);
  });
}
