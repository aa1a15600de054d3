import type { ErrorIssue } from '../platform/errors.js';
import { parseLocalReference } from './search/index-entries.js';
import type { Link } from './store.js';

export interface FoundReference extends Link {
  /** Where it stands, for error messages: `Observation.subject.reference`. */
  readonly expression: string;
}

/**
 * Every literal relative reference (`Type/id`) to a type this server holds. Absolute URLs,
 * contained (`#x`) and logical references are left alone: they point outside this tenant's
 * data set and cannot be checked here.
 */
export function collectReferences(resource: Record<string, unknown>, type: string, isLocalType: (type: string) => boolean): FoundReference[] {
  const found: FoundReference[] = [];
  const walk = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item, index) => walk(item, `${path}[${index}]`));
      return;
    }
    if (value === null || typeof value !== 'object') return;
    for (const [key, item] of Object.entries(value)) {
      if (key === 'contained') continue;
      if (key === 'reference' && typeof item === 'string') {
        const target = parseLocalReference(item);
        if (target !== undefined && isLocalType(target.type)) found.push({ ...target, expression: `${path}.reference` });
      } else walk(item, `${path}.${key}`);
    }
  };
  walk(resource, type);
  return found;
}

export function missingReferenceIssues(references: readonly FoundReference[], live: ReadonlySet<string>): ErrorIssue[] {
  return references
    .filter((r) => !live.has(`${r.type}/${r.id}`))
    .map((r) => ({ expression: r.expression, diagnostics: `${r.type}/${r.id} does not exist in this tenant (or was deleted).` }));
}

/** Distinct targets, so a resource citing one patient ten times makes one link. */
export function distinctTargets(references: readonly FoundReference[]): Link[] {
  const seen = new Map<string, Link>();
  for (const r of references) seen.set(`${r.type}/${r.id}`, { type: r.type, id: r.id });
  return [...seen.values()];
}
