import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';

/**
 * Which addresses a download may connect to. By default only public unicast ones: a request's `vision_path`
 * must not make the server fetch from itself, its network or a cloud metadata endpoint (SSRF). The check runs
 * at connect time, on every address DNS gives for the host (so a name that resolves to a private address, or
 * starts to between two lookups, is refused), and on IP literals before any request.
 */

const NON_PUBLIC = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NON_PUBLIC.addSubnet(net, bits, 'ipv4');
// ::/96 (with :: and ::1), ::ffff:0:0/96, 64:ff9b::/96 and 2002::/16 are judged by the IPv4 they carry (below)
for (const [net, bits] of [
  ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32], ['fc00::', 7],
  ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) NON_PUBLIC.addSubnet(net, bits, 'ipv6');

/** An IPv6 address as 8 hextets (zone index dropped), or undefined when it does not parse. */
function hextets(address: string): number[] | undefined {
  let a = address.toLowerCase().replace(/%.*$/, '');
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (v4) {
    if (isIP(v4[1]) !== 4) return undefined;
    const [b0, b1, b2, b3] = v4[1].split('.').map(Number);
    a = `${a.slice(0, -v4[1].length)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const halves = a.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => (/^[0-9a-f]{1,4}$/.test(h) ? parseInt(h, 16) : NaN)));
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (fill < 0) return undefined;
  const all = [...head, ...new Array<number>(fill).fill(0), ...tail];
  return all.length === 8 && all.every((h) => Number.isInteger(h)) ? all : undefined;
}

const v4Of = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

/**
 * The IPv4 address an IPv6 address carries, where routing may hand it to IPv4: IPv4-mapped (::ffff:0:0/96),
 * SIIT (::ffff:0:0:0/96), IPv4-compatible (::/96, with :: and ::1), NAT64 (64:ff9b::/96), 6to4 (2002::/16).
 */
function embeddedIpv4(h: readonly number[]): string | undefined {
  const zeros = (n: number) => h.slice(0, n).every((x) => x === 0);
  if (zeros(5) && h[5] === 0xffff) return v4Of(h[6], h[7]);
  if (zeros(4) && h[4] === 0xffff && h[5] === 0) return v4Of(h[6], h[7]);
  if (zeros(6)) return v4Of(h[6], h[7]);
  if (h[0] === 0x64 && h[1] === 0xff9b && h.slice(2, 6).every((x) => x === 0)) return v4Of(h[6], h[7]);
  if (h[0] === 0x2002) return v4Of(h[1], h[2]);
  return undefined;
}

/** True for a public unicast IP address (v4 or v6); false for loopback, private, link-local, reserved, … */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !NON_PUBLIC.check(address, 'ipv4');
  if (family !== 6) return false;
  const h = hextets(address);
  if (!h) return false;
  const v4 = embeddedIpv4(h);
  if (v4 !== undefined) return isPublicAddress(v4);
  return !NON_PUBLIC.check(h.map((x) => x.toString(16)).join(':'), 'ipv6');
}

/** Thrown (as a connect error's cause) when a host resolves to a non-public address. */
export class PrivateAddressError extends Error {
  override name = 'PrivateAddressError';
  readonly code = 'EPRIVATEADDRESS';
  constructor(readonly host: string, readonly address: string) {
    super(`${host} resolves to ${address}, which is not a public address`);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
type Resolve = (host: string, options: LookupOptions & { all: true }, cb: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

/** A `net.connect` lookup that fails unless every address of the host is public. */
export function publicOnlyLookup(resolve: Resolve = dnsLookup as unknown as Resolve) {
  return (host: string, options: LookupOptions, cb: LookupCallback): void => {
    resolve(host, { ...options, all: true }, (err, addresses) => {
      if (err) return cb(err, []);
      const bad = addresses.find((a) => !isPublicAddress(a.address));
      if (bad) return cb(new PrivateAddressError(host, bad.address) as unknown as NodeJS.ErrnoException, []);
      if (options.all) return cb(null, addresses);
      cb(null, addresses[0].address, addresses[0].family);
    });
  };
}

let publicAgent: Agent | undefined;

/** fetch whose connections only reach public addresses (one shared connection pool). */
export const publicFetch: typeof globalThis.fetch = (input, init) => {
  publicAgent ??= new Agent({ connect: { lookup: publicOnlyLookup() } });
  return undiciFetch(input as Parameters<typeof undiciFetch>[0], { ...(init as object), dispatcher: publicAgent }) as unknown as Promise<Response>;
};
