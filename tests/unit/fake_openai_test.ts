import assert from "node:assert/strict";
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
  AuthenticationError,
  AzureOpenAI,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
  toFile,
} from "openai";
import sharp from "sharp";
import {
  FAKE_INVALID_API_KEY,
  type FakeOpenAI,
  FAULT_HEADER,
  probeImage,
  startFakeOpenAI,
} from "../fake_openai.ts";
import { eventually } from "../support/eventually.ts";

function clientFor(fake: FakeOpenAI, options: { maxRetries?: number; timeout?: number } = {}) {
  return new OpenAI({ apiKey: "sk-test", baseURL: fake.baseUrl, maxRetries: 0, ...options });
}

function bytesOf(b64: string | undefined): Uint8Array {
  assert.ok(b64, "expected b64_json");
  return Uint8Array.fromBase64(b64);
}

async function solidPng(
  width: number,
  height: number,
  alpha = false,
): Promise<Uint8Array<ArrayBuffer>> {
  const png = await sharp({
    create: {
      width,
      height,
      channels: alpha ? 4 : 3,
      background: alpha ? { r: 0, g: 0, b: 0, alpha: 0 } : { r: 40, g: 120, b: 200 },
    },
  }).png().toBuffer();
  return new Uint8Array(png);
}

Deno.test("fake OpenAI answers the SDK with a decodable 1024x1024 PNG of realistic weight", async () => {
  await using fake = await startFakeOpenAI();
  const result = await clientFor(fake).images.generate({
    model: "gpt-image-2",
    prompt: "a lighthouse at dusk",
    size: "1024x1024",
  });
  assert.equal(result.data?.length, 1);
  assert.equal(result.output_format, "png");
  assert.equal(result.size, "1024x1024");
  assert.equal(result.background, "opaque");
  assert.equal(result.quality, "medium");
  const png = bytesOf(result.data?.[0].b64_json);
  assert.deepEqual(probeImage(png), { format: "png", width: 1024, height: 1024, hasAlpha: false });
  const decoded = await sharp(png).raw().toBuffer({ resolveWithObject: true });
  assert.equal(decoded.info.width, 1024);
  assert.equal(decoded.info.height, 1024);
  assert.ok(png.length > 300_000 && png.length < 1_500_000, `PNG is ${png.length} bytes`);
  const usage = result.usage!;
  assert.equal(
    usage.input_tokens_details.text_tokens,
    Math.ceil("a lighthouse at dusk".length / 4),
  );
  assert.equal(usage.output_tokens, 1056);
  assert.equal(usage.total_tokens, usage.input_tokens + usage.output_tokens);
  assert.deepEqual(fake.stats, {
    requestsServed: 1,
    imagesProduced: 1,
    connectionsClosedByClient: 0,
    inFlight: 0,
  });
});

Deno.test("fake OpenAI honours output_format, output_compression, background and n", async () => {
  await using fake = await startFakeOpenAI();
  const openai = clientFor(fake);
  const jpeg = await openai.images.generate({
    model: "gpt-image-2",
    prompt: "wide dunes",
    size: "1536x864",
    output_format: "jpeg",
    output_compression: 60,
    n: 2,
  });
  assert.equal(jpeg.data?.length, 2);
  for (const image of jpeg.data ?? []) {
    const info = probeImage(bytesOf(image.b64_json));
    assert.deepEqual(info, { format: "jpeg", width: 1536, height: 864, hasAlpha: false });
  }
  assert.notDeepEqual(jpeg.data?.[0].b64_json, jpeg.data?.[1].b64_json);

  const webp = await openai.images.generate({
    model: "gpt-image-1.5",
    prompt: "a sticker",
    size: "1024x1536",
    output_format: "webp",
    background: "transparent",
    quality: "low",
  });
  assert.equal(webp.background, "transparent");
  assert.equal(webp.quality, "low");
  const webpBytes = bytesOf(webp.data?.[0].b64_json);
  assert.deepEqual(probeImage(webpBytes), {
    format: "webp",
    width: 1024,
    height: 1536,
    hasAlpha: true,
  });
  const meta = await sharp(webpBytes).metadata();
  assert.equal(meta.format, "webp");
  assert.equal(meta.hasAlpha, true);

  const png = await openai.images.generate({
    model: "gpt-image-2.5-sunburst",
    prompt: "an icon",
    size: "256x256",
    background: "transparent",
    quality: "xhigh",
  });
  const pngBytes = bytesOf(png.data?.[0].b64_json);
  assert.equal(probeImage(pngBytes)?.hasAlpha, true);
  const stats = await sharp(pngBytes).stats();
  assert.equal(stats.isOpaque, false);

  await assert.rejects(
    openai.images.generate({
      model: "gpt-image-2",
      prompt: "x",
      output_format: "jpeg",
      background: "transparent",
    }),
    (error) => error instanceof BadRequestError && error.param === "background",
  );
});

