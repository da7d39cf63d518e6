/**
 * The edit-input resolver under hostile references, property-based: SSRF attempts (private,
 * loopback, link-local, metadata and reserved addresses in every spelling a URL parser accepts,
 * DNS answers that mix public and private addresses, redirect chains that end somewhere private)
 * and path traversal out of the allowed folder (dot segments, symlinks, sibling prefixes, file
 * URIs). A refused reference is always a `validation` or `not_found` AppError; nothing is fetched
 * from, and no byte is read from, where it must not be.
 *
 * The resolver's DNS and fetch are injected; no packet leaves the process. The seed is printed;
 * replay a failure with FC_SEED=<seed>.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import { AppError } from "../../src/errors.ts";
import { createInputResolver, type InputResolver } from "../../src/images/inputs.ts";

const SEED = Number(Deno.env.get("FC_SEED") ?? Math.floor(Math.random() * 2 ** 31));
console.log(`fast-check seed: ${SEED} (replay with FC_SEED=${SEED})`);
const RUNS = Number(Deno.env.get("FC_RUNS") ?? 1000);
const PARAMS = { seed: SEED, numRuns: RUNS, endOnFailure: true } as const;

const PNG = Uint8Array.fromBase64(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
);
const MARKER = new TextEncoder().encode("OUTSIDE-THE-ROOT-5e0b");

// ---- addresses, written down here independently of the implementation ------------------------

/** IPv4 networks no URL input may reach: [first octets, prefix length]. */
const BLOCKED_V4: [number[], number][] = [
  [[0], 8],
  [[10], 8],
  [[100, 64], 10],
  [[127], 8],
  [[169, 254], 16],
  [[172, 16], 12],
  [[192, 168], 16],
  [[224], 4],
  [[240], 4],
];
const METADATA = ["169.254.169.254", "169.254.170.2"];
const PUBLIC = ["93.184.216.34", "8.8.8.8", "1.1.1.1", "151.101.1.69", "2606:4700::1111"];

/** A random address inside one of the blocked IPv4 networks, as four octets. */
const blockedV4 = fc.constantFrom(...BLOCKED_V4).chain(([head, bits]) =>
  fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((random) => {
    const octets = [...head, ...random.slice(head.length)];
    // Keep the network bits of the last fixed octet (for /10, /12, /4 networks).
    const fixed = Math.floor(bits / 8);
    const spare = bits % 8;
    if (spare > 0) {
      const mask = (0xff << (8 - spare)) & 0xff;
      const net = head[fixed] ?? 0;
      octets[fixed] = (net & mask) | (random[fixed] & ~mask & 0xff);
    }
    return octets;
  })
).map((octets) => octets.slice(0, 4));

const v4Octets = fc.oneof(
  blockedV4,
  fc.constantFrom(...METADATA.map((a) => a.split(".").map(Number))),
);

/** Spellings of an IPv4 address in a URL host that WHATWG URL parsers turn into that address. */
function spellings(o: number[]): string[] {
  const n = ((o[0] << 24) >>> 0) + (o[1] << 16) + (o[2] << 8) + o[3];
  const hex = (x: number) => x.toString(16);
  const v6tail = `${hex((o[0] << 8) | o[1])}:${hex((o[2] << 8) | o[3])}`;
  return [
    o.join("."),
    `${o.join(".")}.`,
    String(n),
    `0x${hex(n)}`,
    o.map((x) => `0${x.toString(8)}`).join("."),
    `${o[0]}.${(o[1] << 16) + (o[2] << 8) + o[3]}`,
    `0x${hex(o[0])}.0x${hex(o[1])}.${o[2]}.${o[3]}`,
    `[::ffff:${o.join(".")}]`,
    `[::ffff:${v6tail}]`,
    `[64:ff9b::${o.join(".")}]`,
    `[2002:${v6tail}::1]`,
  ];
}

const blockedV6 = fc.oneof(
  fc.constantFrom("::1", "::", "fd00:ec2::254", "::ffff:127.0.0.1"),
  fc.tuple(fc.constantFrom("fe80", "fe9a", "febf", "fc00", "fd12", "ff02", "fec0"), fc.nat(0xffff))
    .map(([head, x]) => `${head}::${x.toString(16)}`),
);

/** A host (as written in a URL) that is a non-public address or a loopback name. */
const blockedHost = fc.oneof(
  { weight: 4, arbitrary: v4Octets.chain((o) => fc.constantFrom(...spellings(o))) },
  blockedV6.map((a) => `[${a}]`),
  fc.constantFrom("localhost", "LOCALHOST", "localhost.", "api.localhost", "x.y.localhost"),
);

