import assert from "node:assert/strict";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { AppError, ValidationError } from "../../src/errors.ts";
import {
  blockedAddress,
  createInputResolver,
  hostMatcher,
  type InputResolverOptions,
  isInsideRoot,
  type LoadedImage,
  toLocalPath,
} from "../../src/images/inputs.ts";

// ---------------------------------------------------------------------------------------------
// Fixtures

const PNG = Uint8Array.fromBase64(
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==",
);
const JPEG = Uint8Array.from([
  0xff,
  0xd8,
  0xff,
  0xe0,
  0x00,
  0x10,
  0x4a,
  0x46,
  0x49,
  0x46,
  0,
  1,
  0xff,
  0xd9,
]);
const WEBP = new TextEncoder().encode(
  "RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10",
);
const GIF = new TextEncoder().encode("GIF89a\x01\x00\x01\x00\x00\x00\x00;");
const HTML = new TextEncoder().encode("<!doctype html><html><body>secret page</body></html>");

const ID = "0195f3c2-8d1e-7abc-9def-0123456789ab";
const FIELD = "images[0]";

interface Tree {
  dir: string;
  root: string;
  [Symbol.asyncDispose](): Promise<void>;
}

/** A temp dir holding `images/` (the allowed root), `images-evil/` and `outside/`. */
async function makeTree(): Promise<Tree> {
  const dir = await Deno.realPath(await Deno.makeTempDir({ prefix: "inputs_test_" }));
  const root = join(dir, "images");
  await Deno.mkdir(join(root, "sub"), { recursive: true });
  await Deno.mkdir(join(dir, "images-evil"));
  await Deno.mkdir(join(dir, "outside"));
  await Deno.writeFile(join(root, "a.png"), PNG);
  await Deno.writeFile(join(root, "sub", "b.webp"), WEBP);
  await Deno.writeFile(join(dir, "images-evil", "a.png"), PNG);
  await Deno.writeFile(join(dir, "outside", "secret.png"), PNG);
  return {
    dir,
    root,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

const catalog = new Map<string, LoadedImage>([
  [ID, { bytes: PNG, mime: "image/png", file: `/data/images/${ID}.png` }],
  ["image_1700000000000.png", { bytes: JPEG, mime: "image/jpeg" }],
  ["0195f3c2-8d1e-7abc-9def-00000000f1f0", { bytes: GIF, mime: "image/gif" }],
]);

function loadImage(id: string): Promise<LoadedImage | null> {
  return Promise.resolve(catalog.get(id) ?? null);
}

function resolver(overrides: Partial<InputResolverOptions> = {}) {
  return createInputResolver({
    allowedRoots: [],
    loadImage,
    os: "linux",
    fetch: () => Promise.reject(new Error("fetch must not be called")),
    resolveDns: () => Promise.reject(new Error("DNS must not be asked")),
    pinnedClient: () => undefined,
    ...overrides,
  });
}

/** Asserts that `promise` rejects with a ValidationError for `field` with `reason`. */
async function refused(
  promise: Promise<unknown>,
  reason: string,
  message?: RegExp,
  field = FIELD,
): Promise<ValidationError> {
  let caught: unknown;
  await assert.rejects(promise, (error) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof ValidationError, `expected ValidationError, got ${caught}`);
  assert.equal(caught.kind, "validation");
  assert.equal(caught.field, field);
  assert.equal(caught.details?.reason, reason, caught.message);
  assert.match(caught.message, /^Cannot use ".*" as an edit input: /s);
  if (message) assert.match(caught.message, message);
  return caught;
}

// A loopback server standing in for a public image host.
interface TestServer {
  port: number;
  requests: { url: string; host: string | null; accept: string | null }[];
  [Symbol.asyncDispose](): Promise<void>;
}

function serve(handler: (req: Request) => Response | Promise<Response>): TestServer {
  const requests: TestServer["requests"] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    requests.push({
      url: req.url,
      host: req.headers.get("host"),
      accept: req.headers.get("accept"),
    });
    return handler(req);
  });
  return {
    port: server.addr.port,
    requests,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** A fetch that sends every request, whatever its host, to the loopback server on `port`. */
function routeTo(port: number, seen: { url: string; pinned: boolean }[] = []): typeof fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const { client, ...rest } = (init ?? {}) as RequestInit & { client?: Deno.HttpClient };
    seen.push({ url: url.href, pinned: client !== undefined });
    return fetch(`http://127.0.0.1:${port}${url.pathname}${url.search}`, rest);
  };
}

/** A resolver answering from a fixed table; unknown names have no address. */
function dns(table: Record<string, string[]>) {
  const asked: string[] = [];
  const resolveDns = (hostname: string) => {
    asked.push(hostname);
    return Promise.resolve(table[hostname] ?? []);
  };
  return { asked, resolveDns };
}

