import assert from "node:assert/strict";
import { APIUserAbortError } from "openai";
import { AppError, ValidationError } from "../../src/errors.ts";
import {
  createImageClient,
  createModelRegistry,
  editImages,
  type FetchLike,
  generateImages,
  type ImageClientConfig,
  mapUpstreamError,
  type NormalizeContext,
  normalizeEditRequest,
  normalizeGenerateRequest,
} from "../../src/generation/mod.ts";
import { believableUsage } from "../../src/generation/upstream_bounds.ts";
import { type FakeOpenAI, probeImage, startFakeOpenAI } from "../fake_openai.ts";
import { sleep } from "../../src/clock.ts";
import { eventually } from "../support/eventually.ts";

const NOW = new Date("2026-11-24T12:00:00Z");
const registry = createModelRegistry();
const API_KEY = "sk-test-abcdef1234567890";

const CONFIG: ImageClientConfig = {
  openaiApiKey: API_KEY,
  openaiBaseUrl: undefined,
  openaiOrgId: undefined,
  openaiProjectId: undefined,
  azureEndpoint: undefined,
  azureApiKey: undefined,
  azureDeployment: undefined,
  openaiApiVersion: "2025-04-01-preview",
  openaiTimeoutMs: 10_000,
  openaiMaxRetries: 0,
};

// 1x1 transparent PNG.
const PNG_B64 =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
const PNG = Uint8Array.fromBase64(PNG_B64);
const USAGE = {
  input_tokens: 50,
  input_tokens_details: { text_tokens: 50, image_tokens: 0 },
  output_tokens: 1000,
  total_tokens: 1050,
};

function ctx(legacyModels: "translate" | "reject" | "passthrough" = "translate"): NormalizeContext {
  return {
    registry,
    config: { defaultModel: "gpt-image-2", defaultQuality: "medium", legacyModels },
    now: NOW,
  };
}

interface Call {
  url: URL;
  method: string;
  headers: Headers;
  signal: AbortSignal | null;
  json?: Record<string, unknown>;
  form?: FormData;
}

type Responder = (call: Call, index: number) => Response | Promise<Response>;

/** A fetch that records every call and answers with `respond`. */
function mockFetch(respond: Responder = () => okResponse()) {
  const calls: Call[] = [];
  const fetchFn: FetchLike = async (input, init) => {
    // The SDK probes FormData support with a `data:` URL before multipart uploads.
    if (String(input).startsWith("data:")) return await fetch(input, init);
    const request = new Request(input, init);
    const call: Call = {
      url: new URL(request.url),
      method: request.method,
      headers: request.headers,
      signal: init?.signal ?? null,
    };
    const type = request.headers.get("content-type") ?? "";
    if (type.includes("application/json")) call.json = await request.json();
    else if (type.includes("multipart/form-data")) call.form = await request.formData();
    calls.push(call);
    return await respond(call, calls.length - 1);
  };
  return { fetch: fetchFn, calls };
}

function okResponse(extra: Record<string, unknown> = {}, count = 1): Response {
  return Response.json({
    created: 1_790_000_000,
    data: Array.from({ length: count }, () => ({ b64_json: PNG_B64 })),
    output_format: "png",
    size: "1024x1024",
    quality: "medium",
    background: "opaque",
    usage: USAGE,
    ...extra,
  });
}

function errorResponse(status: number, error: Record<string, unknown>, headers = {}): Response {
  return Response.json({ error: { type: "invalid_request_error", param: null, ...error } }, {
    status,
    headers,
  });
}

/** An answer that never comes, until the request's signal aborts it. */
function hangUntilAborted(call: Call): Promise<Response> {
  return new Promise((_, reject) => {
    const signal = call.signal;
    if (!signal) return;
    const abort = () => reject(new DOMException("aborted", "AbortError"));
    if (signal.aborted) abort();
    else signal.addEventListener("abort", abort, { once: true });
  });
}

function sse(events: Record<string, unknown>[], options: { keepOpen?: () => void } = {}): Response {
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const event of events) {
        controller.enqueue(
          encoder.encode(`event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`),
        );
      }
      if (!options.keepOpen) controller.close();
    },
    cancel() {
      options.keepOpen?.();
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream" } });
}

function partial(index: number, prefix = "image_generation") {
  return {
    type: `${prefix}.partial_image`,
    b64_json: PNG_B64,
    partial_image_index: index,
    output_format: "png",
    size: "1024x1024",
    quality: "medium",
    background: "auto",
    created_at: 1,
  };
}

function completed(prefix = "image_generation") {
  return {
    type: `${prefix}.completed`,
    b64_json: PNG_B64,
    output_format: "png",
    size: "1024x1024",
    quality: "medium",
    background: "auto",
    created_at: 2,
    usage: USAGE,
  };
}

async function rejectionOf(promise: Promise<unknown>): Promise<AppError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof AppError, `expected AppError, got ${error}`);
    return error;
  }
  assert.fail("expected a rejection");
}

function formFields(form: FormData): Record<string, string[]> {
  const fields: Record<string, string[]> = {};
  for (const [key, value] of form.entries()) {
    const text = typeof value === "string" ? value : `file:${value.name}:${value.type}`;
    (fields[key] ??= []).push(text);
  }
  return fields;
}

