import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OAuthError } from './errors.js';
import { checkRedirectUri } from './redirect-uri.js';

const refused = (uri: string, kind: 'confidential' | 'public', development = false) =>
  assert.throws(() => checkRedirectUri(uri, kind, { development }), (e) => e instanceof OAuthError && e.code === 'client-invalid' && e.status === 400, `${kind} ${uri}`);

describe('redirect URIs (RFC 9700 §4.1.3: exact, credential-free)', () => {
  it('refuses userinfo in any form', () => {
    for (const uri of ['https://user:pw@app.example/cb', 'https://user@app.example/cb', 'https://:pw@app.example/cb', 'http://user@127.0.0.1:8080/cb']) {
      refused(uri, 'confidential', true);
      refused(uri, 'public', true);
    }
  });

  it('refuses a wildcard host: there are no patterns, only exact URIs', () => {
    for (const uri of ['https://*/cb', 'https://*.app.example/cb', 'https://app.*.example/cb']) {
      refused(uri, 'confidential');
      refused(uri, 'public');
    }
  });

  it('refuses plain http to localhost for every app, and to any loopback address for a confidential app outside development', () => {
    refused('http://localhost/cb', 'confidential', true);
    refused('http://localhost:3000/cb', 'public', true);
    refused('http://LOCALHOST:3000/cb', 'public');
    refused('http://127.0.0.1:3000/cb', 'confidential');
    refused('http://[::1]:3000/cb', 'confidential');
  });

  it('accepts https, a native app’s loopback IP literal (RFC 8252 §7.3) and private-use scheme (§7.1), and a development loopback for confidential apps', () => {
    assert.equal(checkRedirectUri('https://app.example/cb', 'confidential', { development: false }), 'https://app.example/cb');
    assert.equal(checkRedirectUri('http://127.0.0.1:3000/cb', 'public', { development: false }), 'http://127.0.0.1:3000/cb');
    assert.equal(checkRedirectUri('http://[::1]/cb', 'public', { development: false }), 'http://[::1]/cb');
    assert.equal(checkRedirectUri('com.example.app:/cb', 'public', { development: false }), 'com.example.app:/cb');
    assert.equal(checkRedirectUri('http://127.0.0.1:9/callback', 'confidential', { development: true }), 'http://127.0.0.1:9/callback');
  });
});
