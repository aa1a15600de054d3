import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { currentPrimary, healthy, patroniCluster, postmasterPid, startPostgresNode, tresorEndpoint, type ClusterSecrets, type ClusterState } from './cluster.js';
import { requestJson, signal, waitFor } from './processes.js';

/**
 * `tresor drill failover` (issue 8): proves on the running cluster that losing the primary loses
 * no acknowledged write and that writes come back on their own, without restarting Tresor.
 *
 * 1. A write load (FHIR creates through HAProxy, over HTTPS, several at a time). Every 201 is
 *    appended to an acknowledgement log on the client's side before it counts.
 * 2. The primary's Patroni and PostgreSQL are killed with SIGKILL — the machine is gone; nothing
 *    gets to shut down or hand over.
 * 3. RTO: from the kill to the first write that began after it and was acknowledged.
 *    RPO: acknowledged writes that cannot be read back afterwards (must be 0).
 *    Every answer during the outage must be 201 or a retryable 503: anything else is a wrong
 *    answer. Then the tenant's audit chain is verified.
 * 4. The killed node is started again and must rejoin as a standby (pg_rewind) before the drill
 *    ends, so drills can run one after another.
 * Every wait is bounded; the report goes to `<cluster>/drills/` as JSON and Markdown.
 */

export interface FailoverDrillOptions {
  readonly state: ClusterState;
  readonly secrets: ClusterSecrets;
  readonly tenant: string;
  /** A key of role `service` in `tenant` (the drill's writer). */
  readonly apiKey: string;
  /** Parallel writers (default 4). */
  readonly writers?: number;
  /** Load before the kill (default 3 s) and after writes succeed again (default 3 s). */
  readonly warmupMs?: number;
  readonly afterMs?: number;
  /** RTO target (default 15 s) and the drill's give-up point for recovery (default 60 s). */
  readonly rtoTargetMs?: number;
  readonly recoveryLimitMs?: number;
  /** Checks the tenant's audit chain after the failover: the number of findings. */
  readonly verifyAudit: () => Promise<{ events: number; findings: string[] }>;
  readonly log?: (line: string) => void;
}

export interface FailoverReport {
  readonly kind: 'failover-drill';
  readonly startedAt: string;
  readonly passed: boolean;
  readonly failures: string[];
  readonly killed: { readonly node: string; readonly patroniPid: number; readonly postmasterPid: number | undefined; readonly at: string };
  readonly promoted: string | undefined;
  /** Milliseconds from the kill to the first acknowledged write begun after it. */
  readonly rtoMs: number | undefined;
  readonly rtoTargetMs: number;
  /** Acknowledged writes not found afterwards. */
  readonly rpoLostWrites: number;
  readonly acknowledged: number;
  readonly answers: Readonly<Record<string, number>>;
  readonly wrongAnswers: number;
  readonly networkErrors: number;
  readonly audit: { readonly events: number; readonly findings: string[] };
  readonly rejoinedMs: number | undefined;
  readonly ackLog: string;
  readonly reportFiles: readonly string[];
}

interface Ack {
  readonly n: number;
  readonly id: string;
  readonly begunAt: number;
  readonly ackedAt: number;
}

