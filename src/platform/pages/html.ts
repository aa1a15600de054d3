/**
 * HTML escaped by construction: `html` is a tagged template whose interpolations are escaped
 * unless they are already `Html` (another template's result, or `raw()` for our own constant
 * markup). Arrays are joined; `undefined`, `null` and `false` render nothing — so a page
 * function cannot forget to escape a value (OWASP ASVS 5 V1.2.1, output encoding for HTML).
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Markup we wrote ourselves, never anything a person or a record supplied. */
export const raw = (text: string): Html => new Html(text);

export type HtmlValue = Html | string | number | bigint | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof Html) return value.text;
  if (value === undefined || value === null || value === false) return '';
  if (Array.isArray(value)) return value.map((v) => render(v as HtmlValue)).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: readonly HtmlValue[]): Html {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new Html(out);
}
