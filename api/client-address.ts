import net from 'node:net';

/** The eight 16-bit groups of an IPv6 address, an embedded IPv4 tail included. */
function ipv6Groups(address: string): number[] {
  let text = address;
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const parse = (part: string): number[] => (part ? part.split(':').map((g) => parseInt(g, 16)) : []);
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * The key under which a caller's failures and connections are counted: an IPv4 address as it
 * is, an IPv6 address by its /64. A host or a home network is given at least a /64 and may
 * use any address in it, so counting IPv6 addresses one by one would give it 2^64 allowances.
 * An IPv4 address in IPv6 form (::ffff:a.b.c.d, as a dual-stack socket reports it) is its IPv4
 * address.
 */
export function addressGroup(address: string): string {
  const plain = address.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(plain);
  if (mapped?.[1]) return mapped[1];
  if (!net.isIPv6(plain)) return plain;
  const prefix = ipv6Groups(plain)
    .slice(0, 4)
    .map((g) => g.toString(16))
    .join(':');
  return `${prefix}::/64`;
}
