// `host:port` as a hosts target writes it (its `address`, its proxy's `listen` and `upstream`),
// parsed without I/O. A listen address is one of this machine's, chosen on purpose: loopback, or
// an IP literal the team wrote; never a wildcard (every interface) or a name (resolves anywhere).

export interface HostPort {
  /** An IPv4 or IPv6 literal (no brackets), or a host name. */
  host: string;
  port: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const NAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i;

const isIpv4 = (host: string) => IPV4.test(host) && host.split('.').every((o) => Number(o) <= 255);
const isIpv6 = (host: string) => host.includes(':') && /^[0-9a-f:.]+$/i.test(host) && (host.match(/::/g)?.length ?? 0) <= 1;

/** 'host:port', '[v6]:port'; undefined when it is neither or the port is not 1–65535. */
export function parseHostPort(text: string): HostPort | undefined {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const host = m[1]!;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  // All digits and dots is an IPv4 address or nothing: '256.1.1.1' is not a name.
  if (/^[\d.]+$/.test(host) ? !isIpv4(host) : !isIpv6(host) && !NAME.test(host)) return undefined;
  return { host, port };
}

export const formatHostPort = ({ host, port }: HostPort): string => (host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`);

export const isLoopbackHost = (host: string): boolean =>
  host === 'localhost' || (isIpv4(host) && host.startsWith('127.')) || host === '::1' || /^(0{1,4}:){7}0{0,3}1$/.test(host);

const isWildcard = (host: string) => host === '0.0.0.0' || (isIpv6(host) && /^[0:]+$/.test(host));

/**
 * Where the harness's proxy binds, or why it may not: loopback ('localhost' is 127.0.0.1, so a
 * name never picks the address family), or another IP literal of this machine written on purpose.
 */
export function listenAddress(text: string): { ok: HostPort } | { problem: string; fix: string } {
  const parsed = parseHostPort(text);
  if (!parsed) return { problem: `'${text}' is not host:port`, fix: "write it as '127.0.0.1:18080'" };
  if (parsed.host === 'localhost') return { ok: { host: '127.0.0.1', port: parsed.port } };
  if (isWildcard(parsed.host))
    return {
      problem: `'${text}' would listen on every interface of this machine`,
      fix: `write a loopback address ('127.0.0.1:${parsed.port}'), or the one address of this machine the clients reach`,
    };
  if (!isIpv4(parsed.host) && !isIpv6(parsed.host))
    return {
      problem: `'${parsed.host}' is a name: the proxy listens on an address of this machine, written as an IP`,
      fix: `write '127.0.0.1:${parsed.port}', or the IP address of this machine the clients reach`,
    };
  return { ok: parsed };
}