const PNG_INPUT = (name: string) => ({ bytes: PNG, filename: name, mime: "image/png" });

Deno.test("gpt-image-2: exactly the normalized body reaches /images/generations", async () => {
  const mock = mockFetch();
  const client = createImageClient(CONFIG, { fetch: mock.fetch, registry });
  const normalized = normalizeGenerateRequest({
    prompt: "a fox",
    size: "1536x864",
    quality: "high",
    output_format: "webp",
    output_compression: 70,
    background: "opaque",
    moderation: "low",
    style: "vivid",
    response_format: "url",
    user: "u1",
  }, ctx());
  const result = await generateImages(client, normalized);
  assert.equal(mock.calls.length, 1);
  const [call] = mock.calls;
  assert.equal(call.method, "POST");
  assert.equal(call.url.href, "https://api.openai.com/v1/images/generations");
  assert.equal(call.headers.get("authorization"), `Bearer ${API_KEY}`);
  assert.deepEqual(call.json, {
    model: "gpt-image-2",
    prompt: "a fox",
    n: 1,
    size: "1536x864",
    quality: "high",
    output_format: "webp",
    output_compression: 70,
    background: "opaque",
    moderation: "low",
    safety_identifier: "u1",
  });
  assert.deepEqual(result.images.map((i) => i.bytes), [PNG]);
  assert.deepEqual(result.usage, USAGE);
  assert.equal(result.background, "opaque");
  assert.equal(typeof result.elapsedMs, "number");
});

Deno.test("gpt-image-1.5: the 1.x body has no stream, style or response_format", async () => {
  const mock = mockFetch();
  const client = createImageClient(CONFIG, { fetch: mock.fetch, registry });
  await generateImages(
    client,
    normalizeGenerateRequest({ prompt: "p", model: "gpt-image-1.5", n: 2 }, ctx()),
  );
  assert.deepEqual(mock.calls[0].json, {
    model: "gpt-image-1.5",
    prompt: "p",
    n: 2,
    size: "1024x1024",
    quality: "medium",
    output_format: "png",
  });
});

Deno.test("dall-e-3 passthrough: style and response_format b64_json, revised prompt back", async () => {
  const mock = mockFetch(() =>
    Response.json({
      created: 1,
      data: [{ b64_json: PNG_B64, revised_prompt: "A tall lighthouse" }],
    })
  );
  const client = createImageClient(CONFIG, { fetch: mock.fetch, registry });
  const normalized = normalizeGenerateRequest(
    { prompt: "lighthouse", model: "dall-e-3", quality: "hd", style: "vivid", size: "1792x1024" },
    ctx("passthrough"),
  );
  const result = await generateImages(client, normalized);
  assert.deepEqual(mock.calls[0].json, {
    model: "dall-e-3",
    prompt: "lighthouse",
    n: 1,
    size: "1792x1024",
    quality: "hd",
    style: "vivid",
    response_format: "b64_json",
  });
  assert.equal(result.images[0].revisedPrompt, "A tall lighthouse");
  assert.equal(result.outputFormat, "png");
  assert.equal(result.size, "1792x1024");
  assert.equal(result.usage, undefined);
});

Deno.test("dall-e-2 passthrough: n and size unchanged, base64 requested", async () => {
  const mock = mockFetch(() => okResponse({}, 4));
  const client = createImageClient(CONFIG, { fetch: mock.fetch, registry });
  const result = await generateImages(
    client,
    normalizeGenerateRequest(
      { prompt: "p", model: "dall-e-2", n: 4, size: "512x512" },
      ctx("passthrough"),
    ),
  );
  assert.deepEqual(mock.calls[0].json, {
    model: "dall-e-2",
    prompt: "p",
    n: 4,
    size: "512x512",
    quality: "standard",
    response_format: "b64_json",
  });
  assert.equal(result.images.length, 4);
});

Deno.test("the translated dall-e-3 example reaches the upstream as a gpt-image-2 body", async () => {
  const mock = mockFetch();
  const client = createImageClient(CONFIG, { fetch: mock.fetch, registry });
  await generateImages(
    client,
    normalizeGenerateRequest(
      { prompt: "p", model: "dall-e-3", quality: "hd", style: "vivid", size: "1792x1024" },
      ctx("translate"),
    ),
  );
  const body = mock.calls[0].json!;
  assert.equal(body.model, "gpt-image-2");
  assert.equal(body.quality, "high");
  assert.equal("style" in body, false);
  assert.equal("response_format" in body, false);
});

