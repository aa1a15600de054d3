import type { DrillApi } from './drill.js';

/** The part of Fastify's `inject` the drill uses. */
export interface Injector {
  inject(options: { method: 'GET' | 'POST'; url: string; remoteAddress: string; headers: Record<string, string>; payload?: string }): PromiseLike<{ statusCode: number; body: string }>;
}

/** The drill's API over a Fastify instance in this process: real requests through every guard, no socket. */
export function injectedDrillApi(http: Injector): DrillApi {
  return {
    async request({ method, url, key, body, remoteAddress }) {
      const response = await http.inject({
        method,
        url,
        remoteAddress,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/fhir+json' }) },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
      return { status: response.statusCode, body: response.body };
    },
  };
}