Deno.test("fake OpenAI images are deterministic and depend on the prompt", async () => {
  await using fake = await startFakeOpenAI();
  const openai = clientFor(fake);
  const ask = async (prompt: string) =>
    (await openai.images.generate({ model: "gpt-image-2", prompt, size: "256x256" })).data?.[0]
      .b64_json;
  const first = await ask("a red fox");
  assert.equal(await ask("a red fox"), first);
  assert.notEqual(await ask("a blue whale"), first);
});

Deno.test("fake OpenAI streams 0 to 3 partial images then a completed event", async () => {
  await using fake = await startFakeOpenAI();
  const openai = clientFor(fake);
  for (const partials of [0, 1, 2, 3]) {
    const stream = await openai.images.generate({
      model: "gpt-image-2",
      prompt: `streamed ${partials}`,
      size: "256x256",
      stream: true,
      partial_images: partials,
    });
    const events = [];
    for await (const event of stream) events.push(event);
    assert.deepEqual(events.map((e) => e.type), [
      ...Array(partials).fill("image_generation.partial_image"),
      "image_generation.completed",
    ]);
    events.forEach((event, index) => {
      assert.deepEqual(probeImage(bytesOf(event.b64_json)), {
        format: "png",
        width: 256,
        height: 256,
        hasAlpha: false,
      });
      assert.equal(event.size, "256x256");
      assert.equal(event.output_format, "png");
      assert.equal(typeof event.created_at, "number");
      if (event.type === "image_generation.partial_image") {
        assert.equal(event.partial_image_index, index);
      } else {
        assert.ok(event.usage.output_tokens > 0);
      }
    });
  }
  assert.equal(fake.stats.imagesProduced, 4);
  assert.equal(fake.stats.inFlight, 0);
});

Deno.test("fake OpenAI edits take repeated image[] and a mask and record their metadata", async () => {
  await using fake = await startFakeOpenAI();
  const openai = clientFor(fake);
  const first = await toFile(await solidPng(512, 512), "first.png", { type: "image/png" });
  const second = await toFile(await solidPng(256, 256), "second.png", { type: "image/png" });
  const mask = await toFile(await solidPng(512, 512, true), "mask.png", { type: "image/png" });
  const result = await openai.images.edit({
    model: "gpt-image-1.5",
    image: [first, second],
    mask,
    prompt: "add a moon",
    input_fidelity: "high",
  });
  assert.deepEqual(probeImage(bytesOf(result.data?.[0].b64_json))?.format, "png");
  assert.equal(result.size, "1024x1024");
  assert.ok(result.usage!.input_tokens_details.image_tokens > 0);

  const recorded = fake.lastRequest!;
  assert.equal(recorded.path, "/v1/images/edits");
  assert.equal(recorded.headers.authorization, "[present]");
  assert.equal(recorded.fields?.prompt, "add a moon");
  const images = recorded.fields?.["image[]"] as { filename: string; size: number; type: string }[];
  assert.deepEqual(images.map((f) => [f.filename, f.type]), [
    ["first.png", "image/png"],
    ["second.png", "image/png"],
  ]);
  assert.equal(images[0].size, first.size);
  assert.deepEqual(recorded.fields?.mask, {
    filename: "mask.png",
    size: mask.size,
    type: "image/png",
  });

  await assert.rejects(
    openai.images.edit({
      model: "gpt-image-2",
      image: await toFile(await solidPng(512, 512), "a.png", { type: "image/png" }),
      mask: await toFile(await solidPng(256, 256, true), "m.png", { type: "image/png" }),
      prompt: "mismatched mask",
    }),
    (error) => error instanceof BadRequestError && error.param === "mask",
  );
  await assert.rejects(
    openai.images.edit({
      model: "gpt-image-2",
      image: await toFile(new TextEncoder().encode("not an image"), "a.png"),
      prompt: "bad input",
    }),
    (error) => error instanceof BadRequestError && error.param === "image",
  );
});

