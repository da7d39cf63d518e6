/**
 * The SSRF guard's address rules: which IP addresses an outgoing request may never reach (private,
 * loopback, link-local, unique-local, unspecified, multicast, reserved, and IPv6 forms that embed
 * such an IPv4 address), and host allow-lists such as `EDIT_ALLOWED_URL_HOSTS`.
 *
 * @module
 */

function parseIpv4(text: string): Uint8Array | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return Uint8Array.from(parts);
}

function parseGroups(part: string, allowV4Tail: boolean): number[] | null {
  if (part === "") return [];
  const groups = part.split(":");
  const out: number[] = [];
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i];
    if (allowV4Tail && i === groups.length - 1 && g.includes(".")) {
      const v4 = parseIpv4(g);
      if (!v4) return null;
      out.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else if (/^[0-9a-f]{1,4}$/i.test(g)) {
      out.push(parseInt(g, 16));
    } else {
      return null;
    }
  }
  return out;
}

function parseIpv6(text: string): Uint8Array | null {
  let s = text.startsWith("[") && text.endsWith("]") ? text.slice(1, -1) : text;
  const zone = s.indexOf("%");
  if (zone !== -1) s = s.slice(0, zone);
  if (!s.includes(":")) return null;
  const halves = s.split("::");
  if (halves.length > 2) return null;
  let groups: number[];
  if (halves.length === 2) {
    const head = parseGroups(halves[0], false);
    const tail = parseGroups(halves[1], true);
    if (!head || !tail) return null;
    const missing = 8 - head.length - tail.length;
    if (missing < 1) return null;
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  } else {
    const all = parseGroups(s, true);
    if (!all || all.length !== 8) return null;
    groups = all;
  }
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** Parses an IPv4 or IPv6 address (brackets and a zone allowed) into 4 or 16 bytes, or `null`. */
export function parseIp(text: string): Uint8Array | null {
  return parseIpv4(text) ?? parseIpv6(text);
}

type Rule = { net: Uint8Array; bits: number; phrase: string } | {
  net: Uint8Array;
  bits: number;
  embeddedV4At: number;
};

function rule(cidr: string, phrase: string): Rule {
  const [addr, bits] = cidr.split("/");
  return { net: parseIp(addr)!, bits: Number(bits), phrase };
}

function embedded(cidr: string, at: number): Rule {
  const [addr, bits] = cidr.split("/");
  return { net: parseIp(addr)!, bits: Number(bits), embeddedV4At: at };
}

const PRIVATE = "a private address";
const RESERVED = "a reserved address";

const V4_RULES: readonly Rule[] = [
  rule("0.0.0.0/8", "an unspecified address"),
  rule("10.0.0.0/8", PRIVATE),
  rule("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
  rule("127.0.0.0/8", "a loopback address"),
  rule("169.254.0.0/16", "a link-local address"),
  rule("172.16.0.0/12", PRIVATE),
  rule("192.0.0.0/24", RESERVED),
  rule("192.0.2.0/24", RESERVED),
  rule("192.88.99.0/24", RESERVED),
  rule("192.168.0.0/16", PRIVATE),
  rule("198.18.0.0/15", RESERVED),
  rule("198.51.100.0/24", RESERVED),
  rule("203.0.113.0/24", RESERVED),
  rule("224.0.0.0/4", "a multicast address"),
  rule("240.0.0.0/4", RESERVED),
];

// First match wins, so the exact and embedding rules come before the wider ::/8.
const V6_RULES: readonly Rule[] = [
  rule("::/128", "an unspecified address"),
  rule("::1/128", "a loopback address"),
  embedded("::ffff:0:0/96", 12),
  embedded("::ffff:0:0:0/96", 12),
  embedded("64:ff9b::/96", 12),
  rule("64:ff9b:1::/48", RESERVED),
  rule("::/8", RESERVED),
  rule("100::/64", RESERVED),
  rule("2001:db8::/32", RESERVED),
  rule("2001::/32", RESERVED),
  rule("2001:10::/28", RESERVED),
  embedded("2002::/16", 2),
  rule("fc00::/7", "a unique-local address"),
  rule("fe80::/10", "a link-local address"),
  rule("fec0::/10", "a site-local address"),
  rule("ff00::/8", "a multicast address"),
];

const METADATA = new Set(["169.254.169.254", "fd00:ec2::254", "169.254.170.2"]);

function matches(bytes: Uint8Array, net: Uint8Array, bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> (i % 8);
    if ((bytes[i >> 3] & mask) !== (net[i >> 3] & mask)) return false;
  }
  return true;
}

function formatV4(bytes: Uint8Array): string {
  return Array.from(bytes).join(".");
}

function formatV6(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  return groups.join(":");
}

/** Why an address may never be reached: `phrase` such as "a private address", and a `note`. */
export interface BlockedAddress {
  /** The address class with its article, e.g. `a link-local address`. */
  phrase: string;
  /** Extra explanation, e.g. `the cloud metadata service`. */
  note?: string;
}

function classifyBytes(bytes: Uint8Array): BlockedAddress | null {
  const v4 = bytes.length === 4;
  for (const r of v4 ? V4_RULES : V6_RULES) {
    if (!matches(bytes, r.net, r.bits)) continue;
    if ("phrase" in r) {
      const key = v4 ? formatV4(bytes) : formatV6(bytes);
      return METADATA.has(key) ? { phrase: r.phrase, note: "the cloud metadata service" } : {
        phrase: r.phrase,
      };
    }
    const inner = bytes.subarray(r.embeddedV4At, r.embeddedV4At + 4);
    const verdict = classifyBytes(inner);
    if (verdict === null) return null;
    const note = `IPv4 ${formatV4(inner)} inside IPv6`;
    return { phrase: verdict.phrase, note: verdict.note ? `${note}, ${verdict.note}` : note };
  }
  return null;
}

/**
 * Says why `address` may never be reached (private, loopback, link-local, unique-local,
 * unspecified, multicast, reserved, or an IPv6 form embedding such an IPv4 address), or returns
 * `null` for a public address. Text that is not an IP address is refused as unrecognised.
 */
export function blockedAddress(address: string): BlockedAddress | null {
  const bytes = parseIp(address);
  if (bytes === null) return { phrase: "an unrecognised address" };
  return classifyBytes(bytes);
}

/** True when `host` (a URL hostname, IPv6 in brackets or not) is an IP literal. */
export function isIpLiteral(host: string): boolean {
  return parseIp(host) !== null;
}

/** Lower-cases a hostname, drops IPv6 brackets and a trailing dot. */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith("[") && h.endsWith("]")) h = h.slice(1, -1);
  if (h.endsWith(".")) h = h.slice(0, -1);
  return h;
}

