import assert from 'node:assert/strict';
import { test } from 'node:test';
import { addressMatcher, parseAddressRange } from './address-range.js';

const matches = (range: string, address: string) => addressMatcher([parseAddressRange(range) as NonNullable<ReturnType<typeof parseAddressRange>>])(address);

test('an exact IPv4 address matches itself only', () => {
  assert.equal(matches('203.0.113.7', '203.0.113.7'), true);
  assert.equal(matches('203.0.113.7', '203.0.113.8'), false);
});

test('IPv4 CIDR blocks match their members and nothing next to them', () => {
  assert.equal(matches('203.0.113.0/24', '203.0.113.255'), true);
  assert.equal(matches('203.0.113.0/24', '203.0.114.0'), false);
  assert.equal(matches('10.0.0.0/8', '10.255.1.2'), true);
  assert.equal(matches('0.0.0.0/0', '192.0.2.1'), true);
  // Host bits in the given network are ignored, as routers do.
  assert.equal(matches('203.0.113.77/25', '203.0.113.1'), true);
});

test('IPv6 ranges, `::` shorthand and IPv4-mapped addresses', () => {
  assert.equal(matches('2001:db8::/32', '2001:db8:ffff::1'), true);
  assert.equal(matches('2001:db8::/32', '2001:db9::1'), false);
  assert.equal(matches('::1', '::1'), true);
  assert.equal(matches('203.0.113.0/24', '::ffff:203.0.113.9'), true);
  assert.equal(matches('2001:db8::/32', '203.0.113.9'), false);
});

test('what is not an address matches nothing and does not parse', () => {
  assert.equal(matches('0.0.0.0/0', 'local'), false);
  assert.equal(matches('0.0.0.0/0', 'unknown'), false);
  for (const bad of ['203.0.113.0/33', '2001:db8::/129', 'example.org', '203.0.113.0/24/1', '203.0.113.0/x', '']) assert.equal(parseAddressRange(bad), undefined, bad);
});
