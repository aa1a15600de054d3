import { missingPrograms } from '../../src/ha/index.js';

const requireHa = process.env['TRESOR_REQUIRE_HA'] === '1';

/**
 * `false` when the high-availability cluster (etcd, Patroni, HAProxy, PostgreSQL from Debian)
 * can run here; otherwise why its tests are skipped. With TRESOR_REQUIRE_HA=1 (set by CI) a
 * missing package is no reason to skip: the test then fails, so CI cannot pass without it.
 */
export function clusterSkipReason(): string | false {
  const missing = missingPrograms();
  if (missing.length === 0 || requireHa) return false;
  return `missing Debian packages ${missing.join(', ')}; TRESOR_REQUIRE_HA=1 makes this a failure`;
}