const PUBLIC_V4 = "93.184.216.34";
const PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946";

function imageHost(req: Request): Response {
  const path = new URL(req.url).pathname;
  switch (path) {
    case "/cat.png":
      return new Response(PNG, { headers: { "content-type": "image/png" } });
    case "/photo":
      return new Response(JPEG, { headers: { "content-type": "application/octet-stream" } });
    case "/page.png":
      return new Response(HTML, { headers: { "content-type": "text/html; charset=utf-8" } });
    case "/lying.png":
      return new Response(HTML, { headers: { "content-type": "image/png" } });
    case "/missing.png":
      return new Response("nope", { status: 404 });
    case "/r/ok":
      return Response.redirect("https://cdn.example.test/cat.png", 302);
    case "/r/private":
      return Response.redirect("https://internal.example.test/cat.png", 302);
    case "/r/evil":
      return Response.redirect("https://evil.example/cat.png", 301);
    case "/r/metadata":
      return Response.redirect("http://169.254.169.254/latest/meta-data/", 307);
    case "/r/file":
      return new Response(null, { status: 302, headers: { location: "file:///etc/passwd" } });
    case "/r/loop":
      return new Response(null, { status: 302, headers: { location: "/r/loop" } });
    case "/big":
      return new Response(new Uint8Array(200_000), { headers: { "content-type": "image/png" } });
    default:
      return new Response("not here", { status: 404 });
  }
}

const HOSTS = ["images.example.test", "cdn.example.test", "internal.example.test"];
const TABLE = {
  "images.example.test": [PUBLIC_V4],
  "cdn.example.test": [PUBLIC_V6],
  "internal.example.test": ["10.0.0.5"],
};

// ---------------------------------------------------------------------------------------------
// Ids and image:// URIs

Deno.test("an image id resolves through the catalog with the sniffed type and stored name", async () => {
  const input = await resolver().resolve(ID, FIELD);
  assert.deepEqual(input.bytes, PNG);
  assert.equal(input.mime, "image/png");
  assert.equal(input.source, "id");
  assert.equal(input.imageId, ID);
  assert.equal(input.filename, `${ID}.png`);
});

Deno.test("an upper-case image id is looked up in canonical lower case", async () => {
  const input = await resolver().resolve(ID.toUpperCase(), FIELD);
  assert.equal(input.imageId, ID);
});

Deno.test("image:// URIs and their /preview form resolve to the same image", async () => {
  const plain = await resolver().resolve(`image://${ID}`, FIELD);
  const preview = await resolver().resolve(`image://${ID}/preview`, FIELD);
  assert.equal(plain.source, "uri");
  assert.equal(preview.imageId, ID);
  assert.deepEqual(preview.bytes, plain.bytes);
});

Deno.test("a predecessor file name is passed to the catalog as-is and its bytes decide the type", async () => {
  const asked: string[] = [];
  const input = await resolver({
    loadImage: (id) => {
      asked.push(id);
      return loadImage(id);
    },
  }).resolve("image_1700000000000.png", FIELD);
  assert.deepEqual(asked, ["image_1700000000000.png"]);
  assert.equal(input.mime, "image/jpeg");
  assert.equal(input.filename, "image_1700000000000.jpg");
});

Deno.test("a predecessor file not in the catalog is read from the first allowed folder", async () => {
  await using tree = await makeTree();
  await Deno.writeFile(join(tree.root, "image_1600000000000.png"), PNG);
  const input = await resolver({ allowedRoots: [tree.root] }).resolve(
    "image_1600000000000.png",
    FIELD,
  );
  assert.equal(input.source, "path");
  assert.deepEqual(input.bytes, PNG);
});

Deno.test("an unknown image id is a not_found error naming the field", async () => {
  await using tree = await makeTree();
  for (
    const ref of [
      "0195f3c2-8d1e-7abc-9def-ffffffffffff",
      "image://0195f3c2-8d1e-7abc-9def-ffffffffffff",
      "image_1111111111111.png",
    ]
  ) {
    await assert.rejects(
      resolver({ allowedRoots: [tree.root] }).resolve(ref, "mask"),
      (error) => {
        assert.ok(error instanceof AppError);
        assert.ok(!(error instanceof ValidationError));
        assert.equal(error.kind, "not_found");
        assert.equal(error.field, "mask");
        assert.match(error.message, /no image with id ".+" exists/);
        return true;
      },
    );
  }
});

Deno.test("a malformed image:// URI is refused", async () => {
  await refused(resolver().resolve("image://a/b/c", FIELD), "bad_reference", /image:\/\/\{id\}/);
  await refused(resolver().resolve("image://../etc", FIELD), "bad_reference");
});