Deno.test("gpt-image-2 edit: repeated image[] fields, a mask, and no input_fidelity", async () => {
  const mock = mockFetch();
  const client = createImageClient(CONFIG, { fetch: mock.fetch, registry });
  const normalized = normalizeEditRequest(
    { prompt: "add a hat", images: ["a.png", "b.png"], mask: "m.png", input_fidelity: "high" },
    ctx(),
  );
  await editImages(
    client,
    normalized,
    [PNG_INPUT("a.png"), PNG_INPUT("b.png")],
    PNG_INPUT("m.png"),
  );
  const call = mock.calls[0];
  assert.equal(call.url.pathname, "/v1/images/edits");
  assert.ok(call.form, "multipart body");
  assert.deepEqual(formFields(call.form), {
    model: ["gpt-image-2"],
    prompt: ["add a hat"],
    n: ["1"],
    size: ["1024x1024"],
    quality: ["medium"],
    output_format: ["png"],
    "image[]": ["file:a.png:image/png", "file:b.png:image/png"],
    mask: ["file:m.png:image/png"],
  });
});

Deno.test("gpt-image-1.5 edit: one image field and input_fidelity", async () => {
  const mock = mockFetch();
  const client = createImageClient(CONFIG, { fetch: mock.fetch, registry });
  const normalized = normalizeEditRequest(
    { prompt: "p", model: "gpt-image-1.5", images: ["a.png"], input_fidelity: "high" },
    ctx(),
  );
  await editImages(client, normalized, [PNG_INPUT("a.png")]);
  const fields = formFields(mock.calls[0].form!);
  assert.deepEqual(fields.image, ["file:a.png:image/png"]);
  assert.deepEqual(fields.input_fidelity, ["high"]);
  assert.equal("image[]" in fields, false);
});

Deno.test("dall-e-2 edit passthrough: image, mask and response_format b64_json", async () => {
  const mock = mockFetch();
  const client = createImageClient(CONFIG, { fetch: mock.fetch, registry });
  const normalized = normalizeEditRequest(
    { prompt: "p", model: "dall-e-2", images: ["a.png"], mask: "m.png", size: "512x512" },
    ctx("passthrough"),
  );
  await editImages(client, normalized, [PNG_INPUT("a.png")], PNG_INPUT("m.png"));
  assert.deepEqual(formFields(mock.calls[0].form!), {
    model: ["dall-e-2"],
    prompt: ["p"],
    n: ["1"],
    size: ["512x512"],
    quality: ["standard"],
    response_format: ["b64_json"],
    image: ["file:a.png:image/png"],
    mask: ["file:m.png:image/png"],
  });
});

Deno.test("edit inputs must match the request's references", async () => {
  const client = createImageClient(CONFIG, { fetch: mockFetch().fetch, registry });
  const normalized = normalizeEditRequest({ prompt: "p", images: ["a.png", "b.png"] }, ctx());
  await assert.rejects(() => editImages(client, normalized, [PNG_INPUT("a.png")]), RangeError);
});

Deno.test("Azure: deployment path, api-version query and api-key header", async () => {
  const mock = mockFetch();
  const client = createImageClient({
    ...CONFIG,
    openaiApiKey: undefined,
    azureEndpoint: "https://example-resource.openai.azure.com",
    azureApiKey: "azure-key-123",
    azureDeployment: "images-prod",
  }, { fetch: mock.fetch, registry });
  assert.equal(client.mode, "azure");
  await generateImages(client, normalizeGenerateRequest({ prompt: "p" }, ctx()));
  const call = mock.calls[0];
  assert.equal(
    call.url.href,
    "https://example-resource.openai.azure.com/openai/deployments/images-prod/images/generations?api-version=2025-04-01-preview",
  );
  assert.equal(call.headers.get("api-key"), "azure-key-123");
  assert.equal(call.headers.get("authorization"), null);
});

Deno.test("Azure without a deployment uses the model as the deployment", async () => {
  const mock = mockFetch();
  const client = createImageClient({
    ...CONFIG,
    azureEndpoint: "https://example-resource.openai.azure.com/",
    azureApiKey: "azure-key-123",
  }, { fetch: mock.fetch, registry });
  await generateImages(client, normalizeGenerateRequest({ prompt: "p" }, ctx()));
  assert.equal(mock.calls[0].url.pathname, "/openai/deployments/gpt-image-2/images/generations");
});

Deno.test("a compatible base URL, organization and project are used as configured", async () => {
  const mock = mockFetch();
  const client = createImageClient({
    ...CONFIG,
    openaiBaseUrl: "http://gateway.internal:8080/v1",
    openaiOrgId: "org-123",
    openaiProjectId: "proj-456",
  }, { fetch: mock.fetch, registry });
  assert.equal(client.mode, "compatible");
  await generateImages(client, normalizeGenerateRequest({ prompt: "p" }, ctx()));
  const call = mock.calls[0];
  assert.equal(call.url.href, "http://gateway.internal:8080/v1/images/generations");
  assert.equal(call.headers.get("openai-organization"), "org-123");
  assert.equal(call.headers.get("openai-project"), "proj-456");
});

