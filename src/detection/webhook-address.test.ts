import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkWebhookUrl, isPublicAddress } from './webhook-address.js';

describe('webhook addresses (SSRF)', () => {
  it('refuses loopback, private, link-local, metadata, mapped and reserved addresses', () => {
    for (const address of ['127.0.0.1', '10.1.2.3', '172.20.0.1', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::ffff:10.0.0.1', '224.0.0.1', 'not-an-address']) {
      assert.equal(isPublicAddress(address), false, address);
    }
  });

  it('allows public addresses', () => {
    for (const address of ['93.184.216.34', '1.1.1.1', '2606:4700:4700::1111', '::ffff:1.1.1.1']) assert.equal(isPublicAddress(address), true, address);
  });

  it('asks for HTTPS and a public host in production, allows plain loopback HTTP in development', () => {
    assert.deepEqual(checkWebhookUrl('http://hooks.example.org/a', true), { problem: 'https-required' });
    assert.deepEqual(checkWebhookUrl('https://127.0.0.1/a', true), { problem: 'address-refused' });
    assert.deepEqual(checkWebhookUrl('https://[::1]/a', true), { problem: 'address-refused' });
    assert.deepEqual(checkWebhookUrl('https://localhost/a', true), { problem: 'address-refused' });
    assert.deepEqual(checkWebhookUrl('https://user:pw@hooks.example.org/a', true), { problem: 'url-invalid' });
    assert.deepEqual(checkWebhookUrl('ftp://hooks.example.org/a', false), { problem: 'url-invalid' });
    assert.ok('url' in checkWebhookUrl('https://hooks.example.org/a', true));
    assert.ok('url' in checkWebhookUrl('http://127.0.0.1:8080/a', false));
  });
});
