/**
 * The gallery sub-app without a browser (`app.request`): sessions and cookies, CSRF, who may do
 * what, error pages for each failure kind, the event stream, assets and mounting.
 *
 * @module
 */
import assert from "node:assert/strict";
import { Hono } from "hono";
import { createApiKey, revokeApiKey } from "../../src/auth/mod.ts";
import { resolveConfig } from "../../src/config.ts";
import { AppError } from "../../src/errors.ts";
import { createModelRegistry } from "../../src/generation/models.ts";
import { createGalleryApp, type GalleryDeps } from "../../src/http/gallery/mod.ts";
import { eventually } from "../support/eventually.ts";
import { FakeImageService } from "../support/fake_image_service.ts";
import { modelWhere, pinnedClock } from "../support/pinned_time.ts";
import { systemClock } from "../../src/clock.ts";

const TOKEN = "gallery-route-token-0123456789";
const REMOTE = "203.0.113.7";
const LOCAL = "127.0.0.1";

interface Harness extends AsyncDisposable {
  readonly app: Hono;
  readonly images: FakeImageService;
  readonly kv: Deno.Kv;
  /** Sends a request as from `address`, with the cookies collected so far. */
  request(path: string, init?: RequestInit, address?: string): Promise<Response>;
  /** Cookies set by responses so far (name → value). */
  readonly cookies: Map<string, string>;
  /** GETs `path` and returns the page's CSRF token. */
  csrfFrom(path: string, address?: string): Promise<string>;
  /** POSTs a form (with the collected cookies). */
  post(
    path: string,
    fields: Record<string, string>,
    options?: { address?: string; headers?: Record<string, string> },
  ): Promise<Response>;
}

async function harness(
  options: {
    env?: Record<string, string>;
    deps?: Partial<GalleryDeps>;
  } = {},
): Promise<Harness> {
  const kv = await Deno.openKv(":memory:");
  const config = resolveConfig({
    env: { OPENAI_API_KEY: "sk-test", KV_PATH: ":memory:", DATA_DIR: "/srv/data", ...options.env },
    dotenv: {},
    flags: {},
    os: "linux",
    cwd: "/srv",
  });
  const images = new FakeImageService();
  images.policy = { imagesPublic: config.imagesPublic };
  images.limits = config;
  const app = createGalleryApp({
    config,
    images,
    registry: createModelRegistry(),
    kv,
    ...options.deps,
  });
  const cookies = new Map<string, string>();
  const request = async (path: string, init: RequestInit = {}, address = REMOTE) => {
    const headers = new Headers(init.headers);
    if (cookies.size > 0 && !headers.has("cookie")) {
      headers.set("cookie", [...cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    }
    const url = path.startsWith("http") ? path : `http://gallery.test${path}`;
    const response = await app.request(url, { ...init, headers }, {
      remoteAddr: { hostname: address, port: 40000, transport: "tcp" },
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const [name, value] = [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)];
      if (value === "" || /max-age=0/i.test(line)) cookies.delete(name);
      else cookies.set(name, value);
    }
    return response;
  };
  const csrfFrom = async (path: string, address = REMOTE) => {
    const response = await request(path, {}, address);
    const html = await response.text();
    const match = /name="_csrf" value="([^"]+)"/.exec(html);
    assert.ok(match, `a CSRF token on ${path}`);
    return match[1];
  };
  const post = (
    path: string,
    fields: Record<string, string>,
    postOptions: { address?: string; headers?: Record<string, string> } = {},
  ) =>
    request(path, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded", ...postOptions.headers },
      body: new URLSearchParams(fields).toString(),
      redirect: "manual",
    }, postOptions.address);
  return {
    app,
    images,
    kv,
    request,
    cookies,
    csrfFrom,
    post,
    async [Symbol.asyncDispose]() {
      // Jobs a form started run detached from the request: let them finish before closing.
      await images.settled();
      kv.close();
    },
  };
}