Deno.test("invalid requests never reach the upstream", async () => {
  const mock = mockFetch();
  const client = createImageClient(CONFIG, { fetch: mock.fetch, registry });
  const invalid: unknown[] = [
    { prompt: "p", size: "1000x1000" },
    { prompt: "p", quality: "hd" },
    { prompt: "p", n: 0 },
    { prompt: "" },
    { prompt: "p", model: "dall-e-9" },
    { prompt: "p", output_compression: 50 },
    { prompt: "p", model: "dall-e-3", n: 2 },
    "just a string",
  ];
  for (const input of invalid) {
    const error = await rejectionOf(
      Promise.resolve().then(() =>
        generateImages(client, normalizeGenerateRequest(input, ctx("passthrough")))
      ),
    );
    assert.ok(error instanceof ValidationError, `${JSON.stringify(input)} is a ValidationError`);
  }
  const rejected = await rejectionOf(
    Promise.resolve().then(() =>
      generateImages(
        client,
        normalizeGenerateRequest({ prompt: "p", model: "dall-e-3" }, ctx("reject")),
      )
    ),
  );
  assert.equal(rejected.kind, "model_not_found");
  assert.equal(mock.calls.length, 0);
});

Deno.test("without an API key a generation says how to set OPENAI_API_KEY and sends nothing", async () => {
  const mock = mockFetch();
  const client = createImageClient({ ...CONFIG, openaiApiKey: undefined }, { fetch: mock.fetch });
  assert.equal(client.sdk, null);
  const error = await rejectionOf(
    generateImages(client, normalizeGenerateRequest({ prompt: "p" }, ctx())),
  );
  assert.equal(error.kind, "missing_api_key");
  assert.match(error.message, /set OPENAI_API_KEY/);
  assert.match(error.message, /claude_desktop_config\.json/);
  const azure = createImageClient({ ...CONFIG, azureEndpoint: "https://x.openai.azure.com" });
  const azureError = await rejectionOf(
    generateImages(azure, normalizeGenerateRequest({ prompt: "p" }, ctx())),
  );
  assert.match(azureError.message, /AZURE_OPENAI_API_KEY/);
  assert.equal(mock.calls.length, 0);
});

const ERROR_CASES: {
  name: string;
  response: () => Response;
  kind: string;
  check?: (error: AppError) => void;
}[] = [
  {
    name: "moderation block with categories",
    response: () =>
      errorResponse(400, {
        message: "Your request was rejected by the safety system.",
        type: "image_generation_user_error",
        code: "moderation_blocked",
        moderation_details: { categories: ["violence"] },
      }),
    kind: "moderation_blocked",
    check: (e) => assert.deepEqual(e.details?.categories, ["violence"]),
  },
  {
    name: "unknown parameter",
    response: () =>
      errorResponse(400, {
        message: "Unknown parameter: 'style'.",
        param: "style",
        code: "unknown_parameter",
      }),
    kind: "upstream_invalid_request",
    check: (e) => {
      assert.equal(e.field, "style");
      assert.match(e.message, /Unknown parameter: 'style'/);
    },
  },
  {
    name: "bad API key",
    response: () =>
      errorResponse(401, {
        message: `Incorrect API key provided: ${API_KEY.slice(0, 10)}***7890.`,
        code: "invalid_api_key",
      }),
    kind: "upstream_auth",
    check: (e) => {
      assert.match(e.message, /OpenAI rejected the API key: set OPENAI_API_KEY to a valid key/);
      assert.ok(!e.message.includes("sk-"), "no key fragment in the message");
      assert.ok(!JSON.stringify(e.toJSON()).includes("sk-"));
    },
  },
  {
    name: "organization verification",
    response: () =>
      errorResponse(403, {
        message: "Your organization must be verified to use the model `gpt-image-2`.",
      }),
    kind: "upstream_verification_required",
  },
  {
    name: "model not found",
    response: () =>
      errorResponse(404, {
        message: "The model `gpt-image-2` does not exist.",
        code: "model_not_found",
      }),
    kind: "model_not_found",
  },
  {
    name: "rate limit with retry-after",
    response: () =>
      errorResponse(429, { message: "Rate limit reached", code: "rate_limit_exceeded" }, {
        "retry-after": "7",
      }),
    kind: "upstream_rate_limited",
    check: (e) => assert.equal(e.retryAfterSeconds, 7),
  },
  {
    name: "insufficient quota",
    response: () =>
      errorResponse(429, {
        message: "You exceeded your current quota",
        code: "insufficient_quota",
      }),
    kind: "upstream_quota",
  },
  {
    name: "billing hard limit",
    response: () =>
      errorResponse(400, {
        message: "Billing hard limit has been reached.",
        code: "billing_hard_limit_reached",
      }),
    kind: "upstream_quota",
  },
  {
    name: "server error",
    response: () => errorResponse(500, { message: "The server had an error" }),
    kind: "upstream_unavailable",
  },
  {
    name: "malformed JSON",
    response: () =>
      new Response('{"created": 1, "data": [', { headers: { "content-type": "application/json" } }),
    kind: "upstream_unavailable",
  },
  {
    name: "a response without images",
    response: () => Response.json({ created: 1 }),
    kind: "upstream_unavailable",
  },
  {
    name: "a URL instead of image data",
    response: () => Response.json({ created: 1, data: [{ url: "https://example.com/x.png" }] }),
    kind: "upstream_unavailable",
  },
];

