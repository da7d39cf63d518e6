/**
 * End-to-end: the hostile-client findings of issue #16, each replayed against the real service
 * process (default settings: loopback bind, auth off) on a real socket with the fake upstream
 * behind it. A web page can neither spend nor delete through a local instance — not by a
 * CORS-safelisted body (`text/plain`, forms, multipart), not from a foreign Origin (nor one that
 * merely starts like a loopback one), not by DNS rebinding — and with auth on, failed credentials
 * are throttled per address and `/metrics` needs a key.
 */
import assert from "node:assert/strict";
import { type HttpServerProcess, withHttpService } from "./support/http_server.ts";
import { initializeLine } from "./support/initialize.ts";
import { raw, statusOf } from "./support/raw_http.ts";

const TOKEN = "edge-e2e-admin-token-5b2c7d";

/** Generates one image through the REST door as a well-behaved local client; its id. */
async function generate(server: HttpServerProcess, headers: Record<string, string> = {}) {
  const response = await fetch(`${server.url}/mcp`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify({ prompt: "a lighthouse", save: true }),
  });
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body.data.id as string;
}

/** The ids of the stored images, newest first. */
async function imageIds(server: HttpServerProcess): Promise<string[]> {
  const response = await fetch(`${server.url}/v1/images?limit=100`);
  assert.equal(response.status, 200);
  return ((await response.json()).data as { id: string }[]).map((image) => image.id);
}

/** A raw HTTP/1.1 request with exactly these headers (fetch would not send a foreign Host). */
function rawRequest(
  method: string,
  path: string,
  headers: Record<string, string>,
  body = "",
): string {
  const lines = [`${method} ${path} HTTP/1.1`, "Connection: close"];
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
  if (body !== "") lines.push(`Content-Length: ${new TextEncoder().encode(body).length}`);
  return `${lines.join("\r\n")}\r\n\r\n${body}`;
}