export async function runFailoverDrill(options: FailoverDrillOptions): Promise<FailoverReport> {
  const { state } = options;
  const log = options.log ?? (() => undefined);
  const writers = options.writers ?? 4;
  const rtoTargetMs = options.rtoTargetMs ?? 15_000;
  const recoveryLimitMs = options.recoveryLimitMs ?? 60_000;
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const drillsDir = join(state.dir, 'drills');
  mkdirSync(drillsDir, { recursive: true, mode: 0o700 });
  const ackLog = join(drillsDir, `failover-${stamp}.acks.ndjson`);
  const failures: string[] = [];

  if (!(await waitFor(() => healthy(state, { allNodes: true }), 60_000, 500))) throw new Error('the cluster is not healthy (a primary, a synchronous standby and every node running): not drilling');
  const primary = await currentPrimary(state);
  if (primary === undefined) throw new Error('no primary');
  const { members } = await patroniCluster(state);
  const syncStandby = members.find((m) => m.role === 'sync_standby')?.name;
  log(`primary ${primary.name}, synchronous standby ${syncStandby ?? 'none'}`);

  const endpoint = tresorEndpoint(state);
  // Keep-alive like a real client's pool: connections to a node that goes away fail and are replaced.
  const agent = new https.Agent({ keepAlive: true, maxSockets: writers, ca: endpoint.ca, servername: 'localhost' });
  const answers: Record<string, number> = {};
  const acks: Ack[] = [];
  let networkErrors = 0;
  let counter = 0;
  let running = true;
  const runId = startedAt.getTime().toString(36);
  const writer = async () => {
    while (running) {
      const n = ++counter;
      const begunAt = performance.now();
      try {
        const { status, body, headers } = await requestJson(`${endpoint.url}/tenants/${options.tenant}/fhir/Patient`, {
          method: 'POST',
          agent,
          timeoutMs: 10_000,
          headers: { authorization: `Bearer ${options.apiKey}`, 'content-type': 'application/fhir+json' },
          body: { resourceType: 'Patient', identifier: [{ system: 'urn:tresor:drill', value: `${runId}-${n}` }], birthDate: '1970-01-01', gender: 'unknown' },
        });
        // Tresor's 503 is JSON in the surface's shape (a FHIR OperationOutcome here, `transient`);
        // an HTML page from the load balancer means no Tresor node answered at all (a node died):
        // that is no promised answer.
        const key = status !== 503 ? String(status) : typeof body !== 'object' || body === null ? '503 (load balancer)' : headers['retry-after'] === undefined ? '503 (no Retry-After)' : '503';
        answers[key] = (answers[key] ?? 0) + 1;
        if (status === 201) {
          const id = (body as { id?: string }).id ?? '';
          const ack: Ack = { n, id, begunAt, ackedAt: performance.now() };
          // Logged before it counts as acknowledged: the log is the client's record of promises kept.
          appendFileSync(ackLog, `${JSON.stringify({ n, id, at: new Date().toISOString() })}\n`, { mode: 0o600 });
          acks.push(ack);
        } else {
          // 503 with Retry-After is the promised answer while the primary is away (anything else is
          // counted as a wrong answer below); back off a little either way.
          await sleep(100);
        }
      } catch {
        networkErrors++;
        await sleep(100);
      }
    }
  };

  const load = Array.from({ length: writers }, () => writer());
  let killAt = 0;
  let killedAt = '';
  let promoted: string | undefined;
  let rtoMs: number | undefined;
  const postmaster = postmasterPid(primary);
  try {
    await sleep(options.warmupMs ?? 3000);
    if (acks.length === 0) failures.push('no write succeeded before the kill: the load does not work');
    // The machine is gone: Patroni and PostgreSQL (its whole process group) get SIGKILL at once.
    killAt = performance.now();
    killedAt = new Date().toISOString();
    signal(-primary.pid, 'SIGKILL');
    signal(primary.pid, 'SIGKILL');
    if (postmaster !== undefined) {
      signal(-postmaster, 'SIGKILL');
      signal(postmaster, 'SIGKILL');
    }
    log(`killed ${primary.name} (patroni ${primary.pid}, postmaster ${postmaster ?? 'not found'}) with SIGKILL`);
    const recovered = await waitFor(() => acks.some((a) => a.begunAt > killAt), recoveryLimitMs, 20);
    if (recovered) {
      rtoMs = Math.round(Math.min(...acks.filter((a) => a.begunAt > killAt).map((a) => a.ackedAt)) - killAt);
      log(`writes succeed again after ${(rtoMs / 1000).toFixed(1)} s`);
      await sleep(options.afterMs ?? 3000);
    } else {
      failures.push(`writes did not succeed within ${recoveryLimitMs / 1000} s of the kill`);
    }
  } finally {
    running = false;
    await Promise.all(load);
    agent.destroy();
  }
  try {
    promoted = (await currentPrimary(state))?.name;
  } catch {
    promoted = undefined;
  }
  if (rtoMs !== undefined && rtoMs > rtoTargetMs) failures.push(`RTO ${rtoMs} ms is above the target of ${rtoTargetMs} ms`);

  // RPO: every acknowledged write must be there, read back through the service.
  log(`checking ${acks.length} acknowledged writes`);
  const readAgent = new https.Agent({ keepAlive: true, maxSockets: 8, ca: endpoint.ca, servername: 'localhost' });
  let lost = 0;
  const queue = [...acks];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let ack = queue.pop(); ack !== undefined; ack = queue.pop()) {
        let status = 0;
        for (let attempt = 0; attempt < 5; attempt++) {
          try {
            status = (await requestJson(`${endpoint.url}/tenants/${options.tenant}/fhir/Patient/${encodeURIComponent(ack.id)}`, { agent: readAgent, timeoutMs: 10_000, headers: { authorization: `Bearer ${options.apiKey}` } })).status;
          } catch {
            status = 0;
          }
          if (status === 200 || status === 404 || status === 410) break;
          await sleep(500);
        }
        if (status !== 200) lost++;
      }
    }),
  );
  readAgent.destroy();
  if (lost > 0) failures.push(`${lost} acknowledged writes are missing (RPO must be 0)`);
  const wrongAnswers = Object.entries(answers).filter(([status]) => status !== '201' && status !== '503').reduce((sum, [, count]) => sum + count, 0);
  if (wrongAnswers > 0) failures.push(`${wrongAnswers} answers were neither 201 nor Tresor's retryable 503`);
  // Tresor stays up through a failover: the client's connections to it must not break.
  if (networkErrors > 0) failures.push(`${networkErrors} requests lost their connection (a Tresor node or the load balancer went away)`);

  const audit = await options.verifyAudit();
  if (audit.findings.length > 0) failures.push(`the audit chain has ${audit.findings.length} findings`);

  // Heal: the killed node comes back as a standby of the new primary.
  log(`restarting ${primary.name}`);
  const rejoinStart = performance.now();
  startPostgresNode(state, options.secrets, primary);
  const rejoined = await waitFor(async () => {
    const { members: now } = await patroniCluster(state);
    const back = now.find((m) => m.name === primary.name);
    return back !== undefined && back.role !== 'leader' && (back.state === 'streaming' || back.state === 'running') && (await healthy(state, { allNodes: true }));
  }, 90_000, 500);
  const rejoinedMs = rejoined ? Math.round(performance.now() - rejoinStart) : undefined;
  if (!rejoined) failures.push(`${primary.name} did not rejoin as a standby within 90 s`);

  const report: FailoverReport = {
    kind: 'failover-drill',
    startedAt: startedAt.toISOString(),
    passed: failures.length === 0,
    failures,
    killed: { node: primary.name, patroniPid: primary.pid, postmasterPid: postmaster, at: killedAt },
    promoted,
    rtoMs,
    rtoTargetMs,
    rpoLostWrites: lost,
    acknowledged: acks.length,
    answers,
    wrongAnswers,
    networkErrors,
    audit,
    rejoinedMs,
    ackLog,
    reportFiles: [join(drillsDir, `failover-${stamp}.json`), join(drillsDir, `failover-${stamp}.md`)],
  };
  writeFileSync(report.reportFiles[0]!, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o600 });
  writeFileSync(report.reportFiles[1]!, failoverMarkdown(report), { mode: 0o600 });
  return report;
}

export function failoverMarkdown(report: FailoverReport): string {
  const seconds = (ms: number | undefined) => (ms === undefined ? '—' : `${(ms / 1000).toFixed(1)} s`);
  return `# Failover drill ${report.startedAt}: ${report.passed ? 'PASSED' : 'FAILED'}

| | |
|---|---|
| primary killed (SIGKILL) | ${report.killed.node} |
| promoted | ${report.promoted ?? '—'} |
| RTO (kill → first acknowledged write begun after it) | ${seconds(report.rtoMs)} (target ${seconds(report.rtoTargetMs)}) |
| RPO (acknowledged writes missing) | ${report.rpoLostWrites} of ${report.acknowledged} |
| answers | ${Object.entries(report.answers).map(([status, count]) => `${status}: ${count}`).join(', ')}; network errors ${report.networkErrors} |
| answers neither 201 nor 503 | ${report.wrongAnswers} |
| audit chain | ${report.audit.events} events, ${report.audit.findings.length} findings |
| old primary rejoined as standby | ${seconds(report.rejoinedMs)} |

${report.failures.length === 0 ? 'No failures.' : report.failures.map((f) => `- ${f}`).join('\n')}

Acknowledgement log: ${report.ackLog}
`;
}
