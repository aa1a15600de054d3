import { factsOf, touched } from './assessment-facts.js';
import { notificationRules } from './assessment-rules/index.js';
import type { Answer, AssessmentInput, ComputedItem, Deadline, NotificationRule } from './assessment-types.js';

export const itemKey = (rule: string, tenantId: string): string => `${rule}@${tenantId}`;

/** The absolute due time of a deadline, from the time of awareness; null when the rule fixes none. */
export function dueAtOf(deadline: Deadline, awareAt: number): number | null {
  switch (deadline.kind) {
    case 'after':
      return awareAt + deadline.ms;
    case 'at':
      return deadline.at;
    case 'wording':
      return null;
  }
}

/**
 * The checklist, computed from a frozen scope: per affected tenant (each is its own controller
 * or covered entity), each rule of the regimes that apply, in the table's order. Pure: the same
 * input gives the same items. An override (a person's answer) is what later rules build on, so
 * overriding 164.402 after a risk assessment carries into 164.404–164.410.
 */
export function assess(input: AssessmentInput, rules: readonly NotificationRule[] = notificationRules, config: ReadonlyMap<string, Readonly<Record<string, number>>> = new Map()): ComputedItem[] {
  const items: ComputedItem[] = [];
  const applicable = rules.filter((rule) => input.regimes.includes(rule.regime));
  for (const tenant of input.scope.tenants.filter(touched)) {
    const facts = factsOf(input.scope, tenant, input.residency[tenant.tenantId]);
    const prior = new Map<string, Answer>();
    for (const rule of applicable) {
      const key = itemKey(rule.id, tenant.tenantId);
      const result = rule.evaluate(facts, { role: input.role, awareAt: input.awareAt, prior }, { ...rule.defaults, ...config.get(rule.id) });
      prior.set(rule.id, input.overrides?.get(key) ?? result.answer);
      items.push({ ...result, key, rule: rule.id, regime: rule.regime, cite: rule.cite, question: rule.describe, severity: rule.severity, tenantId: tenant.tenantId, dueAt: dueAtOf(result.deadline, input.awareAt) });
    }
  }
  return items;
}