Deno.test("a catalog image in a format edits cannot take is refused", async () => {
  await refused(
    resolver().resolve("0195f3c2-8d1e-7abc-9def-00000000f1f0", FIELD),
    "not_an_image",
    /GIF image; edits accept PNG, JPEG or WebP/,
  );
});

// ---------------------------------------------------------------------------------------------
// Files

Deno.test("an absolute path inside the allowed folder is read", async () => {
  await using tree = await makeTree();
  const input = await resolver({ allowedRoots: [tree.root] }).resolve(
    join(tree.root, "a.png"),
    FIELD,
  );
  assert.deepEqual(input.bytes, PNG);
  assert.equal(input.source, "path");
  assert.equal(input.filename, "a.png");
  assert.equal(input.imageId, undefined);
});

Deno.test("a relative path is resolved against the first allowed folder", async () => {
  await using tree = await makeTree();
  const input = await resolver({ allowedRoots: [tree.root, join(tree.dir, "outside")] })
    .resolve("sub/b.webp", FIELD);
  assert.equal(input.mime, "image/webp");
  assert.equal(input.filename, "b.webp");
});

Deno.test("a file:// URI inside the allowed folder is read", async () => {
  await using tree = await makeTree();
  const uri = pathToFileURL(join(tree.root, "a.png")).href;
  const input = await resolver({ allowedRoots: [tree.root] }).resolve(uri, FIELD);
  assert.deepEqual(input.bytes, PNG);
  assert.equal(input.source, "path");
});

Deno.test("a path outside the allowed folders is refused with the folders and the setting", async () => {
  await using tree = await makeTree();
  const error = await refused(
    resolver({ allowedRoots: [tree.root] }).resolve("/etc/passwd", FIELD),
    "outside_roots",
  );
  assert.equal(
    error.message,
    `Cannot use "/etc/passwd" as an edit input: it is outside the allowed folders (${tree.root}); set EDIT_ALLOWED_ROOTS to allow more`,
  );
});

Deno.test("for remote callers no refusal names a folder of the server's disk", async () => {
  await using tree = await makeTree();
  await Deno.symlink(join(tree.dir, "outside", "secret.png"), join(tree.root, "link.png"));
  const r = resolver({ allowedRoots: [tree.root], showServerPaths: false });
  const refs: [string, string][] = [
    ["/etc/passwd", "outside_roots"],
    ["nope.png", "missing"],
    ["link.png", "outside_roots"],
    ["~/pictures/cat.png", "home_path"],
    ["/mnt/user-data/uploads/cat.png", "sandbox_path"],
  ];
  for (const [ref, reason] of refs) {
    const error = await refused(r.resolve(ref, FIELD), reason);
    assert.ok(!error.message.includes(tree.dir), `${ref}: ${error.message}`);
    assert.match(error.message, /EDIT_ALLOWED_ROOTS/, ref);
  }
  const local = await refused(
    resolver({ allowedRoots: [tree.root] }).resolve("nope.png", FIELD),
    "missing",
  );
  assert.ok(local.message.includes(tree.root), "local callers are told the folder");
});

Deno.test("`..` traversal out of the allowed folder is refused", async () => {
  await using tree = await makeTree();
  const r = resolver({ allowedRoots: [tree.root] });
  await refused(r.resolve(join(tree.root, "..", "outside", "secret.png"), FIELD), "outside_roots");
  await refused(r.resolve(`${tree.root}/sub/../../outside/secret.png`, FIELD), "outside_roots");
  await refused(r.resolve("../outside/secret.png", FIELD), "outside_roots");
});

Deno.test("a sibling folder sharing the root's name prefix is not inside the root", async () => {
  await using tree = await makeTree();
  await refused(
    resolver({ allowedRoots: [tree.root] }).resolve(join(tree.dir, "images-evil", "a.png"), FIELD),
    "outside_roots",
  );
  assert.equal(isInsideRoot("/data/images-evil/a.png", "/data/images", { os: "linux" }), false);
  assert.equal(isInsideRoot("/data/images/a.png", "/data/images/", { os: "linux" }), true);
});

Deno.test("a symbolic link inside the root that points outside it is refused", async () => {
  await using tree = await makeTree();
  await Deno.symlink(join(tree.dir, "outside", "secret.png"), join(tree.root, "link.png"));
  await Deno.symlink(join(tree.dir, "outside"), join(tree.root, "linked-dir"));
  const r = resolver({ allowedRoots: [tree.root] });
  await refused(r.resolve(join(tree.root, "link.png"), FIELD), "outside_roots", /symbolic link/);
  await refused(r.resolve("linked-dir/secret.png", FIELD), "outside_roots", /symbolic link/);
});

