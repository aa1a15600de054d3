import type { ErrorIssue } from '../../platform/errors.js';

/** R4 IssueType codes (http://hl7.org/fhir/issue-type) for each HTTP status we answer. */
function issueType(status: number, code: string): string {
  if (code === 'gone') return 'deleted';
  if (code === 'unauthenticated') return 'login';
  if (status === 401) return 'login';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not-found';
  if (status === 409 || status === 412) return 'conflict';
  if (status === 413) return 'too-costly';
  if (status === 405 || status === 406 || status === 415 || status === 501) return 'not-supported';
  if (status === 422) return 'processing';
  if (status === 503) return 'transient';
  if (status >= 500) return 'exception';
  return 'invalid';
}

export interface OperationOutcome {
  readonly resourceType: 'OperationOutcome';
  readonly issue: ReadonlyArray<{
    severity: 'error' | 'information';
    code: string;
    details?: { coding: Array<{ system: string; code: string }>; text: string };
    diagnostics?: string;
    expression?: string[];
  }>;
}

/**
 * The FHIR error shape. `details.coding` carries Tresor's stable error code so that clients can
 * switch on it; `expression` points at the element at fault.
 */
export function operationOutcome(status: number, code: string, message: string, issues: readonly ErrorIssue[] = []): OperationOutcome {
  const type = issueType(status, code);
  const details = { coding: [{ system: 'https://tresor.dev/fhir/CodeSystem/error', code }], text: message };
  if (issues.length === 0) return { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: type, details }] };
  return {
    resourceType: 'OperationOutcome',
    issue: issues.map((issue) => ({
      severity: 'error' as const,
      code: type,
      details,
      diagnostics: issue.diagnostics,
      ...(issue.expression === undefined ? {} : { expression: [issue.expression] }),
    })),
  };
}

export function informationOutcome(message: string): OperationOutcome {
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: message }] };
}
