import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
export { freePort } from './oauth.js';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Debian's rsyslogd, when installed (.ci/run installs it). */
export const rsyslogd = ['/usr/sbin/rsyslogd', '/sbin/rsyslogd'].find((path) => existsSync(path));

/** The `skip` for a `describe` needing rsyslog: a reason when it is missing, unless CI or TRESOR_REQUIRE_RSYSLOG=1 make that a failure. */
export const rsyslogSkip: string | false =
  rsyslogd === undefined && process.env['CI'] === undefined && process.env['TRESOR_REQUIRE_RSYSLOG'] !== '1' ? 'rsyslogd is not installed (.ci/run installs it); TRESOR_REQUIRE_RSYSLOG=1 makes this a failure' : false;


export async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const accepting = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

export interface Rsyslog {
  /** Starts it (again), plain TCP or TLS, on the port; resolves once it listens. */
  start(tls?: { cert: string; key: string }): Promise<void>;
  stop(): Promise<void>;
  /** The raw messages it received, one a line. */
  lines(): string[];
}

/** A real rsyslog from the Debian package, on loopback, writing every raw message it receives to a file in `dir`. */
export function rsyslogOn(dir: string, port: number): Rsyslog {
  const received = join(dir, 'received.log');
  let child: ChildProcess | undefined;
  return {
    async start(tls) {
      writeFileSync(
        join(dir, 'rsyslog.conf'),
        [
          `global(workDirectory="${dir}"${tls === undefined ? '' : ` defaultNetstreamDriver="gtls" defaultNetstreamDriverCAFile="${tls.cert}" defaultNetstreamDriverCertFile="${tls.cert}" defaultNetstreamDriverKeyFile="${tls.key}"`})`,
          tls === undefined ? 'module(load="imtcp")' : 'module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")',
          `input(type="imtcp" address="127.0.0.1" port="${port}")`,
          'template(name="raw" type="string" string="%rawmsg%\\n")',
          `*.* action(type="omfile" file="${received}" template="raw")`,
          '',
        ].join('\n'),
      );
      if (rsyslogd === undefined) throw new Error('rsyslogd is not installed (apt-get install rsyslog rsyslog-gnutls), and CI or TRESOR_REQUIRE_RSYSLOG=1 says this test must run');
      const started = spawn(rsyslogd, ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslog.pid')], { stdio: ['ignore', 'ignore', 'pipe'] });
      child = started;
      let said = '';
      started.stderr?.on('data', (chunk: Buffer) => (said += chunk.toString()));
      // rsyslog's TLS driver takes seconds to start on a loaded machine (10 s ran out once in CI's
      // company); what it said is kept so that a real start failure reads as one.
      await until(() => started.exitCode === null && accepting(port), 30_000, 'rsyslog to listen').catch((error: unknown) => {
        throw new Error(`${String(error)}; rsyslogd ${started.exitCode === null ? 'still running' : `exited ${started.exitCode}`}: ${said.slice(-2000)}`);
      });
    },
    async stop() {
      const running = child;
      if (running === undefined || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      await exited;
    },
    lines: () => (existsSync(received) ? readFileSync(received, 'utf8').split('\n').filter(Boolean) : []),
  };
}