Deno.test("a root given through a symbolic link accepts paths written either way", async () => {
  await using tree = await makeTree();
  const alias = join(tree.dir, "alias");
  await Deno.symlink(tree.root, alias);
  const r = resolver({ allowedRoots: [alias] });
  assert.deepEqual((await r.resolve(join(alias, "a.png"), FIELD)).bytes, PNG);
  assert.deepEqual((await r.resolve(join(tree.root, "a.png"), FIELD)).bytes, PNG);
});

Deno.test("a missing file inside the root, a folder and an oversize file are refused", async () => {
  await using tree = await makeTree();
  const r = resolver({ allowedRoots: [tree.root], maxBytes: 100 });
  await refused(r.resolve("nope.png", FIELD), "missing", /relative paths are read from/);
  await refused(r.resolve(join(tree.root, "sub"), FIELD), "not_a_file", /folder/);
  await Deno.writeFile(join(tree.root, "big.png"), new Uint8Array(101));
  await refused(r.resolve("big.png", FIELD), "too_large", /100 bytes limit/);
});

Deno.test("a file that is not an image is refused without echoing its content", async () => {
  await using tree = await makeTree();
  await Deno.writeTextFile(join(tree.root, "notes.png"), "password=hunter2 top secret");
  const error = await refused(
    resolver({ allowedRoots: [tree.root] }).resolve("notes.png", FIELD),
    "not_an_image",
    /it is text, not a PNG, JPEG or WebP image/,
  );
  assert.doesNotMatch(error.message, /hunter2|secret/);
});

Deno.test("the magic number decides the type and the upload name gets a matching extension", async () => {
  await using tree = await makeTree();
  await Deno.writeFile(join(tree.root, "photo.png"), JPEG);
  const input = await resolver({ allowedRoots: [tree.root] }).resolve("photo.png", FIELD);
  assert.equal(input.mime, "image/jpeg");
  assert.equal(input.filename, "photo.jpg");
});

Deno.test("file inputs are refused when no folder is allowed", async () => {
  await refused(resolver().resolve("/tmp/a.png", FIELD), "disabled", /EDIT_ALLOWED_ROOTS/);
});

Deno.test("a Claude sandbox path gets an explanation instead of a bare refusal", async () => {
  await using tree = await makeTree();
  await refused(
    resolver({ allowedRoots: [tree.root] }).resolve("/mnt/user-data/uploads/x.png", FIELD),
    "sandbox_path",
    new RegExp(
      `files uploaded to Claude .* are not visible to this server; save the image into an allowed folder \\(${tree.root}\\) and pass that path, or pass an http\\(s\\) URL`,
    ),
  );
});

Deno.test("`~` is not expanded and the refusal says why", async () => {
  await using tree = await makeTree();
  await refused(
    resolver({ allowedRoots: [tree.root] }).resolve("~/Pictures/a.png", FIELD),
    "home_path",
    /"~" is not expanded, because the server may run as another user/,
  );
});

// ---------------------------------------------------------------------------------------------
// Windows paths (string rules only: no real reads)

Deno.test("Windows path forms normalise to one Windows path", () => {
  const base = "C:\\Users\\me\\Pictures";
  const opts = { os: "windows" as const, base };
  const want = "C:\\Users\\me\\Pictures\\a b.png";
  for (
    const ref of [
      "C:\\Users\\me\\Pictures\\a b.png",
      "C:/Users/me/Pictures/a b.png",
      "file:///C:/Users/me/Pictures/a%20b.png",
      "file:///C|/Users/me/Pictures/a%20b.png",
      "\\\\?\\C:\\Users\\me\\Pictures\\a b.png",
      "a b.png",
      ".\\sub\\..\\a b.png",
    ]
  ) {
    assert.equal(toLocalPath(ref, FIELD, opts).path, want, ref);
  }
  assert.equal(toLocalPath("a b.png", FIELD, opts).relative, true);
  assert.equal(
    toLocalPath("\\\\server\\share\\x.png", FIELD, opts).path,
    "\\\\server\\share\\x.png",
  );
  assert.equal(
    toLocalPath("file://server/share/x.png", FIELD, opts).path,
    "\\\\server\\share\\x.png",
  );
});

Deno.test("Windows containment is case-insensitive and by whole components", () => {
  const root = "C:\\Users\\me\\Pictures";
  assert.equal(isInsideRoot("c:\\users\\ME\\pictures\\a.png", root, { os: "windows" }), true);
  assert.equal(isInsideRoot("C:\\Users\\me\\Pictures-evil\\a.png", root, { os: "windows" }), false);
  assert.equal(isInsideRoot("D:\\Users\\me\\Pictures\\a.png", root, { os: "windows" }), false);
  assert.equal(isInsideRoot("C:\\Users\\me\\Pictures\\..\\x.png", root, { os: "windows" }), false);
  assert.equal(
    isInsideRoot("\\\\server\\share\\x.png", "\\\\SERVER\\share", { os: "windows" }),
    true,
  );
  assert.equal(
    isInsideRoot("\\\\?\\C:\\Users\\me\\Pictures\\a.png", root, { os: "windows" }),
    true,
  );
});

