/**
 * `--listen [NAME=]ADDR` for `libsystemd run` and `libsystemd unit`: one parser, one naming rule,
 * so the same server finds its sockets under both (and under the units `unit` writes).
 *
 * Naming rule: `NAME=ADDR` names the socket NAME (its FileDescriptorName=, LISTEN_FDNAMES
 * entry); an unnamed first socket is `http`, further unnamed ones `socket2`, `socket3`, … by
 * position. `listenArgs('http', { port: 8080 })` therefore works with `--listen 8080`.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { shown } from './unit-file';

export interface ListenSpec {
  /** LISTEN_FDNAMES entry / FileDescriptorName=. */
  readonly name: string;
  /** The address as given, without `NAME=`. */
  readonly address: string;
  /** stream (TCP or AF_UNIX stream) or datagram (UDP or AF_UNIX datagram), as `udp:` says. */
  readonly datagram: boolean;
  /** TCP/UDP: 4 or 6, the host (an IP address) and the port; AF_UNIX: the path. */
  readonly family?: 4 | 6;
  readonly host?: string;
  readonly port?: number;
  readonly path?: string;
}

/** The default name of the socket at `index` (0-based) given without `NAME=`. */
export function defaultSocketName(index: number): string {
  return index === 0 ? 'http' : `socket${index + 1}`;
}

const FORMS = 'a port (8080), IPv4:port (127.0.0.1:8080), [IPv6]:port ([::1]:8080), an absolute socket path (/run/app.sock), each optionally after udp:';

function port(text: string, spec: string): number {
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n < 1 || n > 65535) throw new Error(`--listen ${shown(spec)}: port ${text} is not a port from 1 to 65535`);
  return n;
}

/** Parses and checks one `--listen` value (the `index`-th): throws an Error with a one-line message. */
export function parseListen(spec: string, index: number): ListenSpec {
  // Addresses never contain '=': anything before one is the name.
  const eq = spec.indexOf('=');
  const name = eq >= 0 ? spec.slice(0, eq) : defaultSocketName(index);
  const address = eq >= 0 ? spec.slice(eq + 1) : spec;
  if (!/^[\x21-\x39\x3b-\x3c\x3e-\x7e]{1,255}$/.test(name)) throw new Error(`--listen ${shown(spec)}: the name ${JSON.stringify(name)} must be 1-255 printable characters without ':', '=' or spaces`);
  const datagram = address.startsWith('udp:');
  const a = datagram ? address.slice(4) : address;
  if (a === '') throw new Error(`--listen ${shown(spec)}: no address; give ${FORMS}`);
  let m: RegExpExecArray | null;
  if (a.startsWith('/')) {
    if (Buffer.byteLength(a) > 107) throw new Error(`--listen ${shown(spec)}: a socket path is at most 107 bytes`);
    if (/\s/.test(a)) throw new Error(`--listen ${shown(spec)}: a socket path without spaces`);
    return { name, address, datagram, path: a };
  }
  if (/^\d+$/.test(a)) return { name, address, datagram, family: 6, host: '::', port: port(a, spec) };
  if ((m = /^\[([^\]]*)\]:(\d+)$/.exec(a))) {
    if (!isIPv6(m[1]!)) throw new Error(`--listen ${shown(spec)}: ${m[1]} is not an IPv6 address`);
    return { name, address, datagram, family: 6, host: m[1]!, port: port(m[2]!, spec) };
  }
  if ((m = /^([^:]+):(\d+)$/.exec(a))) {
    if (isIPv4(m[1]!)) return { name, address, datagram, family: 4, host: m[1]!, port: port(m[2]!, spec) };
    // systemd's ListenStream= takes no host names; a name could also resolve differently later.
    throw new Error(`--listen ${shown(spec)}: ${JSON.stringify(m[1])} is not an IP address; give 127.0.0.1:${m[2]} or [::1]:${m[2]} (systemd's ListenStream= takes no host names)`);
  }
  throw new Error(`--listen ${shown(spec)}: not an address; give ${FORMS}`);
}

/** Parses every `--listen` value, refusing two sockets with one name. */
export function parseListens(specs: readonly string[]): ListenSpec[] {
  const out = specs.map((s, i) => parseListen(s, i));
  const seen = new Set<string>();
  for (const l of out) {
    if (seen.has(l.name)) throw new Error(`--listen: two sockets are named ${JSON.stringify(l.name)}; name them NAME=ADDR`);
    seen.add(l.name);
  }
  return out;
}
