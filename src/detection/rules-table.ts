import { rules as allRules } from './rules/index.js';
import type { Rule } from './types.js';

const escape = (text: string) => text.replace(/\|/g, '\\|');
const value = (v: unknown) => (Array.isArray(v) ? v.join(', ') : String(v));

/**
 * The rules as a Markdown table: `tresor detection rules` prints it, and docs/detection.md holds
 * it verbatim (a test checks), so the documented rules are the ones that run.
 */
export function rulesMarkdown(rules: readonly Rule[] = allRules): string {
  const rows = rules.map((rule) => {
    const thresholds = Object.entries(rule.defaults).map(([k, v]) => `\`${k}\` ${escape(value(v))}`).join('; ');
    const watches = rule.kind === 'probe' ? 'platform probe' : rule.actions.map((a) => `\`${a}\``).join(', ');
    return `| \`${rule.id}\` | ${rule.severity} | ${escape(rule.describe)} | ${watches} | ${thresholds === '' ? '—' : thresholds} | [runbook](runbooks/${rule.id}.md) |`;
  });
  return ['| rule | severity | what it detects | watches | thresholds (defaults) | |', '|---|---|---|---|---|---|', ...rows, ''].join('\n');
}
