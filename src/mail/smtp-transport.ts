import { readFileSync } from 'node:fs';
import type { Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';

/**
 * `starttls`: plain connection upgraded by STARTTLS, which is *required* — a relay that does not
 * offer it (or an attacker stripping it) fails the send instead of sending in clear (RFC 3207 §4,
 * and RFC 8314 §3.3 on refusing to fall back). `tls`: TLS from the first byte ("implicit TLS",
 * RFC 8314 §3.3, port 465). `none`: no TLS at all, for a development relay on loopback only;
 * production refuses it (config.ts).
 */
export type SmtpSecurity = 'starttls' | 'tls' | 'none';

export interface SmtpSettings {
  readonly host: string;
  /** Default 587 (starttls, RFC 6409), 465 (tls, RFC 8314), 25 (none). */
  readonly port?: number | undefined;
  readonly security: SmtpSecurity;
  readonly user?: string | undefined;
  readonly password?: string | undefined;
  /** The sender, `Name <address>` or an address. */
  readonly from: string;
  /** CA certificate(s) (PEM) that signed a private relay's certificate; default the system's trust store. */
  readonly caFile?: string | undefined;
  readonly connectionTimeoutMs: number;
  readonly greetingTimeoutMs: number;
  readonly socketTimeoutMs: number;
}

export interface OutgoingMail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html?: string | undefined;
}

export interface MailTransport {
  /** Resolves once the relay accepted the message for delivery; throws (with a `code`, never the recipient in what we log) if it did not. */
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

const defaultPorts: Readonly<Record<SmtpSecurity, number>> = { starttls: 587, tls: 465, none: 25 };

export async function createSmtpTransport(settings: SmtpSettings): Promise<MailTransport> {
  const { createTransport } = await import('nodemailer');
  const ca = settings.caFile === undefined ? undefined : readFileSync(settings.caFile, 'utf8');
  const options: SMTPTransport.Options = {
    host: settings.host,
    port: settings.port ?? defaultPorts[settings.security],
    secure: settings.security === 'tls',
    requireTLS: settings.security === 'starttls',
    // `none` means none: no opportunistic STARTTLS either, so what a development relay sees is predictable.
    ignoreTLS: settings.security === 'none',
    // The relay's certificate is verified against the system's CAs or the given one; TLS ≥ 1.2
    // (RFC 8996 retires 1.0 and 1.1; RFC 8314 §4.1).
    tls: { rejectUnauthorized: true, minVersion: 'TLSv1.2', ...(ca === undefined ? {} : { ca }) },
    ...(settings.user === undefined ? {} : { auth: { user: settings.user, pass: settings.password ?? '' } }),
    connectionTimeout: settings.connectionTimeoutMs,
    greetingTimeout: settings.greetingTimeoutMs,
    socketTimeout: settings.socketTimeoutMs,
    // nodemailer's own logger would print envelopes (the recipient's address): off.
    logger: false,
    debug: false,
  };
  const transporter: Transporter<SMTPTransport.SentMessageInfo> = createTransport(options);
  return {
    async send(mail) {
      await transporter.sendMail({ from: settings.from, to: mail.to, subject: mail.subject, text: mail.text, ...(mail.html === undefined ? {} : { html: mail.html }) });
    },
    close() {
      transporter.close();
    },
  };
}
