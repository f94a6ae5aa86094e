/**
 * Which addresses a server named by an alert may be reached at (issue #21). An alert's
 * generatorURL comes from whoever can post alerts: a name on the allowed list can still
 * resolve to this machine, a cloud metadata service or the private network, so the
 * addresses the name resolves to are checked, and the connection goes to those very
 * addresses (a second lookup could answer differently: DNS rebinding).
 */
import type { LookupAddress } from 'node:dns';
import { lookup as dnsLookup } from 'node:dns/promises';
import net from 'node:net';

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Every address a name resolves to (a literal address resolves to itself). */
export type Resolve = (hostname: string) => Promise<ResolvedAddress[]>;

export const resolveWithSystem: Resolve = async (hostname) => {
  const found = await dnsLookup(hostname, { all: true, verbatim: true });
  return found.map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }));
};

/**
 * Addresses no server an alert names may have unless the configuration allows them: what
 * reaches this machine, its link, the private networks behind it, and what is no single
 * host. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are checked as the IPv4 address they carry.
 */
const SPECIAL_RANGES: { range: string; what: string }[] = [
  { range: '0.0.0.0/8', what: 'an unspecified address' },
  { range: '127.0.0.0/8', what: 'a loopback address' },
  { range: '169.254.0.0/16', what: 'a link-local address (where cloud metadata services answer)' },
  { range: '10.0.0.0/8', what: 'a private address' },
  { range: '172.16.0.0/12', what: 'a private address' },
  { range: '192.168.0.0/16', what: 'a private address' },
  // Carrier-grade NAT space; Alibaba Cloud's metadata service answers at 100.100.100.200.
  { range: '100.64.0.0/10', what: 'a shared (carrier-grade NAT) address' },
  { range: '192.0.0.0/24', what: 'a protocol-assignment address' },
  { range: '198.18.0.0/15', what: 'a benchmarking address' },
  { range: '224.0.0.0/4', what: 'a multicast address' },
  { range: '240.0.0.0/4', what: 'a reserved address' },
  { range: '::/128', what: 'an unspecified address' },
  { range: '::1/128', what: 'a loopback address' },
  // Deprecated IPv4-compatible addresses (::a.b.c.d), which some stacks still route as IPv4.
  { range: '::/96', what: 'an IPv4-compatible address' },
  { range: 'fe80::/10', what: 'a link-local address' },
  // Unique local addresses; AWS's IPv6 metadata service answers at fd00:ec2::254.
  { range: 'fc00::/7', what: 'a private (unique local) address' },
  { range: 'ff00::/8', what: 'a multicast address' },
  // NAT64 hands the IPv4 address inside to a translator, which may reach a private one.
  { range: '64:ff9b::/96', what: 'a NAT64 address' },
  { range: '64:ff9b:1::/48', what: 'a NAT64 address' },
];

function blockListOf(ranges: readonly string[]): net.BlockList {
  const list = new net.BlockList();
  for (const range of ranges) {
    const [address = '', prefix] = range.split('/');
    const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
    if (prefix === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(prefix), family);
  }
  return list;
}

const special = SPECIAL_RANGES.map(({ range, what }) => ({ list: blockListOf([range]), what }));

/** What makes an address one an alert may not send Baton to; undefined for a public address. */
export function specialPurpose(address: string): string | undefined {
  const family = net.isIPv6(address) ? 'ipv6' : 'ipv4';
  return special.find(({ list }) => list.check(address, family))?.what;
}

/** How requests to a server an alert named are held to the allowed addresses. */
export interface AddressGuard {
  /** Special addresses the configuration allows after all (CIDR ranges or single addresses). */
  allowedNetworks: readonly string[];
  /** The setting that allows them, for the refusal's words ("diagnostics.prometheus.allowedNetworks"). */
  setting: string;
  /** How names are resolved; the system's resolver unless a test brings its own. */
  resolve?: Resolve;
}

/**
 * The first address that is special and not in `allowedNetworks` (CIDR ranges or single
 * addresses); undefined when every address may be queried. One such address refuses the
 * server: a name that answers a public and a private address is one a rebinding attack uses.
 */
export function refusedAddress(
  addresses: readonly ResolvedAddress[],
  allowedNetworks: readonly string[],
): { address: string; what: string } | undefined {
  const allowed = blockListOf(allowedNetworks);
  for (const { address, family } of addresses) {
    const what = specialPurpose(address);
    if (what && !allowed.check(address, family === 6 ? 'ipv6' : 'ipv4')) return { address, what };
  }
  return undefined;
}

type LookupCallback = (
  err: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

/**
 * A `lookup` for http.request that answers the addresses already checked, whatever name it
 * is asked about: the connection goes where the check looked, and nowhere else.
 */
export function pinnedLookup(addresses: ResolvedAddress[]) {
  return (_hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    const [first] = addresses;
    if (options.all) callback(null, addresses);
    else if (first) callback(null, first.address, first.family);
    else callback(Object.assign(new Error('no checked address'), { code: 'ENOTFOUND' }), '', 4);
  };
}
