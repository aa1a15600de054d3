const safeIdentifier = /^[a-z_][a-z0-9_-]{0,62}$/;

/**
 * Quotes an SQL identifier that the service itself chose (table and schema names). Anything
 * outside a conservative pattern is a programmer error, so it throws instead of escaping:
 * identifiers never come from requests.
 */
export function quoteIdent(name: string): string {
  if (!safeIdentifier.test(name)) throw new TypeError(`unsafe SQL identifier: ${JSON.stringify(name)}`);
  return `"${name}"`;
}
