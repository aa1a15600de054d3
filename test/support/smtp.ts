import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A real SMTP relay for the mail tests: Debian's aiosmtpd (python3-aiosmtpd), on loopback, run
 * with Debian's python (/usr/bin/python3, not whatever python3 is first on PATH). Its handler
 * writes each message it accepts to a directory as JSON — envelope, whether the session was under
 * TLS, and the parsed text and HTML parts (Python's own email parser) — which the test reads back.
 *
 * Without aiosmtpd the mail tests are skipped, unless TRESOR_REQUIRE_SMTP=1 (set by CI), where
 * `startSmtpRelay` fails instead: CI cannot pass without having run them.
 */
export const python = '/usr/bin/python3';
const requireSmtp = process.env['TRESOR_REQUIRE_SMTP'] === '1';

function haveAiosmtpd(): boolean {
  return existsSync(python) && spawnSync(python, ['-c', 'import aiosmtpd'], { stdio: 'ignore' }).status === 0;
}

/** `false` when the mail tests can run; otherwise why they are skipped. */
export function smtpSkipReason(): string | false {
  if (requireSmtp || haveAiosmtpd()) return false;
  return `aiosmtpd is missing for ${python} (apt-get install python3-aiosmtpd); TRESOR_REQUIRE_SMTP=1 makes this a failure`;
}

const handler = `
import json, os, email, email.policy

class Spool:
    """Accepts every message (or refuses every recipient with 'refuse') and writes it to a directory as JSON."""
    def __init__(self, directory, mode='accept'):
        self.directory = directory
        self.mode = mode
        self.count = 0

    @classmethod
    def from_cli(cls, parser, *args):
        return cls(*args)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.mode == 'refuse':
            return '550 5.7.1 relaying denied'
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        text = message.get_body(('plain',))
        html = message.get_body(('html',))
        self.count += 1
        record = {
            # STARTTLS sets session.ssl; SMTPS (implicit TLS) shows on the transport.
            'tls': session.ssl is not None or server.transport.get_extra_info('ssl_object') is not None,
            'mailFrom': envelope.mail_from,
            'rcptTos': envelope.rcpt_tos,
            'from': str(message['from']),
            'to': str(message['to']),
            'subject': str(message['subject']),
            'text': text.get_content() if text is not None else None,
            'html': html.get_content() if html is not None else None,
        }
        path = os.path.join(self.directory, '%06d.json' % self.count)
        with open(path + '.tmp', 'w') as out:
            json.dump(record, out)
        os.rename(path + '.tmp', path)
        return '250 Message accepted for delivery'
`;

export interface ReceivedMail {
  readonly tls: boolean;
  readonly mailFrom: string;
  readonly rcptTos: string[];
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string | null;
}

export interface SmtpRelay {
  readonly port: number;
  /** Every message accepted so far, oldest first. */
  received(): ReceivedMail[];
  /** Waits (at most `timeoutMs`) until at least `count` messages arrived; all of them. */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedMail[]>;
  stop(): Promise<void>;
}

/** A self-signed certificate for 127.0.0.1 / localhost (openssl), and the directory holding it. */
export interface TestCertificate {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
}

export function makeCertificate(): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'tresor-smtp-cert-'));
  const certFile = join(dir, 'relay.pem');
  const keyFile = join(dir, 'relay.key');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-days', '2', '-keyout', keyFile, '-out', certFile], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`openssl req failed: ${made.stderr}`);
  return { dir, certFile, keyFile };
}

/** A loopback port nobody listens on (yet). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

/**
 * Starts aiosmtpd on 127.0.0.1:`port`. With `tls`, it offers STARTTLS with that certificate and
 * requires it before MAIL (aiosmtpd's default with --tlscert); without, it offers no TLS at all.
 * `implicitTls`: TLS from the first byte (SMTPS). `refuse`: every recipient is refused (550).
 */
export async function startSmtpRelay(options: { port?: number; tls?: TestCertificate; implicitTls?: TestCertificate; refuse?: boolean } = {}): Promise<SmtpRelay> {
  if (!haveAiosmtpd()) throw new Error(`TRESOR_REQUIRE_SMTP=1 but aiosmtpd is missing for ${python}: install Debian's python3-aiosmtpd package`);
  const port = options.port ?? (await freePort());
  const home = mkdtempSync(join(tmpdir(), 'tresor-smtp-'));
  const inbox = join(home, 'inbox');
  mkdirSync(inbox);
  writeFileSync(join(home, 'tresor_test_spool.py'), handler);
  const args = ['-m', 'aiosmtpd', '-n', '-l', `127.0.0.1:${port}`, ...(options.tls === undefined ? [] : ['--tlscert', options.tls.certFile, '--tlskey', options.tls.keyFile]),
    ...(options.implicitTls === undefined ? [] : ['--smtpscert', options.implicitTls.certFile, '--smtpskey', options.implicitTls.keyFile]), '-c', 'tresor_test_spool.Spool', inbox, options.refuse === true ? 'refuse' : 'accept'];
  const child: ChildProcess = spawn(python, args, { env: { PATH: '/usr/bin:/bin', PYTHONPATH: home }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; !(await listening(port)); i++) {
    if (child.exitCode !== null || i > 100) {
      child.kill();
      throw new Error(`aiosmtpd did not start on port ${port}: ${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const received = () =>
    readdirSync(inbox)
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name) => JSON.parse(readFileSync(join(inbox, name), 'utf8')) as ReceivedMail);
  return {
    port,
    received,
    async waitFor(count, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      while (received().length < count) {
        if (Date.now() > until) throw new Error(`expected ${count} message(s) at the relay, got ${received().length}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return received();
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(home, { recursive: true, force: true });
    },
  };
}