Deno.test("pages carry a strict Content-Security-Policy and assets are cached for a year", async () => {
  await using h = await harness();
  const page = await h.request("/");
  assert.equal(page.status, 200);
  const csp = page.headers.get("content-security-policy") ?? "";
  assert.match(csp, /script-src 'self'/);
  assert.match(csp, /style-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(page.headers.get("cache-control"), "no-store");
  const html = await page.text();
  assert.doesNotMatch(html, /\son[a-z]+="/, "no inline event handlers");
  assert.doesNotMatch(html, /style="/, "no inline styles");
  assert.doesNotMatch(html, /(src|href)="https?:/, "no asset from elsewhere");
  const css = /<link rel="stylesheet" href="(\/assets\/gallery\.[0-9a-f]{8}\.css)"/.exec(html)?.[1];
  const js = /<script src="(\/assets\/gallery\.[0-9a-f]{8}\.js)" defer/.exec(html)?.[1];
  assert.ok(css && js);
  const cssResponse = await h.request(css);
  assert.equal(cssResponse.headers.get("content-type"), "text/css; charset=utf-8");
  assert.equal(cssResponse.headers.get("cache-control"), "public, max-age=31536000, immutable");
  const etag = cssResponse.headers.get("etag")!;
  await cssResponse.body?.cancel();
  const again = await h.request(css, { headers: { "if-none-match": etag } });
  assert.equal(again.status, 304);
  const jsResponse = await h.request(js);
  assert.equal(jsResponse.headers.get("content-type"), "text/javascript; charset=utf-8");
  assert.match(await jsResponse.text(), /EventSource/);
  for (const icon of ["/favicon.svg", "/favicon.ico"]) {
    const response = await h.request(icon);
    assert.equal(response.headers.get("content-type"), "image/svg+xml");
    assert.match(await response.text(), /^<svg /);
  }
});

Deno.test("a state-changing form without this site's CSRF token is refused", async () => {
  await using h = await harness();
  const token = await h.csrfFrom("/generate", LOCAL);
  const fields = { prompt: "a red kite" };
  const missing = await h.post("/generate", fields, { address: LOCAL });
  assert.equal(missing.status, 403);
  assert.match(await missing.text(), /reload the page and try again/);
  const wrong = await h.post("/generate", { ...fields, _csrf: `${token.slice(0, -2)}xx` }, {
    address: LOCAL,
  });
  assert.equal(wrong.status, 403);
  await wrong.body?.cancel();
  const crossSite = await h.post("/generate", { ...fields, _csrf: token }, {
    address: LOCAL,
    headers: { origin: "https://evil.example" },
  });
  assert.equal(crossSite.status, 403);
  await crossSite.body?.cancel();
  const fetchMeta = await h.post("/generate", { ...fields, _csrf: token }, {
    address: LOCAL,
    headers: { "sec-fetch-site": "cross-site" },
  });
  assert.equal(fetchMeta.status, 403);
  await fetchMeta.body?.cancel();
  assert.equal(h.images.calls.length, 0, "nothing was started");
  // Without the cookie the token alone is worthless (double submit).
  const nonce = new Map(h.cookies);
  h.cookies.clear();
  const noCookie = await h.post("/generate", { ...fields, _csrf: token }, { address: LOCAL });
  assert.equal(noCookie.status, 403);
  await noCookie.body?.cancel();
  for (const [k, v] of nonce) h.cookies.set(k, v);
  const ok = await h.post("/generate", { ...fields, _csrf: token }, {
    address: LOCAL,
    headers: { origin: "http://gallery.test", "sec-fetch-site": "same-origin" },
  });
  assert.equal(ok.status, 303);
  assert.match(ok.headers.get("location") ?? "", /^\/jobs\/[0-9a-f-]{36}$/);
  assert.equal(h.images.calls.length, 1);
  assert.equal(h.images.calls[0].input.prompt, "a red kite");
  assert.equal(h.images.calls[0].options.door, "http");
  assert.equal(h.images.calls[0].options.principal.id, `ip:${LOCAL}`);
});

Deno.test("with auth off a loopback caller is an admin and a remote caller a plain user", async () => {
  await using h = await harness();
  const record = await h.images.seed({ prompt: "a lighthouse" });
  const local = await (await h.request(`/gallery/${record.id}`, {}, LOCAL)).text();
  assert.match(local, /Delete permanently/);
  assert.match(local, /Local admin/);
  const mine = await h.images.seed({ prompt: "my own", creator: `ip:${REMOTE}` });
  const own = await (await h.request(`/gallery/${mine.id}`, {}, REMOTE)).text();
  assert.match(own, /Delete permanently/, "a user may delete its own images");
  const remote = await h.request(`/gallery/${record.id}`, {}, REMOTE);
  assert.equal(remote.status, 403, "nor see another's");
  await remote.body?.cancel();
  const token = await h.csrfFrom("/generate", REMOTE);
  const refused = await h.post(`/gallery/${record.id}/delete`, { _csrf: token });
  assert.equal(refused.status, 403);
  assert.match(await refused.text(), /belongs to another key/);
  assert.ok(h.images.store.has(record.id), "the image is still there");
  const localToken = await h.csrfFrom(`/gallery/${record.id}`, LOCAL);
  const deleted = await h.post(`/gallery/${record.id}/delete`, { _csrf: localToken }, {
    address: LOCAL,
  });
  assert.equal(deleted.status, 303);
  assert.equal(deleted.headers.get("location"), "/?notice=deleted");
  assert.equal(h.images.store.has(record.id), false);
});

Deno.test("signing in sets an HttpOnly, SameSite=Strict session cookie, Secure over https", async () => {
  await using h = await harness({ env: { MCP_AUTH_TOKEN: TOKEN } });
  const token = await h.csrfFrom("https://gallery.test/login?next=/generate");
  assert.ok(h.cookies.has("__Host-gallery_csrf"), "the CSRF cookie has the __Host- prefix");
  const response = await h.post("https://gallery.test/login", {
    _csrf: token,
    key: TOKEN,
    next: "/generate",
  });
  assert.equal(response.status, 303);
  assert.equal(response.headers.get("location"), "/generate");
  const cookie = response.headers.getSetCookie().find((c) =>
    c.startsWith("__Host-gallery_session=")
  );
  assert.ok(cookie, "a session cookie is set");
  assert.match(cookie, /; HttpOnly/);
  assert.match(cookie, /; Secure/);
  assert.match(cookie, /; SameSite=Strict/);
  assert.match(cookie, /; Path=\//);
  assert.ok(!cookie.includes(TOKEN), "the cookie is not the key");
  const page = await h.request("https://gallery.test/generate");
  assert.equal(page.status, 200);
  assert.match(await page.text(), /Signed in as <strong>MCP_AUTH_TOKEN<\/strong>/);
  // Over plain http the cookie has no prefix and no Secure flag (it could not be set otherwise).
  await using plain = await harness({ env: { MCP_AUTH_TOKEN: TOKEN } });
  const plainToken = await plain.csrfFrom("/login");
  const plainResponse = await plain.post("/login", { _csrf: plainToken, key: TOKEN, next: "/" });
  const plainCookie = plainResponse.headers.getSetCookie().find((c) =>
    c.startsWith("gallery_session=")
  );
  assert.ok(plainCookie);
  assert.doesNotMatch(plainCookie, /Secure/);
});

Deno.test("a wrong key gets no session, and sign-in never redirects off the site", async () => {
  await using h = await harness({ env: { MCP_AUTH_TOKEN: TOKEN } });
  const token = await h.csrfFrom("/login");
  const wrong = await h.post("/login", { _csrf: token, key: "oig_wrong", next: "/" });
  assert.equal(wrong.status, 401);
  assert.match(await wrong.text(), /That key was not accepted/);
  assert.ok(!h.cookies.has("gallery_session"));
  for (const next of ["//evil.example/", "https://evil.example/", "/\\evil.example"]) {
    h.cookies.delete("gallery_session");
    const response = await h.post("/login", { _csrf: token, key: TOKEN, next });
    assert.equal(response.status, 303);
    assert.equal(response.headers.get("location"), "/", `next=${next} is ignored`);
  }
});

Deno.test("revoking a key ends its gallery session on the next page", async () => {
  await using h = await harness({ env: { MCP_AUTH_TOKEN: TOKEN } });
  const { key, record } = await createApiKey(h.kv, {
    name: "Robin",
    role: "user",
    now: systemClock,
  });
  const token = await h.csrfFrom("/login");
  const signIn = await h.post("/login", { _csrf: token, key, next: "/generate" });
  assert.equal(signIn.status, 303);
  const before = await h.request("/generate");
  assert.equal(before.status, 200);
  assert.match(await before.text(), /Robin/);
  await revokeApiKey(h.kv, record.id, { now: systemClock });
  const after = await h.request("/generate", { redirect: "manual" });
  assert.equal(after.status, 303);
  assert.equal(after.headers.get("location"), "/login?next=%2Fgenerate");
});

Deno.test("signing out ends the session", async () => {
  await using h = await harness({ env: { MCP_AUTH_TOKEN: TOKEN } });
  const token = await h.csrfFrom("/login");
  await h.post("/login", { _csrf: token, key: TOKEN, next: "/" });
  const sessionToken = await h.csrfFrom("/generate");
  const stolen = h.cookies.get("gallery_session")!;
  const out = await h.post("/logout", { _csrf: sessionToken });
  assert.equal(out.status, 303);
  assert.ok(!h.cookies.has("gallery_session"));
  // The old cookie no longer works either.
  const replay = await h.request("/generate", {
    headers: { cookie: `gallery_session=${stolen}` },
    redirect: "manual",
  });
  assert.equal(replay.status, 303);
});

Deno.test("with IMAGES_PUBLIC=false the gallery needs a session; otherwise only generating does", async () => {
  await using closed = await harness({ env: { MCP_AUTH_TOKEN: TOKEN, IMAGES_PUBLIC: "false" } });
  const page = await closed.request("/?q=kite", { redirect: "manual" });
  assert.equal(page.status, 303);
  assert.equal(page.headers.get("location"), "/login?next=%2F%3Fq%3Dkite");
  await using open = await harness({ env: { MCP_AUTH_TOKEN: TOKEN } });
  const record = await open.images.seed({ prompt: "a kite" });
  assert.equal((await open.request("/")).status, 200);
  const detail = await (await open.request(`/gallery/${record.id}`)).text();
  assert.match(detail, /Sign in<\/a> to edit images/);
  assert.doesNotMatch(detail, /Delete permanently/);
  const generate = await open.request("/generate", { redirect: "manual" });
  assert.equal(generate.status, 303);
});

Deno.test("the generate form states the hourly cap that applies to the viewer", async () => {
  await using local = await harness();
  const free = await (await local.request("/generate", {}, LOCAL)).text();
  assert.doesNotMatch(free, /images per hour/, "a loopback bind with auth off has no cap");
  await using public_ = await harness({
    env: { HOST: "0.0.0.0", ALLOW_UNAUTHENTICATED: "true" },
  });
  const capped = await (await public_.request("/generate")).text();
  assert.match(capped, /up to 10 images per hour/);
});

Deno.test("an exhausted hourly allowance is explained with the time to retry", async () => {
  await using h = await harness({ env: { IMAGE_GENERATION_RATE_LIMIT: "1" } });
  const token = await h.csrfFrom("/generate", LOCAL);
  const first = await h.post("/generate", { _csrf: token, prompt: "one" }, { address: LOCAL });
  assert.equal(first.status, 303);
  // The core refuses (its limits are tested with the real core); the page explains it.
  h.images.generate = () =>
    Promise.reject(
      new AppError(
        "rate_limited",
        "Image generation limit reached: 0 of 1 images left this hour, 1 requested; try again in 3599 s",
        { retryAfterSeconds: 3599 },
      ),
    );
  const second = await h.post("/generate", { _csrf: token, prompt: "two" }, { address: LOCAL });
  assert.equal(second.status, 429);
  assert.ok(Number(second.headers.get("retry-after")) > 0);
  const html = await second.text();
  assert.match(html, /data-error-kind="rate_limited"/);
  assert.match(html, /Rate limit reached/);
  assert.match(html, /Try again in \d+ (s|min)/);
  assert.match(html, />two<\/textarea>/, "the prompt is kept");
});

Deno.test("a missing OpenAI key and a spent budget say what to do", async () => {
  await using h = await harness();
  h.images.generate = () =>
    Promise.reject(
      new AppError(
        "missing_api_key",
        "Cannot generate images: no OpenAI API key is configured (set OPENAI_API_KEY)",
      ),
    );
  const token = await h.csrfFrom("/generate", LOCAL);
  const missing = await h.post("/generate", { _csrf: token, prompt: "a kite" }, { address: LOCAL });
  assert.equal(missing.status, 503);
  const html = await missing.text();
  assert.match(html, /No OpenAI API key configured/);
  assert.match(html, /set OPENAI_API_KEY/);

  await using b = await harness();
  b.images.failNext = new AppError(
    "budget_exceeded",
    "Monthly budget of $5.00 reached for this key",
  );
  const budgetToken = await b.csrfFrom("/generate", LOCAL);
  const started = await b.post("/generate", { _csrf: budgetToken, prompt: "a kite" }, {
    address: LOCAL,
  });
  assert.equal(started.status, 303);
  const jobPath = started.headers.get("location")!;
  // The job settles on its own; the page then shows the failure.
  let page = "";
  await eventually(async () => {
    page = await (await b.request(jobPath, {}, LOCAL)).text();
    return page.includes('data-job-state="failed"');
  }, "the job page to show the failure");
  assert.match(page, /Monthly budget used up/);
  assert.match(page, /Monthly budget of \$5\.00 reached/);
});

Deno.test("a validation error keeps the form values and names the problem", async () => {
  await using h = await harness();
  const token = await h.csrfFrom("/generate", LOCAL);
  const response = await h.post("/generate", {
    _csrf: token,
    prompt: "a kite",
    size: "1024x1024",
    size_custom: "huge",
    quality: "high",
  }, { address: LOCAL });
  assert.equal(response.status, 400);
  const html = await response.text();
  assert.match(html, /The request was not accepted/);
  assert.match(html, /Invalid size &quot;huge&quot;/);
  assert.match(html, /value="huge"/);
  assert.match(html, /<option value="high" selected>/);
  const empty = await h.post("/generate", { _csrf: token, prompt: "  " }, { address: LOCAL });
  assert.equal(empty.status, 400);
  assert.match(await empty.text(), /Enter a prompt/);
});

Deno.test("the generate form offers only what the default model accepts, plus data for others", async () => {
  // Which models are offered depends on the day: judge it on a pinned one.
  await using h = await harness({ deps: { now: pinnedClock } });
  const listedSizesOnly = modelWhere({ where: (m) => m.sizeRule === null });
  const html = await (await h.request("/generate", {}, LOCAL)).text();
  const select = (id: string) =>
    [...(new RegExp(`<select id="${id}"[^>]*>(.*?)</select>`).exec(html)?.[1] ?? "")
      .matchAll(/<option value="([^"]*)"/g)].map((m) => m[1]);
  assert.deepEqual(select("size"), ["1024x1024", "1536x1024", "1024x1536", "auto"]);
  assert.deepEqual(select("quality"), ["low", "medium", "high", "auto"]);
  assert.deepEqual(select("output_format"), ["png", "jpeg", "webp"]);
  const models = select("model");
  assert.ok(models.includes("gpt-image-2"));
  assert.ok(!models.includes("dall-e-3"), "retired models are not offered");
  const data = JSON.parse(
    /<script type="application\/json" id="model-choices">(.*?)<\/script>/s
      .exec(html)![1],
  ) as { id: string; qualities: [string, string][]; customSize: boolean }[];
  const sunburst = data.find((m) => m.id === "gpt-image-2.5-sunburst")!;
  assert.ok(sunburst.qualities.some(([q]) => q === "xhigh"));
  assert.equal(data.find((m) => m.id === listedSizesOnly.id)?.customSize, false);
});

Deno.test("the event stream reports progress, partial images and then the finished images", async () => {
  await using h = await harness();
  let release!: () => void;
  h.images.hold = new Promise<void>((resolve) => release = resolve);
  const token = await h.csrfFrom("/generate", LOCAL);
  const started = await h.post("/generate", {
    _csrf: token,
    prompt: "a kite",
    partial_images: "2",
  }, { address: LOCAL });
  const jobPath = started.headers.get("location")!;
  // Without JavaScript the running page refreshes itself.
  const running = await (await h.request(jobPath, {}, LOCAL)).text();
  assert.match(running, /<noscript><meta http-equiv="refresh" content="2"><\/noscript>/);
  assert.match(running, /<img src="data:image\/png;base64,/, "partial images are shown");
  const events = await h.request(`${jobPath}/events`, {}, LOCAL);
  assert.equal(events.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const reader = events.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("event: progress")) text += (await reader.read()).value ?? "";
  assert.match(text, /event: partial\ndata: \{"index":0,"dataUrl":"data:image\/png;base64,/);
  release();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
  }
  const done = /event: done\ndata: (.*)\n/.exec(text);
  assert.ok(done, "a done event");
  const payload = JSON.parse(done[1]);
  assert.equal(payload.imageIds.length, 1);
  assert.ok(h.images.store.has(payload.imageIds[0]));
  const finished = await (await h.request(jobPath, {}, LOCAL)).text();
  assert.match(finished, /Your image is ready/);
  assert.doesNotMatch(finished, /http-equiv="refresh"/);
});

Deno.test("an edit starts with the image's id as its input", async () => {
  await using h = await harness();
  const record = await h.images.seed({ prompt: "a lighthouse", model: "gpt-image-2" });
  const token = await h.csrfFrom(`/gallery/${record.id}`, LOCAL);
  const response = await h.post(`/gallery/${record.id}/edit`, {
    _csrf: token,
    prompt: "make it night",
  }, { address: LOCAL });
  assert.equal(response.status, 303);
  assert.equal(h.images.calls[0].method, "edit");
  assert.deepEqual(h.images.calls[0].input, {
    prompt: "make it night",
    images: [record.id],
    model: "gpt-image-2",
  });
});

Deno.test("the gallery pages with cursor links, newest first", async () => {
  await using h = await harness();
  const start = Date.UTC(2026, 10, 1);
  for (let i = 0; i < 30; i++) {
    await h.images.seed({ prompt: `image ${i}`, created: start + i, creator: `ip:${REMOTE}` });
  }
  const first = await (await h.request("/")).text();
  assert.equal([...first.matchAll(/<li class="card">/g)].length, 24);
  assert.match(first, /alt="image 29"/);
  const next = /<a class="button next" rel="next" href="([^"]+)"/.exec(first)?.[1];
  assert.ok(next);
  const second = await (await h.request(next.replaceAll("&amp;", "&"))).text();
  assert.equal([...second.matchAll(/<li class="card">/g)].length, 6);
  assert.match(second, /alt="image 0"/);
  assert.match(second, /Newest images/);
  assert.doesNotMatch(second, /rel="next"/);
  const stale = await h.request("/?cursor=not-a-cursor");
  assert.match(await stale.text(), /This page link is no longer valid/);
});

Deno.test("each card shows lazy thumbnail with size, prompt as alt text, model, cost and age", async () => {
  await using h = await harness({ deps: { now: () => Date.UTC(2026, 10, 20, 12, 5) } });
  const record = await h.images.seed({
    prompt: "a red kite over dunes",
    created: Date.UTC(2026, 10, 20, 12, 0),
    creator: `ip:${REMOTE}`,
  });
  record.width = 1536;
  record.height = 1024;
  record.costUsd = 0.042;
  const html = await (await h.request("/")).text();
  const card = /<li class="card">.*?<\/li>/s.exec(html)![0];
  assert.match(card, /src="\/images\/[0-9a-f-]+\.png\/thumb"/);
  assert.match(card, /alt="a red kite over dunes"/);
  assert.match(card, /width="256" height="171"/);
  assert.match(card, /loading="lazy"/);
  assert.match(card, /gpt-image-2/);
  assert.match(card, /1536 × 1024/);
  assert.match(card, /\$0\.042/);
  assert.match(card, /5 min ago/);
});

Deno.test("mounted at / the gallery leaves the parent's other routes untouched", async () => {
  await using h = await harness();
  const parent = new Hono();
  parent.get("/health", (c) => c.json({ status: "ok" }));
  parent.route("/", h.app);
  const health = await parent.request("/health");
  assert.deepEqual(await health.json(), { status: "ok" });
  assert.equal(health.headers.get("content-security-policy"), null);
  assert.equal(health.headers.get("set-cookie"), null);
  const gallery = await parent.request("/");
  assert.equal(gallery.status, 200);
  await gallery.body?.cancel();
  // The gallery's own error pages still apply to its routes.
  const missing = await parent.request("/gallery/0192f0c4-5a1e-7c3b-9d2e-3f4a5b6c7d8e");
  assert.equal(missing.status, 404);
  assert.match(missing.headers.get("content-type") ?? "", /text\/html/);
  await missing.body?.cancel();
});

Deno.test("an image URL function from the deps is used for thumbnails, full images and links", async () => {
  await using h = await harness({
    deps: {
      imageUrl: (record, kind) =>
        `/images/${record.fileName}${kind === "thumb" ? "/thumb" : ""}?sig=x`,
    },
  });
  const record = await h.images.seed({ prompt: "signed", creator: `ip:${REMOTE}` });
  const grid = await (await h.request("/")).text();
  assert.match(grid, new RegExp(`src="/images/${record.fileName}/thumb\\?sig=x"`));
  const detail = await (await h.request(`/gallery/${record.id}`)).text();
  assert.match(detail, new RegExp(`<img src="/images/${record.fileName}\\?sig=x"`));
  assert.match(detail, new RegExp(`value="http://gallery.test/images/${record.fileName}\\?sig=x"`));
});

Deno.test("unknown images and jobs answer a 404 page", async () => {
  await using h = await harness();
  const image = await h.request("/gallery/0192f0c4-5a1e-7c3b-9d2e-3f4a5b6c7d8e");
  assert.equal(image.status, 404);
  assert.match(await image.text(), /Not found/);
  const job = await h.request("/jobs/0192f0c4-5a1e-7c3b-9d2e-3f4a5b6c7d8e", {}, LOCAL);
  assert.equal(job.status, 404);
  await job.body?.cancel();
  const shortcut = await h.request("/i/abc", { redirect: "manual" });
  assert.equal(shortcut.status, 301);
  assert.equal(shortcut.headers.get("location"), "/gallery/abc");
});

Deno.test("only whoever started a generation, or an admin, may cancel it", async () => {
  await using h = await harness();
  let release!: () => void;
  h.images.hold = new Promise<void>((resolve) => release = resolve);
  const token = await h.csrfFrom("/generate", REMOTE);
  const started = await h.post("/generate", { _csrf: token, prompt: "a kite" });
  const jobPath = started.headers.get("location")!;
  assert.match(await (await h.request(jobPath)).text(), /Cancel<\/button>/);
  const other = "198.51.100.9";
  const page = await (await h.request(jobPath, {}, other)).text();
  assert.doesNotMatch(page, /Cancel<\/button>/);
  const otherToken = await h.csrfFrom("/generate", other);
  const refused = await h.post(`${jobPath}/cancel`, { _csrf: otherToken }, { address: other });
  assert.equal(refused.status, 403);
  await refused.body?.cancel();
  const own = await h.post(`${jobPath}/cancel`, { _csrf: token });
  assert.equal(own.status, 303);
  const adminToken = await h.csrfFrom(jobPath, LOCAL);
  const admin = await h.post(`${jobPath}/cancel`, { _csrf: adminToken }, { address: LOCAL });
  assert.equal(admin.status, 303);
  release();
});

Deno.test("wrong sign-in keys lock the address out for a while, but never the right key", async () => {
  await using h = await harness({ env: { MCP_AUTH_TOKEN: TOKEN, AUTH_FAILURE_LIMIT: "2/15m" } });
  const token = await h.csrfFrom("/login");
  for (let i = 0; i < 2; i++) {
    const wrong = await h.post("/login", { _csrf: token, key: `wrong-${i}`, next: "/" });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
  }
  const limited = await h.post("/login", { _csrf: token, key: "wrong-2", next: "/" });
  assert.equal(limited.status, 429);
  assert.ok(Number(limited.headers.get("retry-after")) > 0);
  assert.match(await limited.text(), /Too many attempts: try again in \d+ s/);
  const elsewhere = await h.csrfFrom("/login", "198.51.100.99");
  const other = await h.post("/login", { _csrf: elsewhere, key: "wrong-3", next: "/" }, {
    address: "198.51.100.99",
  });
  assert.equal(other.status, 401, "another address has its own count");
  await other.body?.cancel();
  const right = await h.post("/login", { _csrf: token, key: TOKEN, next: "/" });
  assert.equal(right.status, 303, "the right key signs in even from the locked-out address");
  assert.ok(h.cookies.has("gallery_session"));
});
