/**
 * The V8 CPU profiler of this process (the one `node --cpu-prof` starts), switched on and off
 * around one scenario at a time, so each profile holds one workload and not the seeding or the
 * other scenarios. Profiles go to .cpuprofile files that Chrome DevTools opens;
 * bench/profile-summary.ts prints their top self-time entries.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';

export interface CpuProfiler {
  start(): Promise<void>;
  stop(file: string): Promise<void>;
}

export function cpuProfiler(): CpuProfiler {
  let session: Session | undefined;
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => {
      (session as Session).post(method, params ?? {}, (error, result) => (error === null ? resolve(result) : reject(error)));
    });
  return {
    async start() {
      session = new Session();
      session.connect();
      await post('Profiler.enable');
      // 1 ms sampling, as node --cpu-prof's default.
      await post('Profiler.setSamplingInterval', { interval: 1000 });
      await post('Profiler.start');
    },
    async stop(file) {
      if (session === undefined) return;
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      writeFileSync(file, JSON.stringify(profile));
      session.disconnect();
      session = undefined;
    },
  };
}
