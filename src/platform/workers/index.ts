/**
 * @module workers
 * Several server processes over one data directory (`server.processes`): the primary that starts,
 * replaces and stops them and answers their /metrics questions, and what a worker learns of its
 * place (which one runs the scheduled jobs). It knows nothing of the app: a worker runs the normal
 * server, built by `buildApp`.
 */
export { restartDefaults, restartDelay, type RestartPolicy } from './restart-policy.js';
export { superviseWorkers, supervisionDefaults, type Supervision, type SupervisionOptions } from './supervise.js';
export { workerEnvironment, workerRoleFrom, type WorkerRole } from './worker-role.js';