for (const { name, response, kind, check } of ERROR_CASES) {
  Deno.test(`upstream failure "${name}" becomes ${kind}`, async () => {
    const mock = mockFetch(response);
    const client = createImageClient(CONFIG, { fetch: mock.fetch, registry, now: () => NOW });
    const error = await rejectionOf(
      generateImages(client, normalizeGenerateRequest({ prompt: "p" }, ctx())),
    );
    assert.equal(error.kind, kind, error.message);
    assert.ok(!error.message.endsWith("."), "no trailing period");
    check?.(error);
  });
}

Deno.test("model_not_found from upstream suggests the registry's replacement", async () => {
  const mock = mockFetch(() =>
    errorResponse(404, { message: "The model `dall-e-3` does not exist", code: "model_not_found" })
  );
  const client = createImageClient(CONFIG, { fetch: mock.fetch, registry, now: () => NOW });
  const error = await rejectionOf(
    generateImages(
      client,
      normalizeGenerateRequest({ prompt: "p", model: "dall-e-3" }, ctx("passthrough")),
    ),
  );
  assert.equal(error.kind, "model_not_found");
  assert.match(error.message, /use "gpt-image-2" instead/);
  assert.equal(error.details?.replacement, "gpt-image-2");
});

Deno.test("a connection failure becomes upstream_unavailable", async () => {
  const mock = mockFetch(() =>
    Promise.reject(new TypeError("error sending request: connection refused"))
  );
  const client = createImageClient(CONFIG, { fetch: mock.fetch, registry });
  const error = await rejectionOf(
    generateImages(client, normalizeGenerateRequest({ prompt: "p" }, ctx())),
  );
  assert.equal(error.kind, "upstream_unavailable");
});

Deno.test("a 429 with retry-after is retried after that delay and then succeeds", async () => {
  const mock = mockFetch((_, index) =>
    index === 0
      ? errorResponse(429, { message: "Rate limit", code: "rate_limit_exceeded" }, {
        "retry-after-ms": "30",
        "retry-after": "1",
      })
      : okResponse()
  );
  const client = createImageClient({ ...CONFIG, openaiMaxRetries: 2 }, {
    fetch: mock.fetch,
    registry,
  });
  const result = await generateImages(client, normalizeGenerateRequest({ prompt: "p" }, ctx()));
  assert.equal(result.images.length, 1);
  assert.equal(mock.calls.length, 2);
  assert.deepEqual(mock.calls[1].json, mock.calls[0].json, "the retry sends the same body");
});

Deno.test("an already aborted signal cancels before anything is sent", async () => {
  const mock = mockFetch();
  const client = createImageClient(CONFIG, { fetch: mock.fetch, registry });
  const controller = new AbortController();
  controller.abort();
  const error = await rejectionOf(
    generateImages(client, normalizeGenerateRequest({ prompt: "p" }, ctx()), {
      signal: controller.signal,
    }),
  );
  assert.equal(error.kind, "cancelled");
  assert.equal(mock.calls.length, 0);
});

Deno.test("aborting a running generation aborts the upstream fetch", async () => {
  const controller = new AbortController();
  const mock = mockFetch((call) => {
    queueMicrotask(() => controller.abort());
    return hangUntilAborted(call);
  });
  const client = createImageClient(CONFIG, { fetch: mock.fetch, registry });
  const error = await rejectionOf(
    generateImages(client, normalizeGenerateRequest({ prompt: "p" }, ctx()), {
      signal: controller.signal,
    }),
  );
  assert.equal(error.kind, "cancelled");
  assert.equal(mock.calls[0].signal?.aborted, true, "the signal reached fetch");
});

Deno.test("an upstream that does not answer in OPENAI_TIMEOUT_MS becomes upstream_timeout", async () => {
  const mock = mockFetch(hangUntilAborted);
  const client = createImageClient({ ...CONFIG, openaiTimeoutMs: 50 }, {
    fetch: mock.fetch,
    registry,
  });
  const error = await rejectionOf(
    generateImages(client, normalizeGenerateRequest({ prompt: "p" }, ctx())),
  );
  assert.equal(error.kind, "upstream_timeout");
  assert.match(error.message, /OPENAI_TIMEOUT_MS/);
});

Deno.test("partial images stream in order and the final image is returned", async () => {
  const mock = mockFetch(() => sse([partial(0), partial(1), partial(2), completed()]));
  const client = createImageClient(CONFIG, { fetch: mock.fetch, registry });
  const seen: number[] = [];
  const result = await generateImages(
    client,
    normalizeGenerateRequest({ prompt: "p", partial_images: 3 }, ctx()),
    {
      onPartialImage: async (p) => {
        // Later partials finish faster: order must still hold because callbacks are awaited.
        await sleep(15 - p.index * 5);
        assert.deepEqual(p.bytes, PNG);
        seen.push(p.index);
      },
    },
  );
  assert.deepEqual(seen, [0, 1, 2]);
  assert.equal(mock.calls[0].json?.stream, true);
  assert.equal(mock.calls[0].json?.partial_images, 3);
  assert.deepEqual(result.images.map((i) => i.bytes), [PNG]);
  assert.deepEqual(result.usage, USAGE);
});

