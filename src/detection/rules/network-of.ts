import { isIPv4, isIPv6 } from 'node:net';

/**
 * The network an address belongs to, as `<address>/<bits>` with the host bits zeroed: IPv6
 * devices change their interface identifier daily (RFC 8981 temporary addresses) within one
 * /64, so comparing whole IPv6 addresses would call every day a new place. IPv4-mapped IPv6
 * addresses count as IPv4. Anything else (a name, `local`) is returned unchanged.
 */
export function networkOf(address: string, ipv4Bits: number, ipv6Bits: number): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  const v4 = mapped ?? address;
  if (isIPv4(v4)) {
    const bits = clamp(ipv4Bits, 32);
    const value = v4.split('.').reduce((n, part) => n * 256 + Number(part), 0);
    const masked = bits === 0 ? 0 : Math.floor(value / 2 ** (32 - bits)) * 2 ** (32 - bits);
    return `${[24, 16, 8, 0].map((shift) => Math.floor(masked / 2 ** shift) % 256).join('.')}/${bits}`;
  }
  const plain = address.split('%')[0] as string;
  if (!isIPv6(plain)) return address;
  const bits = clamp(ipv6Bits, 128);
  const groups = expand(plain).map((group, i) => {
    const from = i * 16;
    if (bits >= from + 16) return group;
    if (bits <= from) return 0;
    const keep = bits - from;
    return group & ~((1 << (16 - keep)) - 1) & 0xffff;
  });
  return `${groups.map((g) => g.toString(16)).join(':')}/${bits}`;
}

const clamp = (bits: number, max: number) => Math.max(0, Math.min(max, Math.floor(bits)));

/** Eight 16-bit groups of an IPv6 address (`::` expanded; an embedded IPv4 tail converted). */
function expand(address: string): number[] {
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(address)?.[1];
  const [a = 0, b = 0, c = 0, d = 0] = tail === undefined ? [] : tail.split('.').map(Number);
  const text = tail === undefined ? address : `${address.slice(0, -tail.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  const [head = '', rest] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = rest === undefined || rest === '' ? [] : rest.split(':');
  const fill = rest === undefined ? [] : Array.from({ length: 8 - left.length - right.length }, () => '0');
  return [...left, ...fill, ...right].map((g) => Number.parseInt(g, 16));
}
