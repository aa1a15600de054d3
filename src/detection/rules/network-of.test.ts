import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { networkOf } from './network-of.js';

describe('networkOf', () => {
  it('zeroes the host bits of IPv4, IPv4-mapped and IPv6 addresses', () => {
    assert.equal(networkOf('203.0.113.77', 24, 64), '203.0.113.0/24');
    assert.equal(networkOf('203.0.113.77', 32, 64), '203.0.113.77/32');
    assert.equal(networkOf('::ffff:203.0.113.77', 32, 64), '203.0.113.77/32');
    assert.equal(networkOf('2001:db8:1:2:aaaa:bbbb:cccc:dddd', 32, 64), '2001:db8:1:2:0:0:0:0/64');
    assert.equal(networkOf('2001:db8::1', 32, 48), '2001:db8:0:0:0:0:0:0/48');
    assert.equal(networkOf('2001:db8:ffff::1', 32, 40), '2001:db8:ff00:0:0:0:0:0/40');
  });

  it('leaves what is no address as it is', () => {
    assert.equal(networkOf('local', 24, 64), 'local');
  });
});
