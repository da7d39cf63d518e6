/**
 * End-to-end: in every HTTP door (REST `POST /mcp`, `/v1/images/generations`, `/v1/images/edits`,
 * remote MCP tools, the gallery form) a request the core refuses is a 400 naming the field — also
 * once the hourly allowance is spent — and costs no allowance: validation runs before any limit,
 * so a typo never answers 429.
 *
 * One service process with `IMAGE_GENERATION_RATE_LIMIT=1`; each door is its own caller (a
 * distinct `X-Forwarded-For` behind `TRUST_PROXY`), so each has an allowance of exactly one image.
 * Per door: bad requests → 400 each; a good one → 200; the same bad requests → 400 again (not
 * 429); a second good one → 429.
 */
import assert from "node:assert/strict";
import { TINY_PNG } from "../support/fake_image_service.ts";
import { type HttpServerProcess, withHttpService } from "./support/http_server.ts";
import { eventually } from "../support/eventually.ts";

/** Requests that pass each door's own body schema but not the core's per-model validation. */
const BAD_FIELDS: readonly { field: string; values: Record<string, string> }[] = [
  { field: "size", values: { size: "999x999" } },
  { field: "quality", values: { quality: "ultra" } },
  { field: "model", values: { model: "no-such-model" } },
  // A NUL survives JSON, multipart and form encoding alike; the core refuses it in every door.
  { field: "prompt", values: { prompt: "a fox\u0000 in the snow" } },
];

const ENV = { IMAGE_GENERATION_RATE_LIMIT: "1", TRUST_PROXY: "true", LOG_LEVEL: "info" };

/** One door, driven as one caller. */
interface Door {
  /** Sends a request with `values` added to a valid one; asserts a 400-like refusal naming `field`. */
  refusesNaming(field: string, values: Record<string, string>): Promise<void>;
  /** Sends a valid request; asserts it succeeded (true) or was refused by a limit (false). */
  generates(expected: boolean): Promise<void>;
}

/** The sequence every door must pass, with an hourly allowance of one image. */
async function assertValidationFirst(door: Door): Promise<void> {
  for (const bad of BAD_FIELDS) await door.refusesNaming(bad.field, bad.values);
  await door.generates(true);
  // The allowance is spent now: a bad request must still be told what is wrong, not 429.
  for (const bad of BAD_FIELDS) await door.refusesNaming(bad.field, bad.values);
  await door.generates(false);
}

function caller(address: string): Record<string, string> {
  return { "X-Forwarded-For": address };
}

async function postJson(
  server: HttpServerProcess,
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** Sends one MCP `tools/call` over stateless Streamable HTTP as the caller `headers` name. */
function postToolCall(
  server: HttpServerProcess,
  headers: Record<string, string>,
  id: number,
  name: string,
  args: Record<string, unknown>,
): Promise<Response> {
  return fetch(`${server.url}/mcp`, {
    method: "POST",
    headers: {
      ...headers,
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
    },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id,
      method: "tools/call",
      params: { name, arguments: args },
    }),
  });
}

const GOOD = { prompt: "a fox", quality: "low" };