Deno.test("fake OpenAI streams edits as image_edit events and accepts a single image field", async () => {
  await using fake = await startFakeOpenAI();
  const form = new FormData();
  form.append("model", "gpt-image-2");
  form.append("prompt", "sketch it");
  form.append("stream", "true");
  form.append("partial_images", "1");
  form.append("image", new Blob([await solidPng(320, 192)], { type: "image/png" }), "in.png");
  const response = await fetch(`${fake.baseUrl}/images/edits`, {
    method: "POST",
    headers: { authorization: "Bearer sk-test" },
    body: form,
  });
  assert.equal(response.status, 200);
  const text = await response.text();
  const events = [...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]);
  assert.deepEqual(events, ["image_edit.partial_image", "image_edit.completed"]);
  const completed = JSON.parse(text.trim().split("\n").at(-1)!.slice("data: ".length));
  assert.equal(completed.size, "320x192", "size auto follows the input image when it is valid");
  assert.deepEqual(fake.lastRequest?.fields?.image, {
    filename: "in.png",
    size: (await solidPng(320, 192)).length,
    type: "image/png",
  });
});

Deno.test("AzureOpenAI reaches the fake's deployment routes with api-key and api-version", async () => {
  await using fake = await startFakeOpenAI();
  const azure = new AzureOpenAI({
    endpoint: fake.azureEndpoint,
    apiKey: "azure-key",
    apiVersion: "2025-04-01-preview",
    deployment: "gpt-image-1-mini",
    maxRetries: 0,
  });
  const result = await azure.images.generate({ prompt: "azure sky", size: "1536x1024" });
  assert.deepEqual(probeImage(bytesOf(result.data?.[0].b64_json)), {
    format: "png",
    width: 1536,
    height: 1024,
    hasAlpha: false,
  });
  const recorded = fake.lastRequest!;
  assert.equal(recorded.path, "/openai/deployments/gpt-image-1-mini/images/generations");
  assert.equal(recorded.query["api-version"], "2025-04-01-preview");
  assert.equal(recorded.headers["api-key"], "[present]");

  const edited = await azure.images.edit({
    image: await toFile(await solidPng(1024, 1024), "in.png", { type: "image/png" }),
    prompt: "azure edit",
  });
  assert.equal(edited.size, "1024x1024");
  assert.equal(fake.lastRequest?.path, "/openai/deployments/gpt-image-1-mini/images/edits");

  const missing = new AzureOpenAI({
    endpoint: fake.azureEndpoint,
    apiKey: "azure-key",
    apiVersion: "2025-04-01-preview",
    deployment: "dall-e-3",
    maxRetries: 0,
  });
  await assert.rejects(
    missing.images.generate({ prompt: "old" }),
    (error) => error instanceof NotFoundError && error.code === "DeploymentNotFound",
  );
});

Deno.test("fake OpenAI lists current image models and not retired ones", async () => {
  await using fake = await startFakeOpenAI();
  const ids = [];
  for await (const model of clientFor(fake).models.list()) ids.push(model.id);
  for (const id of ["gpt-image-2", "gpt-image-2.5-sunburst", "gpt-image-1.5", "gpt-image-1-mini"]) {
    assert.ok(ids.includes(id), `${id} listed`);
  }
  for (const id of ["dall-e-2", "dall-e-3", "gpt-image-1"]) assert.ok(!ids.includes(id));
});

