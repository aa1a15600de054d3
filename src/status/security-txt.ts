/**
 * RFC 9116 `/.well-known/security.txt`: how to report a vulnerability. `Contact` is required
 * (§2.5.3) and `Expires` too (§2.5.5, recommended less than a year ahead); without a contact
 * there is no file at all — a file that names nobody is worse than none.
 */
export interface SecurityTxtSettings {
  /** `mailto:` or `https:` URIs, one or more. */
  readonly contact: readonly string[];
  readonly policy?: string | undefined;
  readonly preferredLanguages: string;
  readonly expiresDays: number;
  readonly encryption?: string | undefined;
  readonly acknowledgments?: string | undefined;
}

/** The file's text for `now`, or undefined when no contact is configured. */
export function securityTxt(settings: SecurityTxtSettings, canonical: string | undefined, now: number): string | undefined {
  if (settings.contact.length === 0) return undefined;
  // Whole seconds, as RFC 3339 (§2.5.5's format) readers most commonly accept.
  const expires = new Date(Math.floor((now + settings.expiresDays * 86_400_000) / 1000) * 1000).toISOString().replace('.000Z', 'Z');
  const lines = [
    ...settings.contact.map((c) => `Contact: ${c}`),
    `Expires: ${expires}`,
    ...(settings.encryption === undefined ? [] : [`Encryption: ${settings.encryption}`]),
    ...(settings.acknowledgments === undefined ? [] : [`Acknowledgments: ${settings.acknowledgments}`]),
    `Preferred-Languages: ${settings.preferredLanguages}`,
    ...(canonical === undefined ? [] : [`Canonical: ${canonical}`]),
    ...(settings.policy === undefined ? [] : [`Policy: ${settings.policy}`]),
  ];
  return `${lines.join('\n')}\n`;
}
