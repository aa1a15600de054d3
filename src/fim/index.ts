/**
 * @module fim
 * File integrity monitoring: a baseline of what Tresor runs — its code, package manifest and
 * lockfile, every installed dependency file, the runbooks it serves, its configuration file, TLS
 * certificate and key —
 * hashed (SHA-256) and signed (Ed25519, with a key kept wrapped in the key store, outside every
 * watched path); checks that compare the files with it, one change per file; and the server's
 * periodic check. The master key ring is watched for presence, mode, owner and size only. Does
 * not watch the data directory (it changes by design; the audit trail guards it), does not alert
 * by itself (the caller's `onChanges` does), and does not replace host-level FIM (AIDE).
 */
export { createFim, fimKeyPurpose, type BaselineMade, type CheckResult, type Fim, type FimDeps } from './fim.js';
export { scheduleFimChecks, type FimScheduleOptions } from './schedule.js';
export { watchedTargets, installDirOfThisCode, codeDirOf, type Target, type WatchedSettings } from './watched.js';
export { compareEntries, type Change } from './compare.js';
export { scanTargets, type Entry } from './scan.js';
export { FimError, type FimErrorCode } from './errors.js';
export { fimSettings } from './settings.js';
export { startServerFimChecks, type ServerFimChecksDeps, type FimLog, type FimReport } from './server-checks.js';
