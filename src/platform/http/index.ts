/**
 * @module platform/http
 * HTTP infrastructure with no domain knowledge: TLS material and policy, the answer to plain HTTP
 * on the TLS port, security headers, RFC 9457 problem details, Prometheus metrics and the access log.
 */
export { loadOrCreateCertificate, tlsServerOptions, type TlsMaterial } from './tls.js';
export { answerPlainHttp } from './plain-http-answer.js';
export { hstsHeader, publicDocumentCacheControl, registerSecurityHeaders } from './security-headers.js';
export { fromFrameworkError, sendProblem, toProblem, HttpError, type HttpErrorCode, type Problem } from './problem.js';
export { registerHttpMetrics, type Metrics } from './metrics.js';
export { createReadiness, type ReadinessReport } from './readiness.js';
export { registerRequestLog } from './request-log.js';
export { watchConnections, type ConnectionLimits } from './connections.js';