Deno.test("a web page can neither spend nor delete through a local instance without auth", async (t) => {
  await withHttpService({ IMAGE_MAX_COUNT: "1" }, async ({ server, fake }) => {
    const first = await generate(server);
    const second = await generate(server);
    /** Runs `fn` and asserts that it reached the upstream zero times and deleted nothing. */
    const spendsAndDeletesNothing = async (fn: () => Promise<void>) => {
      const calls = fake.requests.length;
      const before = await imageIds(server);
      await fn();
      assert.equal(fake.requests.length, calls, "nothing reached the upstream");
      assert.deepEqual(await imageIds(server), before, "nothing was deleted");
    };

    await t.step("finding 1: a foreign page's text/plain POST /mcp is refused", async () => {
      await spendsAndDeletesNothing(async () => {
        const plain = await fetch(`${server.url}/mcp`, {
          method: "POST",
          headers: { "Content-Type": "text/plain", Origin: "https://evil.example" },
          body: JSON.stringify({ prompt: "spent by a stranger" }),
        });
        assert.equal(plain.status, 403, await plain.text());
        const unlabelled = await fetch(`${server.url}/mcp`, {
          method: "POST",
          headers: { "Content-Type": "text/plain" },
          body: JSON.stringify({ prompt: "spent by a text/plain body" }),
        });
        assert.equal(unlabelled.status, 400, "a JSON API refuses text/plain from anyone");
        assert.match((await unlabelled.json()).error, /Unsupported Content-Type "text\/plain"/);
      });
    });

    await t.step("finding 1: a foreign page's multipart edit does not run", async () => {
      await spendsAndDeletesNothing(async () => {
        const form = new FormData();
        form.set("prompt", "edited by a stranger");
        form.set(
          "image",
          new Blob([await (await fetch(`${server.url}/images/${first}.png`)).bytes()]),
          "a.png",
        );
        const edit = await fetch(`${server.url}/v1/images/edits`, {
          method: "POST",
          headers: { Origin: "https://evil.example" },
          body: form,
        });
        assert.equal(edit.status, 403, await edit.text());
      });
    });

    await t.step("finding 1: a text/plain POST /admin/images/cleanup deletes nothing", async () => {
      await spendsAndDeletesNothing(async () => {
        const cleanup = await fetch(`${server.url}/admin/images/cleanup`, {
          method: "POST",
          headers: { "Content-Type": "text/plain" },
          body: JSON.stringify({ dryRun: false }),
        });
        assert.equal(cleanup.status, 400, await cleanup.text());
      });
    });

    await t.step(
      "finding 1: a DNS-rebound page gets neither the gallery nor a delete",
      async () => {
        // A page on rebind.attacker.example that now resolves to 127.0.0.1 sends its own name as
        // Host, and may hold a valid CSRF token (say, from before the rebinding) and send a
        // matching Origin.
        const rebound = `rebind.attacker.example:${new URL(server.url).port}`;
        await spendsAndDeletesNothing(async () => {
          const page = await raw(server, rawRequest("GET", "/", { Host: rebound }));
          assert.equal(statusOf(page), 403, page.slice(0, 300));
          assert.doesNotMatch(page, /name="_csrf"/);
          const detail = await fetch(`${server.url}/gallery/${second}`);
          const token = /name="_csrf" value="([^"]+)"/.exec(await detail.text())?.[1];
          const nonce = /gallery_csrf=([^;]+)/.exec(detail.headers.get("set-cookie") ?? "")?.[1];
          assert.ok(token && nonce, "the gallery's own page carries a CSRF token and its cookie");
          const remove = await raw(
            server,
            rawRequest("POST", `/gallery/${second}/delete`, {
              Host: rebound,
              Origin: `http://${rebound}`,
              Cookie: `gallery_csrf=${nonce}`,
              "Content-Type": "application/x-www-form-urlencoded",
            }, `_csrf=${encodeURIComponent(token)}`),
          );
          assert.equal(statusOf(remove), 403, remove.slice(0, 300));
        });
        const health = await raw(server, rawRequest("GET", "/health", { Host: rebound }));
        assert.equal(statusOf(health), 200, "/health answers whatever the Host (probes)");
        const own = await raw(server, rawRequest("GET", "/", { Host: new URL(server.url).host }));
        assert.equal(statusOf(own), 200, "the service's own name still works");
      },
    );

    await t.step(
      "finding 2: a JSON body labelled multipart is not parsed by a JSON API",
      async () => {
        await spendsAndDeletesNothing(async () => {
          const mislabelled = await fetch(`${server.url}/mcp`, {
            method: "POST",
            headers: { "Content-Type": "multipart/form-data; boundary=x" },
            body: JSON.stringify({ prompt: "a mislabelled one", pad: "x".repeat(6 * 1024 * 1024) }),
          });
          assert.ok([400, 413].includes(mislabelled.status), `HTTP ${mislabelled.status}`);
          await mislabelled.body?.cancel();
        });
      },
    );

    await t.step(
      "finding 3: an Origin that only starts like a loopback one is refused",
      async () => {
        await spendsAndDeletesNothing(async () => {
          const origin = "http://127.0.0.1.evil.example";
          const generation = await fetch(`${server.url}/v1/images/generations`, {
            method: "POST",
            headers: { "Content-Type": "application/json", Origin: origin },
            body: JSON.stringify({ prompt: "spent through a prefix" }),
          });
          assert.equal(generation.status, 403, await generation.text());
          const initialize = await fetch(`${server.url}/mcp`, {
            method: "POST",
            headers: {
              "Content-Type": "application/json",
              Accept: "application/json, text/event-stream",
              Origin: origin,
            },
            body: initializeLine("evil"),
          });
          assert.equal(initialize.status, 403);
          await initialize.body?.cancel();
        });
      },
    );
  });
});

Deno.test("with auth on, failed keys lock an address out but never a valid key, and /metrics needs a key", async (t) => {
  await withHttpService(
    { MCP_AUTH_TOKEN: TOKEN, AUTH_FAILURE_LIMIT: "5/1m" },
    async ({ server }) => {
      const get = (path: string, token?: string) =>
        fetch(`${server.url}${path}`, {
          headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
        });

      await t.step(
        "finding 7: /metrics (with cost figures) needs a key once auth is on",
        async () => {
          const anonymous = await get("/metrics");
          assert.equal(anonymous.status, 401);
          await anonymous.body?.cancel();
          const scraped = await get("/metrics", TOKEN);
          assert.equal(scraped.status, 200);
          assert.match(await scraped.text(), /^# HELP /m);
        },
      );

      await t.step(
        "finding 4: failed bearer tokens are throttled per address in every door",
        async () => {
          const doors = ["/v1/models", "/mcp", "/admin/keys", "/metrics", "/v1/images"];
          for (let i = 0; i < 5; i++) {
            const wrong = await get(doors[i], `wrong-key-${i}`);
            assert.ok([401, 403].includes(wrong.status), `${doors[i]}: HTTP ${wrong.status}`);
            await wrong.body?.cancel();
          }
          for (const door of doors) {
            const locked = await get(door, "wrong-key-again");
            assert.equal(locked.status, 429, `${door} after five failures`);
            assert.ok(Number(locked.headers.get("retry-after")) > 0, `${door}: Retry-After`);
            await locked.body?.cancel();
            const valid = await get(door, TOKEN);
            assert.equal(valid.status, 200, `${door}: the valid key still works from that address`);
            await valid.body?.cancel();
          }
          assert.match(server.stderr(), /sent 5 failed credentials/, "the lockout is logged once");
        },
      );
    },
  );
});