Deno.test("a bad request is a 400 naming the field and costs no allowance, in every HTTP door", async (t) => {
  await withHttpService(ENV, async ({ server }) => {
    await t.step("REST POST /mcp", async () => {
      const from = caller("198.51.100.1");
      await assertValidationFirst({
        async refusesNaming(field, values) {
          const answer = await postJson(server, "/mcp", { ...GOOD, ...values }, from);
          assert.equal(answer.status, 400, JSON.stringify(answer.body));
          assert.equal(answer.body.success, false);
          assert.equal(answer.body.field, field);
        },
        async generates(expected) {
          const answer = await postJson(server, "/mcp", GOOD, from);
          assert.equal(answer.status, expected ? 200 : 429, JSON.stringify(answer.body));
        },
      });
    });

    await t.step("POST /v1/images/generations", async () => {
      const from = caller("198.51.100.2");
      const path = "/v1/images/generations";
      await assertValidationFirst({
        async refusesNaming(field, values) {
          const answer = await postJson(server, path, { ...GOOD, ...values }, from);
          assert.equal(answer.status, 400, JSON.stringify(answer.body));
          assert.equal((answer.body.error as { param: string }).param, field);
        },
        async generates(expected) {
          const answer = await postJson(server, path, GOOD, from);
          assert.equal(answer.status, expected ? 200 : 429, JSON.stringify(answer.body));
          if (expected) assert.equal((answer.body.data as unknown[]).length, 1);
        },
      });
    });

    await t.step("POST /v1/images/edits (multipart)", async () => {
      const from = caller("198.51.100.3");
      const edit = async (values: Record<string, string>) => {
        const form = new FormData();
        form.append("image", new Blob([TINY_PNG], { type: "image/png" }), "dot.png");
        for (const [name, value] of Object.entries({ ...GOOD, ...values })) {
          form.append(name, value);
        }
        const response = await fetch(`${server.url}/v1/images/edits`, {
          method: "POST",
          headers: from,
          body: form,
        });
        return { status: response.status, body: await response.json() };
      };
      await assertValidationFirst({
        async refusesNaming(field, values) {
          const answer = await edit(values);
          assert.equal(answer.status, 400, JSON.stringify(answer.body));
          assert.equal(answer.body.error.param, field);
        },
        async generates(expected) {
          const answer = await edit({});
          assert.equal(answer.status, expected ? 200 : 429, JSON.stringify(answer.body));
        },
      });
    });

    await t.step("bad edit input images are a 400 too, once the allowance is spent", async () => {
      const from = caller("198.51.100.6");
      const edit = async (image: Blob) => {
        const form = new FormData();
        form.append("image", image, "input.png");
        for (const [name, value] of Object.entries(GOOD)) form.append(name, value);
        const response = await fetch(`${server.url}/v1/images/edits`, {
          method: "POST",
          headers: from,
          body: form,
        });
        return { status: response.status, body: await response.json() };
      };
      const spent = await edit(new Blob([TINY_PNG], { type: "image/png" }));
      assert.equal(spent.status, 200, JSON.stringify(spent.body));
      const notAnImage = await edit(new Blob(["just some text"], { type: "image/png" }));
      assert.equal(notAnImage.status, 400, JSON.stringify(notAnImage.body));
      assert.match(notAnImage.body.error.param, /^image/);
      const call = await postToolCall(server, from, 1, "edit_image", {
        ...GOOD,
        images: ["/etc/passwd"],
      });
      const text = await call.text();
      assert.equal(call.status, 200, text);
      assert.match(text, /images\[0\]/, "the refusal names the field");
      assert.doesNotMatch(text, /rate_limited/);
    });

    await t.step("remote MCP tools/call generate_image", async () => {
      const from = caller("198.51.100.4");
      let id = 0;
      const call = async (values: Record<string, string>) => {
        const response = await postToolCall(server, from, ++id, "generate_image", {
          ...GOOD,
          ...values,
        });
        assert.equal(response.status, 200);
        const text = await response.text();
        // Stateless Streamable HTTP answers as JSON or as one server-sent event.
        const json = text.trimStart().startsWith("{") ? text : text.split("\n")
          .filter((line) => line.startsWith("data:")).map((line) => line.slice(5)).join("");
        const message = JSON.parse(json) as {
          result: { isError?: boolean; content: { type: string; text?: string }[] };
        };
        const words = message.result.content.map((block) => block.text ?? "").join("\n");
        return { isError: message.result.isError === true, words };
      };
      await assertValidationFirst({
        async refusesNaming(field, values) {
          const result = await call(values);
          assert.equal(result.isError, true, result.words);
          assert.match(result.words, new RegExp(`Invalid ${field}\\b`));
          assert.doesNotMatch(result.words, /rate_limited/);
        },
        async generates(expected) {
          const result = await call({});
          assert.equal(result.isError, !expected, result.words);
          if (!expected) assert.match(result.words, /rate_limited/);
        },
      });
    });

    await t.step("gallery form POST /generate", async () => {
      const from = caller("198.51.100.5");
      const page = await fetch(`${server.url}/generate`, { headers: from });
      const html = await page.text();
      assert.equal(page.status, 200);
      const token = /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
      assert.ok(token, "the form carries a CSRF token");
      const cookie = page.headers.getSetCookie().map((line) => line.split(";")[0]).join("; ");
      const submit = (values: Record<string, string>) =>
        fetch(`${server.url}/generate`, {
          method: "POST",
          redirect: "manual",
          headers: { ...from, cookie, "Content-Type": "application/x-www-form-urlencoded" },
          body: new URLSearchParams({ _csrf: token, ...GOOD, ...values }),
        });
      await assertValidationFirst({
        async refusesNaming(field, values) {
          const answer = await submit(values);
          const text = await answer.text();
          assert.equal(answer.status, 400, text.slice(0, 500));
          assert.match(text, new RegExp(`Invalid ${field}\\b`));
        },
        async generates(expected) {
          const answer = await submit({});
          await answer.body?.cancel();
          assert.equal(answer.status, expected ? 303 : 429);
          if (!expected) return;
          const job = `${server.url}${answer.headers.get("location")}`;
          let state = "";
          await eventually(
            async () => {
              const page = await fetch(job, { headers: { ...from, cookie } });
              state = /data-job-state="(\w+)"/.exec(await page.text())?.[1] ?? "";
              return state !== "running";
            },
            "the gallery job",
            20_000,
          );
          assert.equal(state, "succeeded");
        },
      });
    });
  });
});