Deno.test("on Windows, escapes and sandbox paths are refused before the disk is touched", async () => {
  const r = resolver({ os: "windows", allowedRoots: ["C:\\Users\\me\\Pictures"] });
  const error = await refused(
    r.resolve("C:\\Users\\me\\Pictures\\..\\Documents\\tax.png", FIELD),
    "outside_roots",
  );
  assert.match(error.message, /\(C:\\Users\\me\\Pictures\)/);
  await refused(r.resolve("c:/users/me/pictures-evil/a.png", FIELD), "outside_roots");
  await refused(r.resolve("/mnt/user-data/uploads/x.png", FIELD), "sandbox_path");
  await refused(r.resolve("C:Pictures\\a.png", FIELD), "bad_reference", /drive-relative/);
  // Inside the root by its spelling, so it gets as far as the (here absent) disk.
  await refused(r.resolve("c:/USERS/me/Pictures/a.png", FIELD), "missing");
});

Deno.test("on Linux a Windows drive path is read as its WSL path and still checked", async () => {
  const local = toLocalPath("C:\\Users\\me\\a.png", FIELD, { os: "linux", base: "/srv" });
  assert.equal(local.path, "/mnt/c/Users/me/a.png");
  const error = await refused(
    resolver({ allowedRoots: ["/srv/images"] }).resolve("C:\\Users\\me\\a.png", FIELD),
    "outside_roots",
  );
  assert.match(error.message, /read as the WSL path \/mnt\/c\/Users\/me\/a\.png, which is outside/);
});

Deno.test("on macOS and Linux, Windows paths that cannot map are refused with the server's OS", async () => {
  await refused(
    resolver({ os: "darwin", allowedRoots: ["/srv/images"] }).resolve("C:\\a.png", FIELD),
    "foreign_path",
    /Windows path and this server runs on macOS/,
  );
  await refused(
    resolver({ allowedRoots: ["/srv/images"] }).resolve("\\\\server\\share\\x.png", FIELD),
    "foreign_path",
    /UNC\) path and this server runs on Linux/,
  );
});

// ---------------------------------------------------------------------------------------------
// Address rules and host allow-list

Deno.test("blockedAddress refuses every non-public range and passes public addresses", () => {
  const blocked: [string, RegExp][] = [
    ["10.0.0.5", /private/],
    ["172.16.0.1", /private/],
    ["172.31.255.255", /private/],
    ["192.168.1.1", /private/],
    ["100.64.0.1", /carrier-grade NAT/],
    ["127.0.0.1", /loopback/],
    ["127.255.255.254", /loopback/],
    ["169.254.169.254", /link-local/],
    ["0.0.0.0", /unspecified/],
    ["224.0.0.1", /multicast/],
    ["255.255.255.255", /reserved/],
    ["::", /unspecified/],
    ["::1", /loopback/],
    ["[::1]", /loopback/],
    ["fe80::1%eth0", /link-local/],
    ["fd00::1", /unique-local/],
    ["fc00::1", /unique-local/],
    ["ff02::1", /multicast/],
    ["::ffff:127.0.0.1", /loopback/],
    ["::ffff:7f00:1", /loopback/],
    ["::ffff:10.0.0.5", /private/],
    ["::ffff:169.254.169.254", /link-local/],
    ["64:ff9b::192.168.0.1", /private/],
    ["2002:c0a8:0101::1", /private/],
    ["::127.0.0.1", /reserved/],
    ["not an address", /unrecognised/],
  ];
  for (const [address, phrase] of blocked) {
    const verdict = blockedAddress(address);
    assert.ok(verdict !== null, `${address} must be blocked`);
    assert.match(verdict.phrase, phrase, address);
  }
  assert.equal(blockedAddress("169.254.169.254")?.note, "the cloud metadata service");
  assert.match(blockedAddress("::ffff:127.0.0.1")?.note ?? "", /IPv4 127\.0\.0\.1 inside IPv6/);
  for (
    const address of [
      "8.8.8.8",
      PUBLIC_V4,
      "172.32.0.1",
      "100.128.0.1",
      "1.1.1.1",
      PUBLIC_V6,
      "2606:4700:4700::1111",
      "::ffff:8.8.8.8",
      "64:ff9b::8.8.8.8",
    ]
  ) {
    assert.equal(blockedAddress(address), null, address);
  }
});

