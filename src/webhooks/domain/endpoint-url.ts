// Which URLs a webhook endpoint may have. Pure.
//
// Always: http or https, no user:password part, at most webhook_url_length_max characters.
// Outside the sandbox (CLEARWAY_SANDBOX=0) also no loopback, private, link-local or unspecified
// IP literal and no `localhost`: a merchant must not make Clearway POST into its own network.
// This checks the URL as written; a name that resolves to a private address (DNS rebinding) must
// be stopped at connect time by an egress proxy or firewall in production (docs/webhooks.md).
import { isIP } from 'node:net';
import { limits } from '../../kernel/limits.ts';

export type EndpointUrlRejection = 'not_a_url' | 'too_long' | 'scheme_not_allowed' | 'credentials_not_allowed' | 'private_address_not_allowed';

export function checkEndpointUrl(raw: string, options: { readonly allowPrivateAddresses: boolean }): EndpointUrlRejection | null {
  if (raw.length > limits.webhook_url_length_max) return 'too_long';
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not_a_url';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'scheme_not_allowed';
  if (url.username !== '' || url.password !== '') return 'credentials_not_allowed';
  if (url.hostname === '') return 'not_a_url';
  if (!options.allowPrivateAddresses && isPrivateHost(url.hostname)) return 'private_address_not_allowed';
  return null;
}

export function isPrivateHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const version = isIP(host);
  if (version === 4) return isPrivateIpv4(host);
  if (version === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(host);
    if (mapped) return isPrivateIpv4(mapped[1]!);
    if (host.startsWith('::ffff:')) return true; // mapped IPv4 in hex form: refuse rather than decode
    return host === '::' || host === '::1' || /^f[cd]/.test(host) || /^fe[89ab]/.test(host);
  }
  return false;
}

function isPrivateIpv4(address: string): boolean {
  const [a, b] = address.split('.').map(Number) as [number, number, number, number];
  return (
    a === 0 || a === 10 || a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    a >= 224 // multicast and reserved
  );
}