/** A DNS answer as a resolver returns it: canonical text. */
const blockedAnswer = fc.oneof(v4Octets.map((o) => o.join(".")), blockedV6);

// ---- harness ------------------------------------------------------------------------------------

interface Net {
  resolver: InputResolver;
  /** URLs fetched, in order. */
  fetched: string[];
  /** DNS table (hostname → answers); unknown names have no address. */
  dns: Map<string, string[]>;
  /** Redirects (URL → Location); other URLs answer a PNG. */
  redirects: Map<string, string>;
}

function network(): Net {
  const fetched: string[] = [];
  const dns = new Map<string, string[]>();
  const redirects = new Map<string, string>();
  const resolver = createInputResolver({
    allowedRoots: [],
    allowedUrlHosts: ["*"],
    loadImage: () => Promise.resolve(null),
    resolveDns: (host) => Promise.resolve(dns.get(host) ?? []),
    pinnedClient: () => undefined,
    fetch: (input) => {
      const url = String(input instanceof Request ? input.url : input);
      fetched.push(url);
      const location = redirects.get(url);
      if (location !== undefined) {
        return Promise.resolve(new Response(null, { status: 302, headers: { location } }));
      }
      const body = PNG as Uint8Array<ArrayBuffer>;
      return Promise.resolve(new Response(body, { headers: { "content-type": "image/png" } }));
    },
  });
  return { resolver, fetched, dns, redirects };
}

/** Runs `ref` through the resolver; returns the refusal (an AppError) or null when it resolved. */
async function attempt(resolver: InputResolver, ref: string): Promise<AppError | null> {
  try {
    await resolver.resolve(ref, "images[0]");
    return null;
  } catch (error) {
    assert.ok(error instanceof AppError, `${ref}: not an AppError: ${String(error)}`);
    assert.ok(["validation", "not_found"].includes(error.kind), `${ref}: ${error.kind}`);
    return error;
  }
}

const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
const hostname = fc.tuple(label, fc.constantFrom("example.test", "cdn.test", "images.test"))
  .map(([a, b]) => `${a}.${b}`);
const path = fc.webPath().map((p) => p || "/");

// ---- SSRF ---------------------------------------------------------------------------------------

Deno.test("a URL whose host is a non-public address, in any spelling, is refused unfetched", async () => {
  const net = network();
  await fc.assert(
    fc.asyncProperty(fc.constantFrom("http", "https"), blockedHost, path, async (s, host, p) => {
      const ref = `${s}://${host}${p}`;
      if (!URL.canParse(ref)) return;
      const error = await attempt(net.resolver, ref);
      assert.ok(error, `${ref} resolved`);
      assert.equal(error.details?.reason, "blocked_address", `${ref}: ${error.message}`);
    }),
    PARAMS,
  );
  assert.deepEqual(net.fetched, []);
});

Deno.test("a host whose DNS answer holds any non-public address is refused unfetched", async () => {
  const net = network();
  await fc.assert(
    fc.asyncProperty(
      hostname,
      fc.array(fc.constantFrom(...PUBLIC), { maxLength: 3 }),
      fc.array(blockedAnswer, { minLength: 1, maxLength: 3 }),
      fc.nat(),
      async (host, good, bad, shuffle) => {
        const answers = [...good, ...bad];
        const rotated = answers.map((_, i) => answers[(i + shuffle) % answers.length]);
        net.dns.set(host, rotated);
        const error = await attempt(net.resolver, `https://${host}/a.png`);
        assert.ok(error, `${host} → ${rotated} resolved`);
        assert.equal(error.details?.reason, "blocked_address", error.message);
      },
    ),
    PARAMS,
  );
  assert.deepEqual(net.fetched, []);
});

Deno.test("every redirect hop is checked again: a chain ending somewhere private is refused there", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(hostname, { minLength: 1, maxLength: 3 }),
      fc.oneof(
        blockedHost.map((host) => ({ host, answers: [] as string[] })),
        fc.tuple(hostname, blockedAnswer).map(([host, answer]) => ({
          host: `evil-${host}`,
          answers: [answer],
        })),
      ),
      fc.constantFrom("http", "https"),
      async (hops, target, scheme) => {
        const net = network();
        const urls = hops.map((h, i) => `https://${h}/hop${i}.png`);
        for (const h of hops) net.dns.set(h, [PUBLIC[0]]);
        if (target.answers.length > 0) net.dns.set(target.host, target.answers);
        const last = `${scheme}://${target.host}/latest/meta-data/`;
        if (!URL.canParse(last)) return;
        urls.forEach((url, i) => net.redirects.set(url, urls[i + 1] ?? last));
        const error = await attempt(net.resolver, urls[0]);
        assert.ok(error, `${urls.join(" → ")} → ${last} resolved`);
        assert.equal(error.details?.reason, "blocked_address", error.message);
        assert.deepEqual(net.fetched, urls, "only the public hops were fetched");
      },
    ),
    { ...PARAMS, numRuns: Math.ceil(RUNS / 2) },
  );
});