Deno.test("edits stream image_edit events the same way", async () => {
  const mock = mockFetch(() =>
    sse([partial(0, "image_edit"), partial(1, "image_edit"), completed("image_edit")])
  );
  const client = createImageClient(CONFIG, { fetch: mock.fetch, registry });
  const seen: number[] = [];
  const result = await editImages(
    client,
    normalizeEditRequest({ prompt: "p", images: ["a.png"], partial_images: 2 }, ctx()),
    [PNG_INPUT("a.png")],
    undefined,
    { onPartialImage: (p) => void seen.push(p.index) },
  );
  assert.deepEqual(seen, [0, 1]);
  assert.deepEqual(formFields(mock.calls[0].form!).stream, ["true"]);
  assert.equal(result.images.length, 1);
});

Deno.test("an error event inside a stream is mapped like an error response", async () => {
  const mock = mockFetch(() =>
    sse([partial(0), {
      type: "error",
      error: { message: "Blocked by the safety system", code: "moderation_blocked" },
    }])
  );
  const client = createImageClient(CONFIG, { fetch: mock.fetch, registry });
  const error = await rejectionOf(
    generateImages(client, normalizeGenerateRequest({ prompt: "p", partial_images: 1 }, ctx())),
  );
  assert.equal(error.kind, "moderation_blocked");
});

Deno.test("a stream that ends without a final image is upstream_unavailable", async () => {
  const mock = mockFetch(() => sse([partial(0)]));
  const client = createImageClient(CONFIG, { fetch: mock.fetch, registry });
  const error = await rejectionOf(
    generateImages(client, normalizeGenerateRequest({ prompt: "p", partial_images: 1 }, ctx())),
  );
  assert.equal(error.kind, "upstream_unavailable");
});

Deno.test("aborting during a stream cancels it and closes the upstream body", async () => {
  let bodyCancelled = false;
  const mock = mockFetch(() => sse([partial(0)], { keepOpen: () => (bodyCancelled = true) }));
  const client = createImageClient(CONFIG, { fetch: mock.fetch, registry });
  const controller = new AbortController();
  const error = await rejectionOf(
    generateImages(client, normalizeGenerateRequest({ prompt: "p", partial_images: 2 }, ctx()), {
      signal: controller.signal,
      onPartialImage: () => controller.abort(),
    }),
  );
  assert.equal(error.kind, "cancelled");
  assert.equal(bodyCancelled, true);
});

Deno.test("a stream that stalls past OPENAI_TIMEOUT_MS becomes upstream_timeout", async () => {
  let bodyCancelled = false;
  const mock = mockFetch(() => sse([partial(0)], { keepOpen: () => (bodyCancelled = true) }));
  const client = createImageClient({ ...CONFIG, openaiTimeoutMs: 80 }, {
    fetch: mock.fetch,
    registry,
  });
  const error = await rejectionOf(
    generateImages(client, normalizeGenerateRequest({ prompt: "p", partial_images: 2 }, ctx())),
  );
  assert.equal(error.kind, "upstream_timeout");
  assert.equal(bodyCancelled, true);
});

Deno.test("mapUpstreamError keeps AppErrors and maps aborts and unknown failures", () => {
  const own = new AppError("storage", "Disk full");
  assert.equal(mapUpstreamError(own, { model: "gpt-image-2", registry }), own);
  assert.equal(
    mapUpstreamError(new APIUserAbortError(), { model: "gpt-image-2", registry }).kind,
    "cancelled",
  );
  assert.equal(
    mapUpstreamError(new DOMException("x", "AbortError"), { model: "m", registry }).kind,
    "cancelled",
  );
  const odd = mapUpstreamError("weird", { model: "gpt-image-2", registry });
  assert.equal(odd.kind, "upstream_unavailable");
  const leaky = mapUpstreamError(new Error(`socket closed for ${API_KEY}`), {
    model: "gpt-image-2",
    registry,
  });
  assert.ok(!leaky.message.includes(API_KEY));
});

// --- Against the fake OpenAI server (tests/fake_openai.ts): real HTTP, real SDK behaviour. ---

function fakeConfig(fake: FakeOpenAI, extra: Partial<ImageClientConfig> = {}): ImageClientConfig {
  return { ...CONFIG, openaiBaseUrl: fake.baseUrl, ...extra };
}

Deno.test("fake: a gpt-image-2 generation sends exactly the normalized fields and decodes a PNG", async () => {
  await using fake = await startFakeOpenAI();
  const client = createImageClient(fakeConfig(fake), { registry });
  const normalized = normalizeGenerateRequest(
    { prompt: "a fox", size: "1536x864", quality: "low", background: "opaque", style: "vivid" },
    ctx(),
  );
  const result = await generateImages(client, normalized);
  assert.deepEqual(fake.lastRequest?.fields, { ...normalized.upstream });
  const probe = probeImage(result.images[0].bytes!);
  assert.deepEqual([probe?.format, probe?.width, probe?.height], ["png", 1536, 864]);
  assert.ok(result.usage && result.usage.output_tokens! > 0);
});

