/**
 * A minimal browser for the OAuth pages over real HTTP: a path-aware cookie jar, redirects
 * followed by hand (so a test sees each hop), and forms read from the served HTML and posted
 * as a person would (hidden fields included). No script runs — nor does any on our pages.
 */
export interface Page {
  readonly url: string;
  readonly status: number;
  readonly html: string;
  readonly headers: Headers;
}

interface Cookie {
  value: string;
  path: string;
}

export class Browser {
  private readonly jar = new Map<string, Cookie>();

  /** `fetcher`: the Fetch API it sends with — the global one over a real socket, or one over `inject()`. */
  constructor(private readonly fetcher: typeof fetch = fetch) {}

  private cookieHeader(url: URL): string {
    return [...this.jar.entries()]
      .filter(([, c]) => url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`) || c.path === '/')
      .map(([key, c]) => `${key.split('|')[0]}=${c.value}`)
      .join('; ');
  }

  private remember(url: URL, headers: Headers): void {
    for (const line of headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';').map((p) => p.trim());
      const [name, ...rest] = (pair as string).split('=');
      const path = attributes.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? (url.pathname.replace(/\/[^/]*$/, '') || '/');
      const key = `${name}|${path}`;
      if (attributes.some((a) => /^expires=thu, 01 jan 1970/i.test(a)) || /^max-age=0$/i.test(attributes.find((a) => a.toLowerCase().startsWith('max-age=')) ?? '')) this.jar.delete(key);
      else this.jar.set(key, { value: rest.join('='), path });
    }
  }

  /** One request, no redirect followed. */
  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Page> {
    const target = new URL(url);
    const headers: Record<string, string> = {};
    const cookie = this.cookieHeader(target);
    if (cookie !== '') headers['cookie'] = cookie;
    let body: string | undefined;
    if (init.form !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const response = await this.fetcher(target, { method: init.method ?? (body === undefined ? 'GET' : 'POST'), headers, redirect: 'manual', ...(body === undefined ? {} : { body }) });
    this.remember(target, response.headers);
    return { url: target.href, status: response.status, html: await response.text(), headers: response.headers };
  }

  /**
   * Follows redirects until a page is shown or the next hop leaves for `stopAt` (the app's
   * redirect URI, which no server answers in these tests): returns that page, or the URL.
   */
  async follow(url: string, stopAt: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Page | { redirectedTo: string }> {
    let page = await this.request(url, init);
    for (let hops = 0; hops < 10; hops++) {
      const location = page.headers.get('location');
      if (page.status < 300 || page.status >= 400 || location === null) return page;
      const next = new URL(location, page.url).href;
      if (next.startsWith(stopAt)) return { redirectedTo: next };
      page = await this.request(next);
    }
    throw new Error('too many redirects');
  }

  /** Fills and submits the form whose action ends with `actionSuffix` (hidden fields kept), optionally pressing a named button. */
  async submit(page: Page, actionSuffix: string, fields: Record<string, string>, stopAt: string): Promise<Page | { redirectedTo: string }> {
    const forms = [...page.html.matchAll(/<form[^>]*action="([^"]*)"[^>]*>([\s\S]*?)<\/form>/g)];
    const form = forms.find((f) => decode(f[1] as string).endsWith(actionSuffix));
    if (form === undefined) throw new Error(`no form ending ${actionSuffix} on ${page.url}:\n${page.html}`);
    const values: Record<string, string> = {};
    for (const input of (form[2] as string).matchAll(/<input[^>]*type="hidden"[^>]*>/g)) {
      const name = /name="([^"]*)"/.exec(input[0])?.[1];
      const value = /value="([^"]*)"/.exec(input[0])?.[1] ?? '';
      if (name !== undefined) values[name] = decode(value);
    }
    return this.follow(new URL(decode(form[1] as string), page.url).href, stopAt, { form: { ...values, ...fields } });
  }
}

const decode = (text: string) => text.replace(/&#(\d+);/g, (_m, n: string) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');

export function isPage(value: Page | { redirectedTo: string }): value is Page {
  return 'html' in value;
}
