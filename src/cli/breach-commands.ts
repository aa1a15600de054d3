import { readFileSync } from 'node:fs';
import type { Core } from '../app.js';
import { createBreachScopes, type Scope, type ScopeRequest } from '../breach/index.js';
import { systemClock } from '../platform/clock.js';
import { cliOperator } from './cli-actor.js';
import { number } from './human-size.js';
import type { CliIo, CliValues } from './io.js';
import { UsageError } from './usage-error.js';

const list = (value: unknown): string[] => (Array.isArray(value) ? value : typeof value === 'string' ? [value] : []).flatMap((v: string) => v.split(',')).map((v) => v.trim()).filter(Boolean);

/** The suspect of `tresor breach scope` (and `tresor incident scope`): exactly one of the credential, address or raw-files options. */
function suspectOf(values: CliValues, command: string): unknown {
  const given = (['api-key', 'account', 'client', 'address'] as const).filter((name) => list(values[name]).length > 0);
  const rawFiles = values['raw-files'] === true;
  if (given.length + (rawFiles ? 1 : 0) !== 1) throw new UsageError(`${command} takes one suspect: --api-key, --account, --client, --address or --raw-files`);
  if (rawFiles) return { kind: 'raw-files', keysExposed: values['keys-exposed'] === true };
  const kind = given[0] as (typeof given)[number];
  return { kind, values: list(values[kind]) };
}

/** A scope request from the options `--from`, `--to`, the suspect and `--tenant`: shared by `tresor breach scope` and `tresor incident scope`. */
export function scopeRequestOf(values: CliValues, command: string): ScopeRequest {
  if (typeof values['from'] !== 'string' || typeof values['to'] !== 'string') throw new UsageError(`${command} needs --from and --to (ISO 8601)`);
  const tenants = list(values['tenant']);
  return { from: values['from'], to: values['to'], suspect: suspectOf(values, command), tenants: tenants.length === 0 ? 'all' : tenants };
}

const when = (at: number | null) => (at === null ? '—' : new Date(at).toISOString());

export function printScope(io: CliIo, scope: Scope): void {
  const { inputs } = scope;
  io.stdout(`window ${new Date(inputs.from).toISOString()} … ${new Date(inputs.to).toISOString()}, ${inputs.tenants.length} tenant(s) read in ${number.format(scope.durationMs)} ms`);
  for (const tenant of scope.tenants) {
    if (tenant.patients.count === 0 && tenant.records.count === 0 && tenant.attempts.count === 0) continue;
    const how = tenant.classes.inClear.length === 0 ? 'nothing in clear' : `in clear: ${tenant.classes.inClear.join(', ')}`;
    const sealed = tenant.classes.ciphertextOnly.length === 0 ? '' : `; ciphertext only: ${tenant.classes.ciphertextOnly.join(', ')}`;
    io.stdout(`tenant ${tenant.tenantId}: ${number.format(tenant.patients.count)} patients, ${number.format(tenant.records.count)} records, ${number.format(tenant.attempts.count)} refused attempts; ${how}${sealed}`);
    for (const p of tenant.patients.list) io.stdout(`  ${p.patient}  ${p.disclosure}  ${when(p.first)}  ${when(p.last)}  ${p.accesses}`);
    if (tenant.patients.truncated) io.stdout(`  … the list stops at ${number.format(tenant.patients.list.length)}: use --json for the full counts`);
  }
  io.stdout(`total: ${number.format(scope.totals.patients)} patients in ${scope.totals.tenants} tenant(s); scope hash ${scope.hash}`);
}

/**
 * `tresor breach scope …` and `tresor breach verify FILE`. The scope is audited like the API's
 * (`breach.scope_computed`, by the operating-system account); `--json` prints the whole scope,
 * which `verify` derives again from the trails and compares (exit 1 when it differs).
 */
export async function breachCommand(io: CliIo, core: Core, sub: string | undefined, arg: string | undefined, values: CliValues): Promise<number> {
  const scopes = createBreachScopes({ storage: core.storage, tenants: core.tenants, audit: core.audit, clock: systemClock });
  if (sub === 'scope') {
    const scope = await scopes.compute(scopeRequestOf(values, 'tresor breach scope'), { actor: cliOperator(), sourceIp: 'local', requestId: '' });
    if (values['json'] === true) io.stdout(JSON.stringify(scope, null, 2));
    else printScope(io, scope);
    return 0;
  }
  if (sub === 'verify') {
    if (arg === undefined) throw new UsageError('tresor breach verify takes the file of a scope (from --json)');
    const scope = JSON.parse(readFileSync(arg, 'utf8')) as Scope;
    const check = await scopes.verify(scope);
    io.stdout(
      check.ok
        ? `the scope derives again to the same numbers: hash ${scope.hash}`
        : `the scope does not derive again: ${check.intact ? 'its contents match its hash, but the trail now says otherwise' : 'its contents were changed after it was computed'}${check.differences.length === 0 ? '' : ` (${check.differences.join('; ')})`}`,
    );
    return check.ok ? 0 : 1;
  }
  throw new UsageError(sub === undefined ? 'tresor breach takes scope or verify' : `no command breach ${sub}`);
}