Deno.test("fake: every injected fault maps to its documented error kind", async () => {
  await using fake = await startFakeOpenAI();
  const client = createImageClient(fakeConfig(fake, { openaiTimeoutMs: 1000 }), {
    registry,
    now: () => NOW,
  });
  const cases: [string, string, ((e: AppError) => void)?][] = [
    ["rate_limit", "upstream_rate_limited", (e) => assert.equal(e.retryAfterSeconds, 1)],
    ["quota", "upstream_quota"],
    [
      "moderation=sexual",
      "moderation_blocked",
      (e) => assert.deepEqual(e.details?.categories, ["sexual"]),
    ],
    ["unauthorized", "upstream_auth", (e) => assert.ok(!e.message.includes("sk-"))],
    ["org_verification", "upstream_verification_required"],
    ["billing", "upstream_quota"],
    ["server_error", "upstream_unavailable"],
    ["overloaded", "upstream_unavailable"],
    ["reset", "upstream_unavailable"],
    ["malformed_json", "upstream_unavailable"],
    ["hang", "upstream_timeout"],
  ];
  for (const [fault, kind, check] of cases) {
    const error = await rejectionOf(
      generateImages(client, normalizeGenerateRequest({ prompt: `a cat [fault:${fault}]` }, ctx())),
    );
    assert.equal(error.kind, kind, `${fault}: ${error.message}`);
    check?.(error);
  }
});

Deno.test("fake: faults inside a stream map to upstream_unavailable", async () => {
  await using fake = await startFakeOpenAI();
  const client = createImageClient(fakeConfig(fake), { registry });
  for (const fault of ["stream_error", "stream_cut"]) {
    const error = await rejectionOf(
      generateImages(
        client,
        normalizeGenerateRequest({ prompt: `a cat [fault:${fault}]`, partial_images: 2 }, ctx()),
      ),
    );
    assert.equal(error.kind, "upstream_unavailable", `${fault}: ${error.message}`);
  }
});

Deno.test("fake: a retired model the server refuses becomes model_not_found with a replacement", async () => {
  await using fake = await startFakeOpenAI();
  const client = createImageClient(fakeConfig(fake), { registry, now: () => NOW });
  const error = await rejectionOf(
    generateImages(
      client,
      normalizeGenerateRequest({ prompt: "p", model: "dall-e-3" }, ctx("passthrough")),
    ),
  );
  assert.equal(error.kind, "model_not_found", error.message);
  assert.match(error.message, /"gpt-image-2"/);
});

Deno.test("fake: rate_limit_once with OPENAI_MAX_RETRIES=2 succeeds after retry-after", async () => {
  await using fake = await startFakeOpenAI({ retryAfterMs: 200 });
  const client = createImageClient(fakeConfig(fake, { openaiMaxRetries: 2 }), { registry });
  const result = await generateImages(
    client,
    normalizeGenerateRequest({ prompt: "patience [fault:rate_limit_once]", quality: "low" }, ctx()),
  );
  assert.equal(result.images.length, 1);
  assert.deepEqual(fake.requests.map((r) => r.status), [429, 200]);
});

Deno.test("fake: aborting a generation closes the upstream connection", async () => {
  await using fake = await startFakeOpenAI({ latencyMs: 10_000 });
  const client = createImageClient(fakeConfig(fake), { registry });
  const controller = new AbortController();
  const pending = generateImages(client, normalizeGenerateRequest({ prompt: "p" }, ctx()), {
    signal: controller.signal,
  });
  await eventually(() => fake.stats.inFlight === 1, "the request to reach the fake");
  controller.abort();
  const error = await rejectionOf(pending);
  assert.equal(error.kind, "cancelled");
  await eventually(() => fake.stats.connectionsClosedByClient === 1, "the fake to see the close");
  assert.equal(fake.stats.requestsServed, 0);
});

Deno.test("fake: aborting during a stream closes the upstream connection", async () => {
  await using fake = await startFakeOpenAI({ streamIntervalMs: 200 });
  const client = createImageClient(fakeConfig(fake), { registry });
  const controller = new AbortController();
  const error = await rejectionOf(
    generateImages(
      client,
      normalizeGenerateRequest({ prompt: "p", partial_images: 3, quality: "low" }, ctx()),
      { signal: controller.signal, onPartialImage: () => controller.abort() },
    ),
  );
  assert.equal(error.kind, "cancelled");
  await eventually(() => fake.stats.connectionsClosedByClient === 1, "the fake to see the close");
});

Deno.test("fake: partial-image callbacks fire in order before the final image", async () => {
  await using fake = await startFakeOpenAI();
  const client = createImageClient(fakeConfig(fake), { registry });
  const seen: number[] = [];
  const result = await generateImages(
    client,
    normalizeGenerateRequest({ prompt: "p", partial_images: 3, quality: "low" }, ctx()),
    {
      onPartialImage: (p) => {
        assert.equal(probeImage(p.bytes)?.format, "png");
        seen.push(p.index);
      },
    },
  );
  assert.deepEqual(seen, [0, 1, 2]);
  assert.equal(result.images.length, 1);
  assert.equal(fake.lastRequest?.fields?.stream, true);
});

