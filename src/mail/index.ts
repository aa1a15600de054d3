/**
 * @module mail
 * Sends an email through an SMTP relay (nodemailer). It knows nothing of accounts, tokens or
 * tenants: identity's mail notifier decides what to send, keeps each message sealed in the
 * outbox until the relay took it, and retries. This module only speaks SMTP, with TLS required
 * where the settings say so.
 */
export { createSmtpTransport, type MailTransport, type OutgoingMail, type SmtpSettings, type SmtpSecurity } from './smtp-transport.js';
