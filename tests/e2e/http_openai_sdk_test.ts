/**
 * End-to-end: the official `openai` SDK as the client of the real HTTP service process
 * (`deno run -P=http src/main_http.ts`), its `baseURL` pointed at `<service>/v1`, the service's
 * upstream pointed at tests/fake_openai.ts.
 */
import assert from "node:assert/strict";
import OpenAI, {
  AuthenticationError,
  BadRequestError,
  PermissionDeniedError,
  RateLimitError,
  toFile,
} from "openai";
import { sniffImage } from "../../src/images/codec.ts";
import { type HttpHarness, withHttpService } from "./support/http_server.ts";

const ADMIN_TOKEN = "admin-token-for-sdk-e2e-0123456789";

/** Settings of every service in this file: auth on, limits out of the way. */
const ENV = {
  MCP_AUTH_TOKEN: ADMIN_TOKEN,
  IMAGE_GENERATION_RATE_LIMIT: "1000",
  MAX_INFLIGHT_PER_KEY: "0",
};

interface ImageObject {
  id: string;
  object: string;
  url: string;
  sha256: string;
  bytes: number;
  prompt: string;
  mime_type: string;
}

interface ImageList {
  object: string;
  data: ImageObject[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Creates a user-role API key through the admin API, as an operator would. */
async function userKey(url: string, name: string): Promise<string> {
  const response = await fetch(`${url}/admin/keys`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify({ name, role: "user" }),
  });
  const body = await response.json();
  assert.equal(response.status, 201, JSON.stringify(body));
  return body.key;
}

async function withSdk(
  fn: (client: OpenAI, harness: HttpHarness, key: string) => Promise<void>,
): Promise<void> {
  await withHttpService(ENV, async (harness) => {
    const key = await userKey(harness.server.url, "sdk-e2e");
    // maxRetries 0: a refusal must surface as its error class, not be retried by the SDK.
    const client = new OpenAI({ baseURL: `${harness.server.url}/v1`, apiKey: key, maxRetries: 0 });
    await fn(client, harness, key);
  });
}

async function listImages(client: OpenAI, limit = 100): Promise<ImageList> {
  return await client.get("/images", { query: { limit } }) as ImageList;
}

Deno.test("images.generate answers b64_json by default with the bytes the service stored", async () => {
  await withSdk(async (client, { fake }) => {
    const response = await client.images.generate({
      prompt: "a red fox in snow",
      model: "gpt-image-2",
      size: "1024x1024",
      quality: "low",
    });
    assert.equal(response.data?.length, 1);
    const b64 = response.data![0].b64_json;
    assert.ok(b64, "b64_json is the default response format");
    assert.equal(response.data![0].url, undefined);
    const bytes = Uint8Array.fromBase64(b64);
    const sniffed = sniffImage(bytes);
    assert.equal(sniffed?.mime, "image/png");
    assert.equal(response.size, "1024x1024");
    assert.equal(response.quality, "low");
    assert.ok((response.usage?.output_tokens ?? 0) > 0, "usage is passed through");
    assert.equal(fake.stats.imagesProduced, 1);

    const list = await listImages(client);
    assert.equal(list.data.length, 1);
    const [record] = list.data;
    assert.equal(record.prompt, "a red fox in snow");
    assert.equal(record.sha256, await sha256Hex(bytes), "the answer is the stored image");
    assert.equal(record.bytes, bytes.length);
  });
});

Deno.test("response_format url links the stored file, served with its hash as ETag", async () => {
  await withSdk(async (client, { server }) => {
    const response = await client.images.generate({
      prompt: "a lighthouse at dusk",
      response_format: "url",
      n: 2,
    });
    assert.equal(response.data?.length, 2);
    const list = await listImages(client);
    assert.equal(list.data.length, 2, "both images are catalogued");
    for (const item of response.data!) {
      assert.equal(item.b64_json, undefined);
      const url = item.url!;
      assert.ok(url.startsWith(`${server.url}/images/`), url);
      const image = await fetch(url);
      assert.equal(image.status, 200);
      const bytes = new Uint8Array(await image.arrayBuffer());
      const sha = await sha256Hex(bytes);
      const record = list.data.find((r) => r.url === url);
      assert.ok(record, `${url} is in the list`);
      assert.equal(record.sha256, sha, "the served bytes are the catalogued ones");
      assert.equal(image.headers.get("etag"), `"${sha}"`);
      assert.equal(image.headers.get("content-type"), record.mime_type);
      const again = await fetch(url, { headers: { "If-None-Match": `"${sha}"` } });
      await again.body?.cancel();
      assert.equal(again.status, 304);
    }
  });
});

Deno.test("images.edit uploads a file as multipart and answers the edited image", async () => {
  await withSdk(async (client, { fake }) => {
    const made = await client.images.generate({ prompt: "a blue square", quality: "low" });
    const source = Uint8Array.fromBase64(made.data![0].b64_json!);
    const edited = await client.images.edit({
      image: await toFile(source, "square.png", { type: "image/png" }),
      prompt: "make it green",
      quality: "low",
    });
    const bytes = Uint8Array.fromBase64(edited.data![0].b64_json!);
    assert.equal(sniffImage(bytes)?.mime, "image/png");
    const upstream = fake.lastRequest!;
    assert.equal(upstream.path, "/v1/images/edits");
    // One image goes up as `image`, several as `image[]`.
    const files = [upstream.fields?.image ?? upstream.fields?.["image[]"] ?? []].flat() as {
      size: number;
      type: string;
    }[];
    assert.equal(files.length, 1, "one image went upstream");
    assert.equal(files[0].type, "image/png");
    assert.ok(files[0].size > 0);
    assert.equal(upstream.fields?.prompt, "make it green");
    const list = await listImages(client);
    assert.equal(list.data.length, 2, "the source and the edit are catalogued");
    assert.equal(list.data[0].sha256, await sha256Hex(bytes), "newest first: the edit");
  });
});

Deno.test("stream: true delivers partial images, then the completed image", async () => {
  await withSdk(async (client) => {
    const stream = await client.images.generate({
      prompt: "a paper kite",
      quality: "low",
      stream: true,
      partial_images: 2,
    });
    const partials: number[] = [];
    const completed: string[] = [];
    for await (const event of stream) {
      if (event.type === "image_generation.partial_image") {
        partials.push(event.partial_image_index);
        assert.ok(sniffImage(Uint8Array.fromBase64(event.b64_json)), "a partial decodes");
      } else if (event.type === "image_generation.completed") {
        completed.push(event.b64_json);
      }
    }
    assert.deepEqual(partials, [0, 1]);
    assert.equal(completed.length, 1);
    const bytes = Uint8Array.fromBase64(completed[0]);
    const list = await listImages(client);
    assert.equal(list.data.length, 1);
    assert.equal(list.data[0].sha256, await sha256Hex(bytes), "the completed image is stored");
  });
});

Deno.test("the image list pages newest first with limit and after", async () => {
  await withSdk(async (client, { server }) => {
    for (const prompt of ["one", "two", "three"]) {
      await client.images.generate({ prompt: `image ${prompt}`, quality: "low" });
    }
    const first = await client.get("/images", { query: { limit: 2 } }) as ImageList;
    assert.equal(first.object, "list");
    assert.deepEqual(first.data.map((i) => i.prompt), ["image three", "image two"]);
    assert.equal(first.has_more, true);
    assert.equal(first.last_id, first.data[1].id);
    const second = await client.get("/images", {
      query: { limit: 2, after: first.last_id },
    }) as ImageList;
    assert.deepEqual(second.data.map((i) => i.prompt), ["image one"]);
    assert.equal(second.has_more, false);
    // The same list over plain fetch, as a dashboard would read it.
    const key = client.apiKey;
    const plain = await fetch(`${server.url}/v1/images?limit=3`, {
      headers: { Authorization: `Bearer ${key}` },
    });
    const body = await plain.json() as ImageList;
    assert.equal(body.data.length, 3);
    const one = await client.get(`/images/${body.data[2].id}`) as ImageObject;
    assert.equal(one.prompt, "image one");
  });
});

Deno.test("failures map to the SDK's error classes and store nothing", async () => {
  await withSdk(async (client, { server }) => {
    const blocked = await client.images.generate({ prompt: "forbidden [fault:moderation]" })
      .catch((e) => e);
    assert.ok(blocked instanceof BadRequestError, String(blocked));
    assert.equal(blocked.status, 400);
    assert.equal(blocked.code, "moderation_blocked");
    assert.match(blocked.message, /safety system/);

    const limited = await client.images.generate({ prompt: "busy [fault:rate_limit]" })
      .catch((e) => e);
    assert.ok(limited instanceof RateLimitError, String(limited));
    assert.equal(limited.status, 429);
    assert.ok(limited.headers?.get("retry-after"), "Retry-After is passed on");

    const badSize = await client.images.generate({
      prompt: "x",
      size: "1000x1000" as "1024x1024",
    }).catch((e) => e);
    assert.ok(badSize instanceof BadRequestError, String(badSize));
    assert.equal(badSize.param, "size");

    const noPrompt = await client.images.generate({ prompt: "" }).catch((e) => e);
    assert.ok(noPrompt instanceof BadRequestError, String(noPrompt));
    assert.equal(noPrompt.param, "prompt");

    const stranger = new OpenAI({
      baseURL: `${server.url}/v1`,
      apiKey: "oig_not_a_real_key",
      maxRetries: 0,
    });
    const refused = await stranger.images.generate({ prompt: "x" }).catch((e) => e);
    assert.ok(refused instanceof AuthenticationError, String(refused));
    assert.equal(refused.status, 401);
    assert.match(refused.headers?.get("www-authenticate") ?? "", /^Bearer /);

    const anonymous = await fetch(`${server.url}/v1/images/generations`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ prompt: "x" }),
    });
    const anonymousBody = await anonymous.json();
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get("www-authenticate") ?? "", /^Bearer /);
    assert.equal(anonymousBody.error.code, "invalid_api_key");

    const list = await listImages(client);
    assert.equal(list.data.length, 0, "no failed request left an image behind");
  });
});

Deno.test("a user key may not delete another key's image", async () => {
  await withSdk(async (client, { server }) => {
    const admin = new OpenAI({
      baseURL: `${server.url}/v1`,
      apiKey: ADMIN_TOKEN,
      maxRetries: 0,
    });
    await admin.images.generate({ prompt: "the admin's image", quality: "low" });
    // A user key lists its own images only (docs/authorization.md): the admin's is not among them.
    assert.equal((await listImages(client)).data.length, 0);
    const [image] = (await listImages(admin)).data;
    const refused = await client.delete(`/images/${image.id}`).catch((e) => e);
    assert.ok(refused instanceof PermissionDeniedError, String(refused));
    const deleted = await admin.delete(`/images/${image.id}`) as { deleted: boolean };
    assert.equal(deleted.deleted, true);
    assert.equal((await listImages(admin)).data.length, 0);
  });
});
