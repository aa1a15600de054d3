import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { runPromtool, skipWithoutPromtool } from '../../support/promtool.js';

/**
 * The Prometheus alerting rules operators load (docs/operations/prometheus-alerts.yml): valid for
 * promtool, each alert fires on the series its unit tests give and stays quiet on the others,
 * every metric they read is one Tresor exports (a renamed metric fails here, not silently in an
 * operator's Prometheus), and every alert has its runbook.
 */
const root = join(import.meta.dirname, '..', '..', '..');
const rulesFile = join(root, 'docs', 'operations', 'prometheus-alerts.yml');
const unitTestFile = join(import.meta.dirname, 'prometheus-alerts.test.yml');
const runbooks = join(root, 'docs', 'runbooks');
/** Where the rules file's runbook links point until an operator replaces it (docs/operations/prometheus.md). */
const runbookBase = 'https://docs.tresor.invalid/';
const severities = new Set(['critical', 'high', 'medium', 'low']);
/** Labels an annotation may print: names, ids and counts, never record contents. */
const printableLabels = new Set(['instance', 'job', 'operation', 'standby', 'sink', 'method', 'jobs', 'realm', 'rule', 'scope', 'tenant', 'region']); // region: a configured region name (lower-case letters, digits, '-')
/** Exported by the detection engine: required in src once the engine exports any of them. */
const detectionMetrics = ['tresor_detection_lag_seconds', 'tresor_detection_rule_errors_total', 'tresor_alerts_raised_total'];

interface AlertRule {
  readonly name: string;
  readonly expr: string;
  readonly labels: ReadonlyMap<string, string>;
  readonly annotations: ReadonlyMap<string, string>;
}

