import { isIP } from 'node:net';

/** One address or a CIDR block (RFC 4632 for IPv4, RFC 4291 §2.3 for IPv6), as a bit prefix. */
export interface AddressRange {
  readonly family: 4 | 6;
  readonly bits: bigint;
  readonly prefix: number;
}

function bitsOf(address: string, family: 4 | 6): bigint {
  if (family === 4) return address.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
  // Expand `::` and an embedded IPv4 tail (::ffff:192.0.2.1) into eight 16-bit groups.
  let text = address.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4 !== null) {
    const n = bitsOf(v4[1] as string, 4);
    text = `${text.slice(0, -(v4[1] as string).length)}${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return groups.reduce((acc, group) => (acc << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/** Parses `203.0.113.7`, `203.0.113.0/24`, `2001:db8::/32`; undefined when it is neither. */
export function parseAddressRange(text: string): AddressRange | undefined {
  const [address = '', prefixText, extra] = text.trim().split('/');
  if (extra !== undefined) return undefined;
  const kind = isIP(address);
  if (kind !== 4 && kind !== 6) return undefined;
  const width = kind === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? width : Number(prefixText);
  if (prefix > width) return undefined;
  const shift = BigInt(width - prefix);
  return { family: kind, bits: (bitsOf(address, kind) >> shift) << shift, prefix };
}

/**
 * Whether `address` (as the audit trail stores `sourceIp`) lies in one of the ranges. An IPv4
 * address the server saw as IPv4-mapped IPv6 (`::ffff:203.0.113.7`, a dual-stack socket) is
 * matched as the IPv4 address it is. Anything that is no address (`local`, `unknown`) matches nothing.
 */
export function addressMatcher(ranges: readonly AddressRange[]): (address: string) => boolean {
  return (address) => {
    let text = address;
    if (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(text)) text = text.slice(7);
    const kind = isIP(text);
    if (kind !== 4 && kind !== 6) return false;
    const bits = bitsOf(text, kind);
    const width = kind === 4 ? 32 : 128;
    return ranges.some((r) => r.family === kind && (bits >> BigInt(width - r.prefix)) === (r.bits >> BigInt(width - r.prefix)));
  };
}