Deno.test("a chain of public hosts is followed to the image (the guard is not refusing everything)", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(hostname, { minLength: 1, maxLength: 3 }),
      async (hops) => {
        const net = network();
        const urls = hops.map((h, i) => `https://${h}/hop${i}.png`);
        for (const h of hops) net.dns.set(h, [PUBLIC[urls.length % PUBLIC.length]]);
        urls.forEach((url, i) => urls[i + 1] && net.redirects.set(url, urls[i + 1]));
        const resolved = await net.resolver.resolve(urls[0], "images[0]");
        assert.equal(resolved.mime, "image/png");
        assert.deepEqual(net.fetched, urls);
      },
    ),
    { ...PARAMS, numRuns: Math.ceil(RUNS / 4) },
  );
});

Deno.test("any string as an edit input is refused with a validation or not_found error, or resolved", async () => {
  const net = network();
  const ref = fc.oneof(
    fc.string({ maxLength: 80 }),
    fc.webUrl({ withQueryParameters: true, withFragments: true }),
    fc.tuple(
      fc.constantFrom("image://", "data:", "file://", "http://", "gopher://", "C:\\"),
      fc
        .string({ maxLength: 40 }),
    ).map(([a, b]) => `${a}${b}`),
  );
  await fc.assert(
    fc.asyncProperty(ref, async (text) => {
      await attempt(net.resolver, text);
    }),
    PARAMS,
  );
  // The DNS table is empty here: only a public IP literal may ever have been fetched.
  for (const url of [...net.fetched]) {
    const host = new URL(url).hostname;
    assert.match(host, /^(\d+\.\d+\.\d+\.\d+|\[[0-9a-f:.]+\])$/, `${url} was fetched`);
    assert.ok(!(await attempt(net.resolver, `http://${host}/`)), `${host} is public`);
  }
});

// ---- path traversal -----------------------------------------------------------------------------

Deno.test("a file input is read only when its real path lies inside an allowed folder", async () => {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "fuzz-inputs-" }));
  try {
    const root = join(dir, "root");
    await Deno.mkdir(join(root, "sub"), { recursive: true });
    await Deno.writeFile(join(root, "in.png"), PNG);
    await Deno.writeFile(join(root, "sub", "deep.png"), PNG);
    const outside = new Uint8Array([...PNG, ...MARKER]);
    await Deno.writeFile(join(dir, "secret.png"), outside);
    await Deno.mkdir(join(dir, "root-evil"));
    await Deno.writeFile(join(dir, "root-evil", "x.png"), outside);
    await Deno.symlink(join(dir, "secret.png"), join(root, "link.png"));
    await Deno.symlink(dir, join(root, "up"));
    await Deno.symlink(join(root, "sub"), join(root, "sideways"));
    const resolver = createInputResolver({
      allowedRoots: [root],
      loadImage: () => Promise.resolve(null),
      fetch: () => Promise.reject(new Error("no fetch")),
      resolveDns: () => Promise.reject(new Error("no DNS")),
    });
    const segment = fc.constantFrom(
      "..",
      ".",
      "",
      "root",
      "root-evil",
      "sub",
      "in.png",
      "deep.png",
      "secret.png",
      "x.png",
      "link.png",
      "up",
      "sideways",
      "%2e%2e",
      "..%2f",
      "~",
      "\u0000",
    );
    const ref = fc.tuple(
      fc.constantFrom("", "./", "/", `${root}/`, `${dir}/`, "file://", `file://${root}/`, "\\"),
      fc.array(segment, { minLength: 1, maxLength: 6 }),
      fc.constantFrom("/", "\\", "//"),
    ).map(([prefix, parts, sep]) => `${prefix}${parts.join(sep)}`);
    let read = 0;
    await fc.assert(
      fc.asyncProperty(ref, async (text) => {
        let bytes: Uint8Array;
        try {
          bytes = (await resolver.resolve(text, "images[0]")).bytes;
        } catch (error) {
          assert.ok(error instanceof AppError, `${text}: ${String(error)}`);
          assert.ok(["validation", "not_found"].includes(error.kind), `${text}: ${error.kind}`);
          return;
        }
        read++;
        assert.deepEqual(bytes, PNG, `${text} read a file from outside the root`);
      }),
      PARAMS,
    );
    assert.ok(read > 0, "some references inside the root were read");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
