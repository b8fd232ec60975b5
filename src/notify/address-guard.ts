/**
 * Outgoing notifications go to URLs that clients chose: without a guard, a client could make
 * Paycore POST to its own network (the database's host, a cloud metadata address, an admin port).
 * Unless private addresses are allowed (the sandbox default, where receivers run on localhost),
 * a try whose host is, or resolves to, a loopback, private, link-local, shared, multicast or
 * reserved address is refused before any connection is made. The name is resolved just before
 * the try, so a name that changes its answer later is checked again on the next try.
 */
import dns from 'node:dns/promises';
import net from 'node:net';

const blocked = new net.BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, cloud metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96], // NAT64 of IPv4 (checked again as IPv4 below)
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

/** True for an address no notification may go to. */
export function isPrivateAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true; // not an address at all: refuse
  const lower = address.toLowerCase();
  // IPv4-mapped (::ffff:a.b.c.d, or ::ffff:7f00:1 as URLs write it) and IPv4-compatible forms:
  // judge the IPv4 address inside.
  const mapped = /^::(?:ffff:)?(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return isPrivateAddress(mapped[1]!);
  const hexMapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hexMapped) {
    const high = parseInt(hexMapped[1]!, 16);
    const low = parseInt(hexMapped[2]!, 16);
    return isPrivateAddress(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`);
  }
  return blocked.check(address, 'ipv6');
}

/**
 * Why a try to `url` must not be made (undefined: it may). Resolves the host name; a name that
 * does not resolve is left to the try itself, which fails the ordinary way.
 */
export async function refusedDestination(url: string): Promise<string | undefined> {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return 'not a valid URL';
  }
  let addresses: string[];
  if (net.isIP(host)) addresses = [host];
  else {
    try {
      addresses = (await dns.lookup(host, { all: true, verbatim: true })).map((a) => a.address);
    } catch {
      return undefined;
    }
  }
  const bad = addresses.find(isPrivateAddress);
  return bad === undefined ? undefined : `refused: ${host} is a private or reserved address (${bad}); see PAYCORE_NOTIFY_PRIVATE_ADDRESSES`;
}