Deno.test("fake OpenAI validates models, sizes, n and legacy parameters like OpenAI", async () => {
  await using fake = await startFakeOpenAI();
  const openai = clientFor(fake);
  for (const model of ["dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-9"]) {
    await assert.rejects(
      openai.images.generate({ model, prompt: "x" }),
      (error) =>
        error instanceof NotFoundError && error.status === 404 && error.code === "model_not_found",
      model,
    );
  }
  await assert.rejects(
    openai.images.generate({ model: "gpt-image-2", prompt: "x", response_format: "b64_json" }),
    (error) =>
      error instanceof BadRequestError &&
      error.message === "400 Unknown parameter: 'response_format'." &&
      error.param === "response_format",
  );
  const badSizes: [string, string][] = [
    ["gpt-image-2", "1000x1000"],
    ["gpt-image-2", "1600x512"],
    ["gpt-image-2", "4096x1024"],
    ["gpt-image-2", "2304x2304"],
    ["gpt-image-1.5", "512x512"],
    ["gpt-image-1-mini", "1792x1024"],
  ];
  for (const [model, size] of badSizes) {
    await assert.rejects(
      openai.images.generate({ model, prompt: "x", size }),
      (error) => error instanceof BadRequestError && error.param === "size",
      `${model} ${size}`,
    );
  }
  for (const n of [0, 11]) {
    await assert.rejects(
      openai.images.generate({ model: "gpt-image-2", prompt: "x", n }),
      (error) => error instanceof BadRequestError && error.param === "n",
    );
  }
  const wide = await openai.images.generate({ model: "gpt-image-2", prompt: "x", size: "768x256" });
  assert.equal(wide.size, "768x256");
  const auto = await openai.images.generate({ model: "gpt-image-2", prompt: "x", size: "auto" });
  assert.equal(auto.size, "1024x1024");
});

Deno.test("fake OpenAI answers 401 in OpenAI's error shape without or with a rejected key", async () => {
  await using fake = await startFakeOpenAI();
  const response = await fetch(`${fake.baseUrl}/images/generations`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "gpt-image-2", prompt: "x" }),
  });
  assert.equal(response.status, 401);
  const body = await response.json();
  assert.deepEqual(Object.keys(body.error).sort(), ["code", "message", "param", "type"]);
  assert.equal(body.error.type, "invalid_request_error");
  const rejected = new OpenAI({
    apiKey: FAKE_INVALID_API_KEY,
    baseURL: fake.baseUrl,
    maxRetries: 0,
  });
  await assert.rejects(
    rejected.images.generate({ model: "gpt-image-2", prompt: "x" }),
    (error) => error instanceof AuthenticationError && error.code === "invalid_api_key",
  );
});

Deno.test("every injected fault reaches the SDK as the matching error", async () => {
  await using fake = await startFakeOpenAI();
  const openai = clientFor(fake);
  const generate = (marker: string) =>
    openai.images.generate({ model: "gpt-image-2", prompt: `a cat ${marker}`, size: "256x256" });
  const cases: [string, (error: unknown) => boolean][] = [
    ["[fault:rate_limit]", (e) =>
      e instanceof RateLimitError && e.code === "rate_limit_exceeded" &&
      e.headers?.get("retry-after") === "1" && e.headers?.get("retry-after-ms") === "1000"],
    ["[fault:quota]", (e) => e instanceof RateLimitError && e.code === "insufficient_quota"],
    [
      "[fault:moderation=sexual]",
      (e) =>
        e instanceof BadRequestError && e.code === "moderation_blocked" &&
        e.type === "image_generation_user_error" &&
        JSON.stringify((e.error as Record<string, unknown>).moderation_details) ===
          JSON.stringify({ categories: ["sexual"] }),
    ],
    ["[fault:unauthorized]", (e) => e instanceof AuthenticationError],
    ["[fault:org_verification]", (e) =>
      e instanceof PermissionDeniedError &&
      e.message.includes("Your organization must be verified to use the model `gpt-image-2`")],
    [
      "[fault:billing]",
      (e) => e instanceof BadRequestError && e.code === "billing_hard_limit_reached",
    ],
    ["[fault:server_error]", (e) => e instanceof InternalServerError && e.status === 500],
    ["[fault:overloaded]", (e) => e instanceof InternalServerError && e.status === 503],
    [
      "[fault:reset]",
      (e) => e instanceof APIConnectionError && !(e instanceof APIConnectionTimeoutError),
    ],
    // A 200 whose JSON is cut short is not wrapped by the SDK: JSON.parse's SyntaxError surfaces.
    ["[fault:malformed_json]", (e) => e instanceof SyntaxError],
  ];
  for (const [marker, matches] of cases) {
    await assert.rejects(generate(marker), matches, marker);
  }
  // Deno's fetch may resend a request once when a reused connection closes without an answer,
  // so a reset can be recorded twice; every fault is recorded, in order.
  const recorded = fake.requests.map((r) => r.fault).filter((f, i, all) => f !== all[i - 1]);
  assert.deepEqual(recorded, cases.map(([marker]) => marker.slice("[fault:".length, -1)));
  assert.equal(fake.stats.inFlight, 0);
  assert.equal(fake.stats.connectionsClosedByClient, 0);
});

