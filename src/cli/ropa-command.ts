import { writeFileSync } from 'node:fs';
import { operatorEvent } from '../audit/index.js';
import type { Config } from '../config/index.js';
import { operatorRealm } from '../identity/index.js';
import { parseTenantId } from '../tenants/index.js';
import { ropaFormats, ropaMarkdown, ropaPdf, type RopaFormat } from '../privacy/index.js';
import { ropaOf, type Core } from '../app.js';
import { cliOperator } from './cli-actor.js';
import type { CliIo, CliValues } from './io.js';
import { Refusal, UsageError } from './usage-error.js';

/**
 * `tresor ropa [--tenant T] [--format md|json|pdf] [--out FILE] [--lang en|de]`: the records of
 * processing (GDPR Art. 30), generated now — a tenant's as controller, without `--tenant` the
 * deployment's as processor. Recorded as `ropa.generated` in the tenant's (or the operators') trail.
 */
export async function ropaCommand(io: CliIo, core: Core, config: Config, values: CliValues): Promise<number> {
  const format = (typeof values['format'] === 'string' ? values['format'] : 'md') as RopaFormat;
  if (!(ropaFormats as readonly string[]).includes(format)) throw new UsageError(`--format: one of ${ropaFormats.join(', ')}`);
  const out = typeof values['out'] === 'string' ? values['out'] : undefined;
  if (format === 'pdf' && out === undefined) throw new UsageError('--format pdf needs --out FILE');
  const lang = values['lang'] === undefined ? 'en' : values['lang'];
  if (lang !== 'en' && lang !== 'de') throw new UsageError('--lang: en or de');
  const tenantId = typeof values['tenant'] === 'string' ? parseTenantId(values['tenant']) : undefined;
  if (tenantId !== undefined && (await core.tenants.get(tenantId)) === undefined) throw new Refusal(`no tenant ${tenantId}`);
  const ropa = ropaOf(core, config);
  const doc = tenantId === undefined ? await ropa.platform() : await ropa.tenant(tenantId);
  await core.audit.record(tenantId ?? operatorRealm, [operatorEvent('ropa.generated', cliOperator(), { detail: `format=${format}` })]);
  const body = format === 'json' ? JSON.stringify(doc, null, 2) : format === 'md' ? ropaMarkdown(doc, lang) : await ropaPdf(doc, lang);
  if (out === undefined) io.stdout(String(body).trimEnd());
  else {
    writeFileSync(out, typeof body === 'string' ? body : Buffer.from(body), { mode: 0o600 });
    io.stdout(`${out}: records of processing of ${tenantId ?? 'the deployment'} (${format})`);
  }
  return 0;
}