const indentOf = (line: string) => line.length - line.trimStart().length;
const meaningful = (line: string) => line.trim() !== '' && !line.trim().startsWith('#');
const unquote = (value: string) => (value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1).replace(/\\(["\\])/g, '$1') : value);

/** The alerting rules of the file, read by its own layout (promtool has already checked it is valid YAML of the right shape). */
function readAlerts(text: string): AlertRule[] {
  const lines = text.split('\n');
  const alerts: AlertRule[] = [];
  for (let i = 0; i < lines.length; i++) {
    const start = /^(\s*)- alert: (\S+)\s*$/.exec(lines[i] ?? '');
    if (start === null) continue;
    const keyIndent = (start[1] ?? '').length + 2;
    const block: string[] = [];
    for (let j = i + 1; j < lines.length && (!meaningful(lines[j] ?? '') || indentOf(lines[j] ?? '') >= keyIndent); j++) block.push(lines[j] ?? '');
    let expr = '';
    const maps = { labels: new Map<string, string>(), annotations: new Map<string, string>() };
    for (let k = 0; k < block.length; k++) {
      const line = block[k] ?? '';
      if (!meaningful(line) || indentOf(line) !== keyIndent) continue;
      const [, key = '', value = ''] = /^\s*(\w+):\s*(.*)$/.exec(line) ?? [];
      const nested: string[] = [];
      while (k + 1 < block.length && (!meaningful(block[k + 1] ?? '') || indentOf(block[k + 1] ?? '') > keyIndent)) nested.push(block[++k] ?? '');
      if (key === 'expr') expr = value === '|' ? nested.join('\n') : value;
      if (key === 'labels' || key === 'annotations') {
        for (const entry of nested.filter(meaningful)) {
          const [, name = '', text = ''] = /^\s*(\w+):\s*(.*)$/.exec(entry) ?? [];
          maps[key].set(name, unquote(text.trim()));
        }
      }
    }
    alerts.push({ name: start[2] ?? '', expr, labels: maps.labels, annotations: maps.annotations });
  }
  return alerts;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

const alerts = readAlerts(readFileSync(rulesFile, 'utf8'));

describe('Prometheus alerting rules (docs/operations/prometheus-alerts.yml)', () => {
  it('promtool finds every rule valid', { skip: skipWithoutPromtool }, async () => {
    const result = await runPromtool(['check', 'rules', relative(root, rulesFile)], root);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, new RegExp(`SUCCESS: ${alerts.length} rules found`), `every rule in the file is an alert this test reads:\n${result.output}`);
  });

  it("promtool's unit tests pass: each alert fires on its series and stays quiet on the others", { skip: skipWithoutPromtool }, async () => {
    const result = await runPromtool(['test', 'rules', relative(import.meta.dirname, unitTestFile)], import.meta.dirname);
    assert.equal(result.code, 0, result.output);
    assert.match(result.output, /SUCCESS/);
  });

  it('the unit tests have, for every alert, a case where it fires and one where it must not', () => {
    assert.ok(alerts.length >= 20, `read ${alerts.length} alerts`);
    const cases = readFileSync(unitTestFile, 'utf8').split(/^\s*- eval_time:/m).slice(1);
    for (const { name } of alerts) {
      const own = cases.filter((c) => new RegExp(`^\\s*alertname: ${name}\\s*$`, 'm').test(c));
      assert.ok(
        own.some((c) => /exp_alerts: \[\]/.test(c)),
        `${name}: no case where it must not fire`,
      );
      assert.ok(
        own.some((c) => /- exp_labels:/.test(c)),
        `${name}: no case where it fires`,
      );
    }
  });

  it('every alert has a severity, a summary, a description and its runbook', () => {
    for (const alert of alerts) {
      assert.match(alert.name, /^Tresor[A-Z][A-Za-z]+$/, `${alert.name}: named Tresor…`);
      assert.ok(severities.has(alert.labels.get('severity') ?? ''), `${alert.name}: severity ${alert.labels.get('severity')} is not one of ${[...severities].join(', ')}`);
      assert.ok((alert.annotations.get('summary') ?? '').length > 10, `${alert.name}: summary`);
      assert.ok((alert.annotations.get('description') ?? '').length > 20, `${alert.name}: description`);
      assert.equal(alert.annotations.get('runbook_url'), `${runbookBase}runbooks/${alert.name}.md`, `${alert.name}: runbook_url`);
      const runbook = join(runbooks, `${alert.name}.md`);
      assert.ok(existsSync(runbook), `${alert.name}: docs/runbooks/${alert.name}.md is missing`);
      const text = readFileSync(runbook, 'utf8');
      assert.match(text, new RegExp(`^# ${alert.name}\\b`, 'm'), `${alert.name}: the runbook's title names the alert`);
      for (const section of ['What it means', 'Is it real?', 'Contain', 'Close']) {
        assert.ok(text.includes(`\n## ${section}\n`), `${alert.name}: runbook section "${section}" is missing`);
      }
    }
  });

  it('annotations print names, ids and values only: no label that could carry record contents', () => {
    for (const alert of alerts) {
      for (const [key, text] of alert.annotations) {
        for (const [, label = ''] of text.matchAll(/\$labels\.(\w+)/g)) {
          assert.ok(printableLabels.has(label), `${alert.name} ${key} prints $labels.${label}`);
        }
      }
    }
  });

  it('every metric the rules read is one Tresor exports (grep of src)', (t) => {
    const source = sourceFiles(join(root, 'src'))
      .map((file) => readFileSync(file, 'utf8'))
      .join('\n');
    const exported = (name: string) => source.includes(`'${name}'`);
    const used = new Set(alerts.flatMap((a) => [...a.expr.replace(/"[^"]*"/g, '').matchAll(/\btresor_[a-z0-9_]+\b/g)].map((m) => m[0])));
    assert.ok(used.size >= 20, `read ${used.size} metric names`);
    // The histogram's series are its name plus _bucket, _count, _sum.
    const metricOf = (series: string) => {
      const base = series.replace(/_(bucket|count|sum)$/, '');
      return base !== series && exported(base) ? base : series;
    };
    const detectionExported = detectionMetrics.filter(exported);
    for (const series of used) {
      const metric = metricOf(series);
      if (detectionMetrics.includes(metric) && detectionExported.length === 0) continue;
      assert.ok(exported(metric), `${metric} is used by the alerting rules but no file in src defines it`);
    }
    if (detectionExported.length === 0) t.diagnostic(`the detection engine's metrics (${detectionMetrics.join(', ')}) are not in src yet: their rules are not checked against it`);
    assert.ok(
      alerts.some((a) => /\bup\{job="tresor"\}/.test(a.expr)),
      'a rule watches whether Prometheus can scrape Tresor at all',
    );
  });

  it('the runbook index links every runbook and every detection rule, and every link in it leads to one', (t) => {
    const index = readFileSync(join(runbooks, 'README.md'), 'utf8');
    const linked = new Set([...index.matchAll(/\]\((?:\.\/)?([^)#\s/]+\.md)\)/g)].map((m) => m[1] ?? ''));
    for (const file of readdirSync(runbooks).filter((f) => f.endsWith('.md') && f !== 'README.md')) {
      assert.ok(linked.has(file), `docs/runbooks/README.md does not list ${file}: add a row to its table`);
    }
    for (const { name } of alerts) assert.ok(linked.has(`${name}.md`), `docs/runbooks/README.md does not list ${name}`);
    // The detection engine's rules (src/detection/rules/, one file each with its dotted id).
    const rulesDir = join(root, 'src', 'detection', 'rules');
    const ruleIds = existsSync(rulesDir)
      ? sourceFiles(rulesDir).flatMap((file) => [.../^\s*id: '([a-z]+\.[a-z0-9.-]+)',/gm.exec(readFileSync(file, 'utf8')) ?? []].slice(1, 2))
      : [];
    for (const id of ruleIds) assert.ok(linked.has(`${id}.md`), `docs/runbooks/README.md does not list the detection rule ${id}`);
    // A detection rule's page comes with the rule (its own tests hold it to that): a row may wait
    // for it. Every other link in the index must lead somewhere.
    const waiting: string[] = [];
    for (const [, target = ''] of index.matchAll(/\]\(([^)\s]+)\)/g)) {
      const path = target.split('#')[0] ?? '';
      if (/^[a-z]+:/.test(target) || path === '' || existsSync(join(runbooks, path))) continue;
      assert.ok(/^[a-z]+\.[a-z0-9.-]+\.md$/.test(path), `docs/runbooks/README.md links ${target}, which does not exist`);
      waiting.push(path);
    }
    if (waiting.length > 0) t.diagnostic(`detection rules whose runbook is not here yet: ${waiting.join(', ')}`);
  });
});