Deno.test("host allow-list matches exact names, subdomain wildcards and `*`", () => {
  const allowed = hostMatcher(["Images.Example.com", "*.cdn.test", "https://full.url.test:8443/x"]);
  assert.equal(allowed("images.example.com"), true);
  assert.equal(allowed("IMAGES.EXAMPLE.COM."), true);
  assert.equal(allowed("a.cdn.test"), true);
  assert.equal(allowed("a.b.cdn.test"), true);
  assert.equal(allowed("cdn.test"), false);
  assert.equal(allowed("evilcdn.test"), false);
  assert.equal(allowed("full.url.test"), true);
  assert.equal(allowed("example.com"), false);
  assert.equal(hostMatcher(["*"])("anything.test"), true);
  assert.equal(hostMatcher([])("anything.test"), false);
});

// ---------------------------------------------------------------------------------------------
// URLs

Deno.test("URL inputs are off until EDIT_ALLOWED_URL_HOSTS is set", async () => {
  await refused(
    resolver().resolve("https://images.example.test/cat.png", FIELD),
    "disabled",
    /set EDIT_ALLOWED_URL_HOSTS/,
  );
});

Deno.test("a URL whose host is not on the allow-list is refused before any lookup", async () => {
  await refused(
    resolver({ allowedUrlHosts: HOSTS }).resolve("https://evil.example/cat.png", FIELD),
    "host_not_allowed",
    /: URL host "evil\.example" is not allowed; set EDIT_ALLOWED_URL_HOSTS/,
  );
});

Deno.test("literal private, loopback, link-local and mapped addresses are refused even when listed", async () => {
  const urls = [
    "http://127.0.0.1/a.png",
    "http://2130706433/a.png",
    "http://0x7f.1/a.png",
    "http://10.0.0.5/a.png",
    "http://169.254.169.254/latest/meta-data/",
    "http://0.0.0.0/a.png",
    "http://100.64.1.1/a.png",
    "http://[::1]/a.png",
    "http://[::]/a.png",
    "http://[::ffff:127.0.0.1]/a.png",
    "http://[fe80::1]/a.png",
    "http://[fd12:3456::1]/a.png",
    "http://localhost/a.png",
    "http://app.localhost/a.png",
  ];
  const hosts = [...urls.map((u) => new URL(u).hostname), "*"];
  const r = resolver({ allowedUrlHosts: hosts });
  for (const url of urls) {
    await refused(r.resolve(url, FIELD), "blocked_address", /which is always refused$/);
  }
  await refused(
    r.resolve("http://169.254.169.254/latest/meta-data/", FIELD),
    "blocked_address",
    /host "169\.254\.169\.254" is a link-local address \(the cloud metadata service\)/,
  );
});

Deno.test("a listed host whose DNS answer is not public is refused and nothing is fetched", async () => {
  const cases: [string, string[], RegExp][] = [
    ["internal.example.test", ["10.0.0.5"], /resolves to a private address \(10\.0\.0\.5\)/],
    ["loop.example.test", ["127.0.0.1"], /loopback address \(127\.0\.0\.1\)/],
    [
      "meta.example.test",
      ["169.254.169.254"],
      /link-local address \(169\.254\.169\.254, the cloud metadata service\)/,
    ],
    ["v6loop.example.test", ["::1"], /loopback address \(::1\)/],
    [
      "mapped.example.test",
      ["::ffff:192.168.0.7"],
      /private address \(::ffff:192\.168\.0\.7, IPv4 192\.168\.0\.7 inside IPv6\)/,
    ],
    ["ula.example.test", ["fd00::5"], /unique-local address/],
    ["cgnat.example.test", ["100.100.0.1"], /carrier-grade NAT/],
    ["mixed.example.test", [PUBLIC_V4, "192.168.0.1"], /private address \(192\.168\.0\.1\)/],
  ];
  for (const [host, answer, message] of cases) {
    const r = resolver({ allowedUrlHosts: [host], resolveDns: dns({ [host]: answer }).resolveDns });
    const error = await refused(
      r.resolve(`https://${host}/a.png`, FIELD),
      "blocked_address",
      message,
    );
    assert.match(
      error.message,
      new RegExp(`URL host "${host.replaceAll(".", "\\.")}" resolves to`),
    );
  }
  await refused(
    resolver({ allowedUrlHosts: ["nowhere.test"], resolveDns: dns({}).resolveDns })
      .resolve("https://nowhere.test/a.png", FIELD),
    "unresolved",
  );
});

Deno.test("an allowed https URL is fetched, checked and named after its path", async () => {
  await using server = serve(imageHost);
  const seen: { url: string; pinned: boolean }[] = [];
  const { asked, resolveDns } = dns(TABLE);
  const input = await resolver({
    allowedUrlHosts: HOSTS,
    resolveDns,
    fetch: routeTo(server.port, seen),
  }).resolve("https://images.example.test/cat.png", FIELD);
  assert.deepEqual(input.bytes, PNG);
  assert.equal(input.mime, "image/png");
  assert.equal(input.source, "url");
  assert.equal(input.filename, "cat.png");
  assert.deepEqual(asked, ["images.example.test"]);
  assert.deepEqual(seen, [{ url: "https://images.example.test/cat.png", pinned: false }]);
  assert.match(server.requests[0].accept ?? "", /image\/png/);
});