Deno.test("a hung request ends in APIConnectionTimeoutError and counts as closed by the client", async () => {
  await using fake = await startFakeOpenAI();
  await assert.rejects(
    clientFor(fake, { timeout: 200 }).images.generate({
      model: "gpt-image-2",
      prompt: "never [fault:hang]",
    }),
    APIConnectionTimeoutError,
  );
  await eventually(() => fake.stats.connectionsClosedByClient === 1, "the hang to be released");
  assert.equal(fake.stats.inFlight, 0);
  assert.equal(fake.lastRequest?.outcome, "client_closed");
});

Deno.test("latency and slow markers delay a JSON answer past a short SDK timeout", async () => {
  await using fake = await startFakeOpenAI();
  const openai = clientFor(fake, { timeout: 150 });
  for (const [index, marker] of ["latency=5000", "slow=5000"].entries()) {
    await assert.rejects(
      openai.images.generate({ model: "gpt-image-2", prompt: `slow [fault:${marker}]` }),
      APIConnectionTimeoutError,
      marker,
    );
    await eventually(() => fake.stats.inFlight === 0, "the delayed request to end");
    assert.equal(fake.stats.connectionsClosedByClient, index + 1, marker);
  }
});

Deno.test("aborting with a signal raises APIUserAbortError and the fake sees the disconnect", async () => {
  await using fake = await startFakeOpenAI({ latencyMs: 5000 });
  const controller = new AbortController();
  const pending = clientFor(fake).images.generate(
    { model: "gpt-image-2", prompt: "cancel me" },
    { signal: controller.signal },
  );
  await eventually(() => fake.stats.inFlight === 1, "the request to arrive");
  controller.abort();
  await assert.rejects(pending, APIUserAbortError);
  await eventually(() => fake.stats.connectionsClosedByClient === 1, "the disconnect");
  assert.equal(fake.stats.inFlight, 0);
  assert.equal(fake.stats.requestsServed, 0);
});

Deno.test("breaking off a stream counts as closed by the client, also one slowed by slow=MS", async () => {
  const cases = [
    { options: { streamIntervalMs: 100 }, prompt: "long stream", partials: 3 },
    // The first partial image comes a third of the way in; the final image would take 15 s.
    { options: {}, prompt: "a slow dawn [fault:slow=15000]", partials: 2 },
  ];
  for (const { options, prompt, partials } of cases) {
    await using fake = await startFakeOpenAI(options);
    const stream = await clientFor(fake).images.generate({
      model: "gpt-image-2",
      prompt,
      size: "256x256",
      stream: true,
      partial_images: partials,
    });
    for await (const event of stream) {
      assert.equal(event.type, "image_generation.partial_image");
      break;
    }
    await eventually(() => fake.stats.connectionsClosedByClient === 1, "the stream to be dropped");
    assert.equal(fake.lastRequest?.outcome, "client_closed", prompt);
    assert.equal(fake.lastRequest?.fault, null, "a timing fault does not change the answer");
    assert.equal(fake.stats.imagesProduced, 0, prompt);
    assert.equal(fake.stats.inFlight, 0);
  }
});

Deno.test("rate_limit_once fails once, then the SDK's retry after retry-after succeeds", async () => {
  await using fake = await startFakeOpenAI();
  const result = await clientFor(fake, { maxRetries: 2 }).images.generate({
    model: "gpt-image-2",
    prompt: "patience [fault:rate_limit_once]",
    size: "256x256",
  });
  assert.equal(result.data?.length, 1);
  const [first, second] = fake.requests;
  assert.equal(fake.requests.length, 2);
  assert.equal(first.status, 429);
  assert.equal(second.status, 200);
  // The SDK waits what retry-after-ms says (1000 ms) before retrying.
  assert.ok(second.receivedAt - first.receivedAt >= 900, "retry came after retry-after");
});

