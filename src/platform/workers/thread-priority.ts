import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';

/**
 * The kernel's id of the calling thread (Linux: `/proc/thread-self` → `<pid>/task/<tid>`);
 * undefined elsewhere.
 */
export function currentThreadId(): number | undefined {
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    return Number.isSafeInteger(tid) && tid > 0 ? tid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Lowers the calling thread's scheduling priority to `niceness` (0–19) and returns its thread id,
 * or undefined where that cannot be done (not Linux, or refused) — the thread then runs at the
 * process's priority, which is correct, only less kind to the requests. On Linux the nice value
 * is a per-thread attribute (setpriority(2), NOTES: "under the current Linux/NPTL implementation
 * of POSIX threads, the nice value is a per-thread attribute"), so background work on a worker
 * thread yields the cores to the server thread when both want them, and runs at full speed
 * when the machine is idle. Raising priority back would need CAP_SYS_NICE: it is never asked for.
 */
export function lowerThreadPriority(niceness: number): number | undefined {
  if (!Number.isInteger(niceness) || niceness <= 0) return undefined;
  const tid = currentThreadId();
  if (tid === undefined) return undefined;
  try {
    setPriority(tid, Math.min(niceness, 19));
    return tid;
  } catch {
    return undefined;
  }
}

/** The nice value of thread `tid` of this process (field 19 of `/proc/self/task/<tid>/stat`), for tests and metrics. */
export function niceOfThread(tid: number, read: (path: string) => string): number | undefined {
  try {
    const stat = read(`/proc/self/task/${tid}/stat`);
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const nice = Number(fields[16]);
    return Number.isInteger(nice) ? nice : undefined;
  } catch {
    return undefined;
  }
}