Deno.test("an http URL is pinned to the checked address through the client it is fetched with", async () => {
  await using server = serve(imageHost);
  const pins: [string, number][] = [];
  const seen: boolean[] = [];
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = listener.addr.port;
  listener.close();
  const input = await resolver({
    allowedUrlHosts: ["pinned.example.test"],
    resolveDns: dns({ "pinned.example.test": [PUBLIC_V4] }).resolveDns,
    // Nothing listens on deadPort: the request arrives only if it travels over the pinned client.
    fetch: (input, init) => {
      const client = (init as { client?: Deno.HttpClient } | undefined)?.client;
      seen.push(client !== undefined);
      return fetch(`http://127.0.0.1:${deadPort}${new URL(String(input)).pathname}`, init);
    },
    pinnedClient: (address, port) => {
      pins.push([address, port]);
      return Deno.createHttpClient({
        proxy: { transport: "tcp", hostname: "127.0.0.1", port: server.port },
      });
    },
  }).resolve("http://pinned.example.test/cat.png", FIELD);
  assert.deepEqual(input.bytes, PNG);
  assert.deepEqual(pins, [[PUBLIC_V4, 80]]);
  assert.deepEqual(seen, [true]);
  assert.equal(server.requests.length, 1);
});

Deno.test("a generic binary content type is accepted when the bytes are an image", async () => {
  await using server = serve(imageHost);
  const input = await resolver({
    allowedUrlHosts: HOSTS,
    resolveDns: dns(TABLE).resolveDns,
    fetch: routeTo(server.port),
  }).resolve("https://images.example.test/photo", FIELD);
  assert.equal(input.mime, "image/jpeg");
  assert.equal(input.filename, "photo.jpg");
});

Deno.test("an HTML page is refused by its content type and by its bytes", async () => {
  await using server = serve(imageHost);
  const r = resolver({
    allowedUrlHosts: HOSTS,
    resolveDns: dns(TABLE).resolveDns,
    fetch: routeTo(server.port),
  });
  await refused(
    r.resolve("https://images.example.test/page.png", FIELD),
    "not_an_image",
    /served as "text\/html", not as a PNG, JPEG or WebP image/,
  );
  const error = await refused(
    r.resolve("https://images.example.test/lying.png", FIELD),
    "not_an_image",
    /it is text/,
  );
  assert.doesNotMatch(error.message, /secret page/);
  await refused(
    r.resolve("https://images.example.test/missing.png", FIELD),
    "http_status",
    /HTTP 404/,
  );
});

Deno.test("redirects are followed and every hop is checked again", async () => {
  await using server = serve(imageHost);
  const seen: { url: string; pinned: boolean }[] = [];
  const { asked, resolveDns } = dns(TABLE);
  const r = resolver({ allowedUrlHosts: HOSTS, resolveDns, fetch: routeTo(server.port, seen) });
  const input = await r.resolve("https://images.example.test/r/ok", FIELD);
  assert.deepEqual(input.bytes, PNG);
  assert.deepEqual(asked, ["images.example.test", "cdn.example.test"]);
  assert.deepEqual(seen.map((s) => s.url), [
    "https://images.example.test/r/ok",
    "https://cdn.example.test/cat.png",
  ]);
});

Deno.test("a redirect to a private address, a disallowed host or another scheme is refused", async () => {
  await using server = serve(imageHost);
  const seen: { url: string; pinned: boolean }[] = [];
  const r = resolver({
    allowedUrlHosts: HOSTS,
    resolveDns: dns(TABLE).resolveDns,
    fetch: routeTo(server.port, seen),
  });
  await refused(
    r.resolve("https://images.example.test/r/private", FIELD),
    "blocked_address",
    /it redirects to "https:\/\/internal\.example\.test\/cat\.png", whose host "internal\.example\.test" resolves to a private address \(10\.0\.0\.5\)/,
  );
  await refused(
    r.resolve("https://images.example.test/r/evil", FIELD),
    "host_not_allowed",
    /whose host "evil\.example" is not allowed/,
  );
  await refused(
    r.resolve("https://images.example.test/r/metadata", FIELD),
    "blocked_address",
    /cloud metadata service/,
  );
  await refused(r.resolve("https://images.example.test/r/file", FIELD), "unsupported", /file:/);
  assert.ok(
    seen.every((s) => s.url.startsWith("https://images.example.test/r/")),
    "no hop past a refusal",
  );
});

