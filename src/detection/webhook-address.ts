import { BlockList, isIP } from 'node:net';

// Addresses a webhook must never reach in production (OWASP ASVS 5 V1.3.6, SSRF): the host's
// own loopback, private networks (RFC 1918, RFC 4193), link-local (cloud metadata services
// at 169.254.169.254), carrier-grade NAT (RFC 6598), the unspecified, documentation,
// benchmarking, multicast and reserved ranges (IANA special-purpose registries, RFC 6890).
const refused = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) refused.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 23],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) refused.addSubnet(net, prefix, 'ipv6');

/** Whether a resolved address is public (routable on the internet); anything unparsable is not. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !refused.check(address, 'ipv4');
  if (family !== 6) return false;
  // IPv4-mapped and -compatible IPv6 (::ffff:10.0.0.1) reach the IPv4 address inside.
  const mapped = /^(?:0{0,4}:){0,5}(?:ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(address) ?? /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (mapped !== null) {
    const v4 = mapped.length === 2 ? (mapped[1] as string) : hexPairToV4(mapped[1] as string, mapped[2] as string);
    return isIP(v4) === 4 && !refused.check(v4, 'ipv4');
  }
  return !refused.check(address, 'ipv6');
}

function hexPairToV4(high: string, low: string): string {
  const h = parseInt(high, 16);
  const l = parseInt(low, 16);
  return `${h >> 8}.${h & 255}.${l >> 8}.${l & 255}`;
}

export type UrlProblem = 'url-invalid' | 'https-required' | 'address-refused';

/**
 * Checks an endpoint URL when it is registered: absolute http(s), no credentials in it, HTTPS
 * in production; in production an IP literal must be public. A host name is resolved and
 * checked at every delivery, not here: its DNS answer can change after registration (DNS
 * rebinding), so the check that counts is the one on the address actually connected to.
 */
export function checkWebhookUrl(raw: string, production: boolean): { url: URL } | { problem: UrlProblem } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { problem: 'url-invalid' };
  }
  if (raw.length > 2000 || (url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '' || url.hash !== '') return { problem: 'url-invalid' };
  if (!production) return { url };
  if (url.protocol !== 'https:') return { problem: 'https-required' };
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && !isPublicAddress(host)) return { problem: 'address-refused' };
  if (host === 'localhost' || host.endsWith('.localhost')) return { problem: 'address-refused' };
  return { url };
}