Deno.test("stream faults surface while iterating: error event, cut connection, bad JSON", async () => {
  await using fake = await startFakeOpenAI();
  // logLevel "off": the SDK would otherwise log the unparsable event to the console.
  const openai = new OpenAI({
    apiKey: "sk-test",
    baseURL: fake.baseUrl,
    maxRetries: 0,
    logLevel: "off",
  });
  const cases: [string, string[], (error: unknown) => boolean][] = [
    // An `event: error` becomes a status-less APIError carrying OpenAI's error body.
    [
      "stream_error",
      ["image_generation.partial_image"],
      (e) => e instanceof APIError && e.status === undefined && e.type === "server_error",
    ],
    // A connection dropped mid-stream is not wrapped by the SDK: the body read's TypeError.
    [
      "stream_cut",
      ["image_generation.partial_image"],
      (e) => e instanceof TypeError && !(e instanceof APIError),
    ],
    // An unparsable event is a SyntaxError from the SDK's SSE decoder.
    ["malformed_json", [], (e) => e instanceof SyntaxError],
  ];
  for (const [fault, expected, matches] of cases) {
    const stream = await openai.images.generate({
      model: "gpt-image-2",
      prompt: `broken [fault:${fault}]`,
      size: "256x256",
      stream: true,
      partial_images: 2,
    });
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const event of stream) seen.push(event.type);
      })(),
      matches,
      fault,
    );
    assert.deepEqual(seen, expected, fault);
  }
  await eventually(() => fake.stats.inFlight === 0, "streams to end");
});

Deno.test("setFault, the fault header and the control endpoints drive faults and stats", async () => {
  await using fake = await startFakeOpenAI();
  const openai = clientFor(fake);
  const generate = () =>
    openai.images.generate({ model: "gpt-image-2", prompt: "plain", size: "256x256" });

  fake.setFault({ fault: "server_error", count: 1 });
  await assert.rejects(generate(), InternalServerError);
  assert.equal((await generate()).data?.length, 1);

  const control = `${fake.azureEndpoint}/_control`;
  const set = await fetch(`${control}/fault`, {
    method: "POST",
    body: JSON.stringify({ fault: "moderation", count: 2 }),
  });
  assert.deepEqual(await set.json(), { fault: "moderation", remaining: 2 });
  await assert.rejects(generate(), BadRequestError);
  await assert.rejects(generate(), BadRequestError);
  await generate();

  await assert.rejects(
    openai.models.list({ headers: { [FAULT_HEADER]: "org_verification" } }),
    PermissionDeniedError,
  );

  const stats = await (await fetch(`${control}/stats`)).json();
  assert.equal(stats.stats.requestsServed, 6);
  assert.equal(stats.stats.imagesProduced, 2);
  assert.equal(stats.lastRequest.path, "/v1/models");

  const reset = await fetch(`${control}/reset`, { method: "POST" });
  await reset.body?.cancel();
  assert.deepEqual(fake.stats, {
    requestsServed: 0,
    imagesProduced: 0,
    connectionsClosedByClient: 0,
    inFlight: 0,
  });
  assert.equal(fake.lastRequest, null);
  assert.throws(() => fake.setFault("no_such_fault"), TypeError);
});

Deno.test("fake OpenAI serves concurrent requests and counts them in flight", async () => {
  await using fake = await startFakeOpenAI({ latencyMs: 300 });
  const openai = clientFor(fake);
  const pending = Array.from(
    { length: 4 },
    (_, i) => openai.images.generate({ model: "gpt-image-2", prompt: `p${i}`, size: "256x256" }),
  );
  await eventually(() => fake.stats.inFlight === 4, "four requests in flight");
  const results = await Promise.all(pending);
  assert.equal(new Set(results.map((r) => r.data?.[0].b64_json)).size, 4);
  assert.equal(fake.stats.inFlight, 0);
  assert.equal(fake.stats.requestsServed, 4);
});

Deno.test("closing the fake releases a hung request", async () => {
  const fake = await startFakeOpenAI();
  const pending = clientFor(fake).images.generate({ model: "gpt-image-2", prompt: "[fault:hang]" });
  await eventually(() => fake.stats.inFlight === 1, "the request to arrive");
  await fake.close();
  await assert.rejects(pending, APIConnectionError);
  assert.equal(fake.lastRequest?.outcome, "server_closed");
});