Deno.test("more redirects than allowed are refused", async () => {
  await using server = serve(imageHost);
  const seen: { url: string; pinned: boolean }[] = [];
  await refused(
    resolver({
      allowedUrlHosts: HOSTS,
      resolveDns: dns(TABLE).resolveDns,
      fetch: routeTo(server.port, seen),
      maxRedirects: 2,
    }).resolve("https://images.example.test/r/loop", FIELD),
    "too_many_redirects",
    /more than 2 times/,
  );
  assert.equal(seen.length, 3);
});

Deno.test("an oversize body is refused from its length or cut off while streaming", async () => {
  // 64 MB in 64 KB chunks, made on demand, without a Content-Length.
  const CHUNKS = 1024;
  let sent = 0;
  let settle!: (how: "cancelled" | "finished") => void;
  const settled = new Promise<"cancelled" | "finished">((resolve) => settle = resolve);
  await using server = serve((req) => {
    if (new URL(req.url).pathname !== "/endless") return imageHost(req);
    const chunk = new Uint8Array(64 * 1024);
    chunk.set(PNG.subarray(0, 8));
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === CHUNKS) {
          controller.close();
          settle("finished");
          return;
        }
        sent++;
        controller.enqueue(chunk.slice());
      },
      cancel() {
        settle("cancelled");
      },
    });
    return new Response(body, { headers: { "content-type": "image/png" } });
  });
  const r = resolver({
    allowedUrlHosts: HOSTS,
    resolveDns: dns(TABLE).resolveDns,
    fetch: routeTo(server.port),
    maxBytes: 100_000,
  });
  await refused(r.resolve("https://images.example.test/big", FIELD), "too_large", /97\.7 KB limit/);
  await refused(r.resolve("https://images.example.test/endless", FIELD), "too_large");
  assert.equal(await settled, "cancelled");
  assert.ok(sent < CHUNKS, `the server sent all ${sent} chunks`);
});

Deno.test("a URL that does not answer in time is refused, and a caller abort is passed on", async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => release = resolve);
  await using server = serve(async () => {
    await released;
    return new Response(PNG, { headers: { "content-type": "image/png" } });
  });
  try {
    const options = {
      allowedUrlHosts: HOSTS,
      resolveDns: dns(TABLE).resolveDns,
      fetch: routeTo(server.port),
    };
    await refused(
      resolver({ ...options, timeoutMs: 50 }).resolve("https://images.example.test/slow", FIELD),
      "timeout",
      /no complete answer within 0\.05 s/,
    );
    const controller = new AbortController();
    const pending = resolver(options).resolve(
      "https://images.example.test/slow",
      FIELD,
      controller.signal,
    );
    controller.abort();
    await assert.rejects(
      pending,
      (error) => error instanceof DOMException && error.name === "AbortError",
    );
  } finally {
    release();
  }
});

Deno.test("URLs with credentials and unsupported schemes are refused", async () => {
  const r = resolver({ allowedUrlHosts: ["*"] });
  await refused(
    r.resolve("https://user:pw@images.example.test/a.png", FIELD),
    "bad_reference",
    /user name or password/,
  );
  await refused(
    r.resolve("ftp://images.example.test/a.png", FIELD),
    "unsupported",
    /"ftp:" scheme is not supported; pass an image id/,
  );
  await refused(r.resolve("   ", FIELD), "empty");
});

// ---------------------------------------------------------------------------------------------
// Data URLs

Deno.test("a small base64 data URL is decoded and sniffed", async () => {
  const input = await resolver().resolve(`data:image/png;base64,${PNG.toBase64()}`, FIELD);
  assert.deepEqual(input.bytes, PNG);
  assert.equal(input.source, "data");
  assert.equal(input.filename, "image.png");
});

Deno.test("an oversize data URL is refused without echoing its payload", async () => {
  const big = new Uint8Array(3000);
  big.set(PNG);
  const payload = big.toBase64();
  const error = await refused(
    resolver({ maxDataUrlBytes: 2048 }).resolve(`data:image/png;base64,${payload}`, FIELD),
    "too_large",
    /a data URL may hold at most 2 KB/,
  );
  assert.ok(!error.message.includes(payload.slice(0, 40)));
  assert.match(error.message, /^Cannot use "data:image\/png;base64,…"/);
});

Deno.test("data URLs that are not base64 images are refused", async () => {
  const r = resolver();
  await refused(
    r.resolve("data:text/html;base64,PGI+aGk8L2I+", FIELD),
    "not_an_image",
    /"text\/html"/,
  );
  await refused(r.resolve("data:image/png,%89PNG", FIELD), "bad_reference", /only base64/);
  await refused(r.resolve("data:image/png;base64,***", FIELD), "bad_reference", /not valid base64/);
  await refused(r.resolve(`data:image/png;base64,${HTML.toBase64()}`, FIELD), "not_an_image");
});
