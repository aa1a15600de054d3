import { OAuthError } from './errors.js';

const bad = (message: string) => new OAuthError('client-invalid', message, { status: 400 });

/** Loopback IP literals (RFC 8252 §7.3); the name `localhost` is not one of them (§8.3). */
const loopbackLiteral = /^(127\.\d+\.\d+\.\d+|\[::1\])$/;
/** A DNS name or an IP literal, nothing else: no `*`, no pattern of any kind. */
const exactHost = /^([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$|^\[[0-9a-f:.]+\]$/;

/**
 * One redirect URI as an app registers it. RFC 9700 §4.1.3 asks for exact, credential-free
 * URIs compared as strings; RFC 6749 §3.1.2 for no fragment. So: no userinfo (a password in
 * the register, and `https://app.example@evil.example/` reads like the app's), no wildcard host
 * (Tresor compares exactly, so `*` would only ever be a misunderstanding), https — or plain
 * http on a loopback IP literal for native apps (RFC 8252 §7.3; never `localhost`, which DNS or
 * a hosts file may point elsewhere, §8.3), and for a confidential (server-side) app only in
 * development, where the server runs on the developer's machine — or a reverse-domain
 * private-use scheme for native apps (RFC 8252 §7.1).
 */
export function checkRedirectUri(uri: unknown, kind: 'confidential' | 'public', { development }: { readonly development: boolean }): string {
  if (typeof uri !== 'string' || uri.length > 2000) throw bad('Each redirect URI is an absolute URI of at most 2000 characters.');
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw bad(`Redirect URI ${JSON.stringify(uri)} is not an absolute URI.`);
  }
  if (url.hash !== '' || uri.includes('#')) throw bad('A redirect URI has no fragment (RFC 6749 §3.1.2).');
  if (url.username !== '' || url.password !== '' || /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*@/i.test(uri)) {
    throw bad(`Redirect URI ${JSON.stringify(uri)}: no user name or password in a redirect URI (RFC 9700 §4.1.3: exact, credential-free URIs).`);
  }
  const scheme = url.protocol.slice(0, -1);
  if (scheme === 'https' || scheme === 'http') {
    if (!exactHost.test(url.hostname)) throw bad(`Redirect URI ${JSON.stringify(uri)}: the host is a name or an address, never a pattern such as "*" (RFC 9700 §4.1.3: redirect URIs are matched exactly).`);
    if (scheme === 'https') return uri;
    if (url.hostname === 'localhost') throw bad(`Redirect URI ${JSON.stringify(uri)}: use the loopback address http://127.0.0.1 or http://[::1], not "localhost" (RFC 8252 §8.3).`);
    if (loopbackLiteral.test(url.hostname)) {
      if (kind === 'public' || development) return uri;
      throw bad(`Redirect URI ${JSON.stringify(uri)}: a confidential (server-side) app redirects over https; plain http on a loopback address is for native apps (RFC 8252 §7.3), and for confidential apps in development mode only.`);
    }
  }
  // Native apps: a private-use scheme in reverse-domain form (RFC 8252 §7.1).
  if (kind === 'public' && /^[a-z][a-z0-9+.-]*\.[a-z0-9+.-]+$/.test(scheme)) return uri;
  throw bad(`Redirect URI ${JSON.stringify(uri)}: use https, http on a loopback address (127.0.0.1 or [::1]) for native apps, or (native apps) a reverse-domain private-use scheme.`);
}