Deno.test("fake: an edit uploads image[] files and a mask as multipart", async () => {
  await using fake = await startFakeOpenAI();
  const client = createImageClient(fakeConfig(fake), { registry });
  const source = await generateImages(
    client,
    normalizeGenerateRequest({ prompt: "base", background: "transparent", quality: "low" }, ctx()),
  );
  const png = source.images[0].bytes!; // no sinkFor: in memory
  const input = (name: string) => ({ bytes: png, filename: name, mime: "image/png" });
  const normalized = normalizeEditRequest(
    { prompt: "add a hat", images: ["a.png", "b.png"], mask: "m.png", quality: "low" },
    ctx(),
  );
  const result = await editImages(
    client,
    normalized,
    [input("a.png"), input("b.png")],
    input("m.png"),
  );
  assert.equal(result.images.length, 1);
  const fields = fake.lastRequest?.fields ?? {};
  assert.equal(fake.lastRequest?.path, "/v1/images/edits");
  assert.equal((fields["image[]"] as unknown[]).length, 2);
  assert.ok(fields.mask, "mask uploaded");
  assert.equal(fields.model, "gpt-image-2");
  assert.equal("input_fidelity" in fields, false);
});

Deno.test("fake: Azure mode reaches the deployment route with api-version", async () => {
  await using fake = await startFakeOpenAI();
  const client = createImageClient({
    ...CONFIG,
    openaiApiKey: undefined,
    azureEndpoint: fake.azureEndpoint,
    azureApiKey: "azure-key",
    azureDeployment: "gpt-image-2",
  }, { registry });
  const result = await generateImages(
    client,
    normalizeGenerateRequest({ prompt: "p", quality: "low" }, ctx()),
  );
  assert.equal(result.images.length, 1);
  assert.equal(fake.lastRequest?.path, "/openai/deployments/gpt-image-2/images/generations");
  assert.equal(fake.lastRequest?.query["api-version"], "2025-04-01-preview");
  assert.equal(fake.lastRequest?.headers["api-key"], "[present]");
});

Deno.test("an error thrown by the partial-image callback reaches the caller unchanged", async () => {
  const mock = mockFetch(() => sse([partial(0), partial(1), completed()]));
  const client = createImageClient(CONFIG, { fetch: mock.fetch, registry });
  const failure = new Error("preview store is full");
  await assert.rejects(
    generateImages(client, normalizeGenerateRequest({ prompt: "p", partial_images: 2 }, ctx()), {
      onPartialImage: () => {
        throw failure;
      },
    }),
    (error) => error === failure,
  );
});

// The upstream is not trusted: what it sends is bounded by what was asked for.
for (const stream of [false, true]) {
  const how = stream ? "streamed" : "JSON";
  const streaming = stream ? { partial_images: 1 } : {};

  Deno.test(`fake (${how}): more images than asked are cut to n, and only n are decoded`, async () => {
    await using fake = await startFakeOpenAI();
    const client = createImageClient(fakeConfig(fake), { registry });
    const result = await generateImages(
      client,
      normalizeGenerateRequest(
        { prompt: "two foxes [fault:extra_images=3]", n: 2, size: "1024x1024", ...streaming },
        ctx(),
      ),
    );
    assert.equal(fake.stats.imagesProduced, 5, "the upstream sent 5");
    assert.equal(result.images.length, 2);
    for (const image of result.images) assert.equal(probeImage(image.bytes!)?.format, "png");
  });

  Deno.test(`fake (${how}): image data over the limit is refused as upstream_unavailable`, async () => {
    await using fake = await startFakeOpenAI();
    const client = createImageClient(fakeConfig(fake), {
      registry,
      maxImageBytes: 1024 * 1024,
    });
    const error = await rejectionOf(
      generateImages(
        client,
        normalizeGenerateRequest({ prompt: "a fox [fault:huge_image=3]", ...streaming }, ctx()),
      ),
    );
    assert.equal(error.kind, "upstream_unavailable");
    assert.match(error.message, /^The image API sent image 0 larger than 1 MiB: refused/);
  });

  Deno.test(`fake (${how}): impossible usage figures are dropped, not priced`, async () => {
    await using fake = await startFakeOpenAI();
    const client = createImageClient(fakeConfig(fake), { registry });
    const result = await generateImages(
      client,
      normalizeGenerateRequest({ prompt: "a fox [fault:absurd_usage]", ...streaming }, ctx()),
    );
    assert.equal(result.images.length, 1);
    assert.equal(result.usage, undefined);
  });
}

Deno.test("believable usage keeps only the figures pricing reads, within n × 1,000,000", () => {
  assert.deepEqual(
    believableUsage({ ...USAGE, junk: "x".repeat(100_000) }, 1),
    USAGE,
  );
  assert.equal(believableUsage({ output_tokens: 1_000_001 }, 1), undefined);
  assert.deepEqual(believableUsage({ output_tokens: 1_000_001 }, 2), { output_tokens: 1_000_001 });
  assert.equal(believableUsage({ input_tokens: 1.5 }, 1), undefined);
  assert.equal(believableUsage({ input_tokens_details: "none" }, 1), undefined);
  assert.equal(believableUsage(null, 1), undefined);
});
