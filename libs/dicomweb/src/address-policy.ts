// Which addresses a DICOMweb source may name. A manager's source makes the coordinator and the workers send requests
// to its URL, so without a rule a source can reach anything they can: the cloud metadata service (169.254.169.254,
// credentials), or the deployment's own Redis and PostgreSQL. Link-local and unspecified addresses are never a PACS
// and are always refused; a deployment that lists its PACS (DICOMWEB_ALLOWED_HOSTS) allows nothing else.
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** Never a PACS: link-local (cloud metadata services live there) and the unspecified address. */
const NEVER = new BlockList();
NEVER.addSubnet('169.254.0.0', 16, 'ipv4');
NEVER.addSubnet('fe80::', 10, 'ipv6');
NEVER.addAddress('0.0.0.0', 'ipv4');
NEVER.addAddress('::', 'ipv6');

export class AddressNotAllowedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddressNotAllowedError';
  }
}

export interface PacsAddressPolicy {
  /** Host names ("pacs.example.org", "*.example.org") and IP addresses or CIDR ranges ("10.2.0.0/16"); null: any. */
  allowedHosts: string[] | null;
}

type Allowed = { names: string[]; suffixes: string[]; ips: BlockList };

/** An allow-list entry is a host name, "*." and a domain, an IP address or a CIDR range; anything else is a config error. */
export function parseAllowedHosts(entries: string[]): Allowed {
  const ips = new BlockList();
  const names: string[] = [];
  const suffixes: string[] = [];
  for (const raw of entries) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    const [address, bits, extra] = entry.split('/');
    const family = isIP(address);
    if (family && extra === undefined) {
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (bits === undefined) ips.addAddress(address, type);
      else if (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)) ips.addSubnet(address, Number(bits), type);
      else throw new Error(`DICOMWEB_ALLOWED_HOSTS: "${raw}" has an invalid prefix length`);
    } else if (/^\*\.[a-z0-9.-]+$/.test(entry)) suffixes.push(entry.slice(1));
    else if (/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(entry)) names.push(entry);
    else throw new Error(`DICOMWEB_ALLOWED_HOSTS: "${raw}" is neither a host name, "*.domain", an IP address nor a CIDR range`);
  }
  return { names, suffixes, ips };
}

const familyOf = (ip: string) => (isIP(ip) === 6 ? 'ipv6' : 'ipv4');

/**
 * Whether `url` may be requested: its host is allowed by name or every address it resolves to is, and none of its
 * addresses is link-local or unspecified. `resolve` (the system resolver by default) gives the host's addresses.
 * Throws AddressNotAllowedError saying why.
 */
export async function assertPacsAddress(url: string, policy: PacsAddressPolicy, resolve: (host: string) => Promise<string[]> = resolveAll): Promise<void> {
  const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const allowed = policy.allowedHosts ? parseAllowedHosts(policy.allowedHosts) : null;
  const byName = allowed !== null && (allowed.names.includes(host) || allowed.suffixes.some((s) => host.endsWith(s)));
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : await resolve(host);
  } catch (e) {
    throw new AddressNotAllowedError(`The PACS host ${host} could not be resolved (${(e as Error).message}): check the source's URL`);
  }
  const never = addresses.find((a) => NEVER.check(a, familyOf(a)));
  if (never) throw new AddressNotAllowedError(`The PACS host ${host} is at ${never}, a link-local or unspecified address, which is never a PACS: use the PACS's own address`);
  if (allowed === null || byName) return;
  const outside = addresses.find((a) => !allowed.ips.check(a, familyOf(a)));
  if (outside !== undefined) throw new AddressNotAllowedError(`The PACS host ${host} (${outside}) is not among the hosts this deployment allows (DICOMWEB_ALLOWED_HOSTS): ask an admin to add it`);
}

async function resolveAll(host: string): Promise<string[]> {
  return (await lookup(host, { all: true, verbatim: true })).map((a) => a.address);
}
