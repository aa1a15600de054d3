/**
 * @module ha
 * High availability on PostgreSQL (issue 8): the loopback cluster of etcd, Patroni-managed
 * PostgreSQL (primary, synchronous standby, DR standby), HAProxy and Tresor nodes; the failover
 * drill that proves RPO 0 and measures RTO on it.
 */
export { startCluster, stopCluster, clusterStatus, readCluster, currentPrimary, healthy, patroniCluster, tresorEnvironment, tresorEndpoint, tresorDatabaseUrl, nodeSuperuserUrl, missingPrograms, type ClusterState, type ClusterSecrets, type ClusterStatus, type PostgresNode, type TresorNode } from './cluster.js';
export { runFailoverDrill, failoverMarkdown, type FailoverReport } from './failover-drill.js';