function entryHost(entry: string): string {
  let e = entry.trim();
  // Tolerate full URLs and ports in the setting: only the hostname matters.
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(e)) {
    try {
      e = new URL(e).hostname;
    } catch {
      return "";
    }
  } else if (!e.startsWith("[") && /^[^:]+:\d+$/.test(e)) {
    e = e.slice(0, e.lastIndexOf(":"));
  }
  if (!e.startsWith("[") && !e.includes(":") && e !== "*" && !e.startsWith("*.")) {
    try {
      e = new URL(`http://${e}`).hostname; // IDN to punycode, as URL hostnames are
    } catch {
      return "";
    }
  }
  return normalizeHost(e);
}

/**
 * Builds a matcher for an allow-list of hostnames: exact names (case-insensitive), `*.example.com`
 * for any subdomain of example.com (not example.com itself), or `*` for any host. The address
 * rules still apply to every host the list allows.
 */
export function hostMatcher(entries: readonly string[]): (host: string) => boolean {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  let any = false;
  for (const entry of entries) {
    const e = entryHost(entry);
    if (e === "") continue;
    if (e === "*") any = true;
    else if (e.startsWith("*.")) {
      const base = entryHost(e.slice(2));
      if (base !== "") suffixes.push(`.${base}`);
    } else exact.add(e);
  }
  return (host: string): boolean => {
    const h = normalizeHost(host);
    if (h === "") return false;
    return any || exact.has(h) || suffixes.some((s) => h.endsWith(s) && h.length > s.length);
  };
}
