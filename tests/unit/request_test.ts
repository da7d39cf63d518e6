import assert from "node:assert/strict";
import { z } from "zod";
import { AppError, ValidationError } from "../../src/errors.ts";
import {
  createModelRegistry,
  EditRequestSchema,
  GenerateRequestSchema,
  type NormalizeContext,
  normalizeEditRequest,
  normalizeGenerateRequest,
} from "../../src/generation/mod.ts";

const NOW = new Date("2026-11-24T12:00:00Z");
const registry = createModelRegistry();

function ctx(
  legacyModels: "translate" | "reject" | "passthrough" = "translate",
  extra: Partial<NormalizeContext["config"]> = {},
  now = NOW,
): NormalizeContext {
  return {
    registry,
    config: { defaultModel: "gpt-image-2", defaultQuality: "medium", legacyModels, ...extra },
    now,
  };
}

function rejection(fn: () => unknown): AppError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof AppError, `expected AppError, got ${error}`);
    return error;
  }
  assert.fail("expected the request to be rejected");
}

function validation(input: unknown, context = ctx()): ValidationError {
  const error = rejection(() => normalizeGenerateRequest(input, context));
  assert.ok(error instanceof ValidationError, `expected ValidationError, got ${error.kind}`);
  return error;
}

const DALL_E_3_EXAMPLE = {
  prompt: "A lighthouse at dusk",
  model: "dall-e-3",
  quality: "hd",
  style: "vivid",
  size: "1792x1024",
};
const DALL_E_2_EXAMPLE = {
  prompt: "A lighthouse at dusk",
  model: "dall-e-2",
  n: 4,
  size: "512x512",
};

Deno.test("a bare prompt gets the default model, quality, size and format", () => {
  const { request, upstream, warnings } = normalizeGenerateRequest({ prompt: "a red fox" }, ctx());
  assert.deepEqual(upstream, {
    model: "gpt-image-2",
    prompt: "a red fox",
    n: 1,
    size: "1024x1024",
    quality: "medium",
    output_format: "png",
  });
  assert.equal(request.model, "gpt-image-2");
  assert.equal(request.save, true);
  assert.equal(request.stream, false);
  assert.equal(request.partialImages, 0);
  assert.equal(request.background, "auto");
  assert.equal(request.moderation, "auto");
  assert.deepEqual(warnings, []);
});

Deno.test("gpt-image-2 gets every GPT option it accepts and never response_format or style", () => {
  const { upstream, request, warnings } = normalizeGenerateRequest({
    prompt: "a logo",
    model: "gpt-image-2",
    size: "1536x864",
    quality: "high",
    n: 2,
    background: "transparent",
    output_format: "webp",
    output_compression: 80,
    moderation: "low",
    response_format: "url",
    style: "natural",
    user: "user-123",
    save: false,
  }, ctx());
  assert.deepEqual(upstream, {
    model: "gpt-image-2",
    prompt: "a logo",
    n: 2,
    size: "1536x864",
    quality: "high",
    output_format: "webp",
    output_compression: 80,
    background: "transparent",
    moderation: "low",
    safety_identifier: "user-123",
  });
  assert.equal(request.responseFormat, "url", "the door still learns what the caller wants");
  assert.equal(request.save, false);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /style "natural" is not supported by gpt-image-2 and was dropped/);
});

Deno.test("partial previews turn on streaming, and only then", () => {
  const streamed = normalizeGenerateRequest({ prompt: "p", partial_images: 2 }, ctx());
  assert.equal(streamed.upstream.stream, true);
  assert.equal(streamed.upstream.partial_images, 2);
  assert.equal(streamed.request.stream, true);
  const none = normalizeGenerateRequest({ prompt: "p", partial_images: 0 }, ctx());
  assert.equal("stream" in none.upstream, false);
  assert.equal("partial_images" in none.upstream, false);
});

Deno.test("size auto is accepted and sent as is", () => {
  const { upstream } = normalizeGenerateRequest({ prompt: "p", size: "auto" }, ctx());
  assert.equal(upstream.size, "auto");
});

Deno.test("an invalid gpt-image-2 size names the rule and the nearest valid sizes", () => {
  const error = validation({ prompt: "p", size: "1000x1000" });
  assert.equal(error.field, "size");
  assert.equal(
    error.message,
    'Invalid size "1000x1000" for gpt-image-2: both sides must be divisible by 16 (nearest valid: 992x992 or 1008x1008)',
  );
  assert.deepEqual(error.details?.nearest, ["992x992", "1008x1008"]);
});

Deno.test("sizes are read leniently: case, spaces and the multiplication sign", () => {
  const { upstream } = normalizeGenerateRequest({ prompt: "p", size: " 1536 × 1024 " }, ctx());
  assert.equal(upstream.size, "1536x1024");
});

Deno.test("an experimental size is accepted with a warning", () => {
  const { warnings } = normalizeGenerateRequest({ prompt: "p", size: "3840x2160" }, ctx());
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /experimental/);
});

Deno.test("gpt-image-1.5 works with a dated shutdown warning and takes listed sizes only", () => {
  const { upstream, warnings } = normalizeGenerateRequest(
    { prompt: "p", model: "gpt-image-1.5", size: "1536x1024" },
    ctx(),
  );
  assert.equal(upstream.model, "gpt-image-1.5");
  assert.deepEqual(warnings, [
    'Model "gpt-image-1.5" will be shut down on 2026-12-01: switch to "gpt-image-2"',
  ]);
  const error = validation({ prompt: "p", model: "gpt-image-1.5", size: "2048x1024" });
  assert.match(error.message, /accepted: 1024x1024, 1536x1024, 1024x1536, auto/);
  assert.match(error.message, /nearest valid: 1536x1024/);
});

Deno.test("after its shutdown day gpt-image-1-mini is treated as retired", () => {
  const after = new Date("2026-12-02T00:00:00Z");
  const { upstream, warnings } = normalizeGenerateRequest(
    { prompt: "p", model: "gpt-image-1-mini" },
    ctx("translate", {}, after),
  );
  assert.equal(upstream.model, "gpt-image-2");
  assert.match(warnings[0], /retired on 2026-12-01.*translated to "gpt-image-2"/);
});

Deno.test("translate: the dall-e-3 example becomes gpt-image-2 with a warning per change", () => {
  const { request, upstream, warnings } = normalizeGenerateRequest(DALL_E_3_EXAMPLE, ctx());
  assert.deepEqual(upstream, {
    model: "gpt-image-2",
    prompt: "A lighthouse at dusk",
    n: 1,
    size: "1792x1024",
    quality: "high",
    output_format: "png",
  });
  assert.equal(request.translatedFrom, "dall-e-3");
  assert.equal(request.requestedModel, "dall-e-3");
  assert.equal(warnings.length, 3);
  assert.match(warnings[0], /"dall-e-3" was retired on 2026-05-12.*translated to "gpt-image-2"/);
  assert.match(warnings[1], /Quality "hd" became "high"/);
  assert.match(warnings[2], /style "vivid" .* dropped/);
});

Deno.test("translate: the dall-e-2 example keeps n and grows 512x512 to 1024x1024", () => {
  const { upstream, warnings } = normalizeGenerateRequest(DALL_E_2_EXAMPLE, ctx());
  assert.deepEqual(upstream, {
    model: "gpt-image-2",
    prompt: "A lighthouse at dusk",
    n: 4,
    size: "1024x1024",
    quality: "medium",
    output_format: "png",
  });
  assert.match(warnings[1], /Size "512x512" became "1024x1024"/);
});

Deno.test("translate to a 1.x default maps 1792x1024 to 1536x1024 and standard to medium", () => {
  const { upstream, warnings } = normalizeGenerateRequest(
    { ...DALL_E_3_EXAMPLE, quality: "standard", response_format: "url" },
    ctx("translate", { defaultModel: "gpt-image-1.5" }),
  );
  assert.equal(upstream.model, "gpt-image-1.5");
  assert.equal(upstream.size, "1536x1024");
  assert.equal(upstream.quality, "medium");
  assert.equal("response_format" in upstream, false);
  assert.ok(warnings.some((w) => /response_format "url" is not sent/.test(w)));
  assert.ok(warnings.some((w) => /Size "1792x1024" became "1536x1024"/.test(w)));
});

Deno.test("reject: a retired model answers model_not_found naming the replacement", () => {
  for (const example of [DALL_E_3_EXAMPLE, DALL_E_2_EXAMPLE]) {
    const error = rejection(() => normalizeGenerateRequest(example, ctx("reject")));
    assert.equal(error.kind, "model_not_found");
    assert.equal(error.field, "model");
    assert.match(error.message, /was retired on 2026-05-12: use "gpt-image-2" instead/);
    assert.equal(error.details?.replacement, "gpt-image-2");
  }
});

Deno.test("passthrough: the dall-e-3 example is sent unchanged, as base64", () => {
  const { upstream, request, warnings } = normalizeGenerateRequest(
    DALL_E_3_EXAMPLE,
    ctx("passthrough"),
  );
  assert.deepEqual(upstream, {
    model: "dall-e-3",
    prompt: "A lighthouse at dusk",
    n: 1,
    size: "1792x1024",
    quality: "hd",
    style: "vivid",
    response_format: "b64_json",
  });
  assert.equal(request.background, null);
  assert.equal(request.outputFormat, "png");
  assert.match(warnings[0], /sent unchanged because LEGACY_MODELS=passthrough/);
});

Deno.test("passthrough: the dall-e-2 example is sent unchanged with its own quality", () => {
  const { upstream } = normalizeGenerateRequest(DALL_E_2_EXAMPLE, ctx("passthrough"));
  assert.deepEqual(upstream, {
    model: "dall-e-2",
    prompt: "A lighthouse at dusk",
    n: 4,
    size: "512x512",
    quality: "standard",
    response_format: "b64_json",
  });
});

Deno.test("passthrough validates against the old model's own rules", () => {
  const n = validation({ ...DALL_E_3_EXAMPLE, n: 2 }, ctx("passthrough"));
  assert.equal(n.field, "n");
  assert.match(n.message, /Invalid n 2 for dall-e-3: accepted: 1/);
  const prompt = validation({ ...DALL_E_2_EXAMPLE, prompt: "x".repeat(1001) }, ctx("passthrough"));
  assert.match(prompt.message, /1001 characters \(accepted: at most 1000, counted in UTF-16/);
  const size = validation({ ...DALL_E_2_EXAMPLE, size: "1792x1024" }, ctx("passthrough"));
  assert.match(size.message, /accepted: 256x256, 512x512, 1024x1024/);
});

Deno.test("validation errors name the field, the value, what is accepted and the nearest", () => {
  const quality = validation({ prompt: "p", quality: "hd" }, ctx("reject"));
  assert.equal(quality.field, "quality");
  assert.equal(
    quality.message,
    'Invalid quality "hd" for gpt-image-2: accepted: low, medium, high, auto (nearest valid: high)',
  );
  const model = validation({ prompt: "p", model: "gpt-imag-2" });
  assert.equal(model.field, "model");
  assert.match(
    model.message,
    /Invalid model "gpt-imag-2": unknown model \(accepted: .*gpt-image-2/,
  );
  assert.match(model.message, /nearest valid: gpt-image-2/);
  const n = validation({ prompt: "p", n: 11 });
  assert.equal(n.message, "Invalid n 11: accepted: an integer from 1 to 10 (nearest valid: 10)");
  const style = validation({ prompt: "p", style: "vivd" });
  assert.match(style.message, /accepted: vivid, natural \(nearest valid: vivid\)/);
  const missing = validation({ model: "gpt-image-2" });
  assert.equal(missing.field, "prompt");
  assert.match(missing.message, /^Missing prompt/);
  const blank = validation({ prompt: "   " });
  assert.equal(blank.field, "prompt");
  const notObject = validation("draw a cat");
  assert.equal(notObject.field, "request");
});

Deno.test("format-dependent options are checked together", () => {
  const compression = validation({ prompt: "p", output_compression: 50 });
  assert.equal(compression.field, "output_compression");
  assert.match(compression.message, /jpeg and webp only/);
  const transparent = validation({ prompt: "p", background: "transparent", output_format: "jpeg" });
  assert.equal(transparent.field, "background");
  const ok = normalizeGenerateRequest(
    { prompt: "p", output_format: "jpeg", output_compression: 0 },
    ctx(),
  );
  assert.equal(ok.upstream.output_compression, 0);
});

Deno.test("tolerant input: nulls are absent, numeric strings are numbers, unknown keys warn", () => {
  const { upstream, request, warnings } = normalizeGenerateRequest(
    { prompt: "p", n: "3", style: null, model: "", save: "false", extra: 1, Model: "x" },
    ctx(),
  );
  assert.equal(upstream.n, 3);
  assert.equal(request.save, false);
  assert.equal(upstream.model, "gpt-image-2");
  assert.deepEqual(warnings, ['Ignored unknown fields "extra", "Model"']);
});

Deno.test("DEFAULT_QUALITY applies when the model accepts it, else the model's own default", () => {
  const high = normalizeGenerateRequest(
    { prompt: "p" },
    ctx("translate", { defaultQuality: "high" }),
  );
  assert.equal(high.upstream.quality, "high");
  const dalle = normalizeGenerateRequest(
    { prompt: "p", model: "dall-e-3" },
    ctx("passthrough", { defaultQuality: "high" }),
  );
  assert.equal(dalle.upstream.quality, "standard");
});

Deno.test("safety_identifier wins over user, and dall-e gets user", () => {
  const both = normalizeGenerateRequest(
    { prompt: "p", user: "old", safety_identifier: "new" },
    ctx(),
  );
  assert.equal(both.upstream.safety_identifier, "new");
  assert.equal("user" in both.upstream, false);
  const legacy = normalizeGenerateRequest(
    { prompt: "p", model: "dall-e-3", safety_identifier: "id-1" },
    ctx("passthrough"),
  );
  assert.equal(legacy.upstream.user, "id-1");
});

Deno.test("gpt-image-2.5 accepts xhigh; gpt-image-2 refuses it", () => {
  const flare = normalizeGenerateRequest(
    { prompt: "p", model: "gpt-image-2.5-flare", quality: "xhigh" },
    ctx(),
  );
  assert.equal(flare.upstream.quality, "xhigh");
  assert.equal(validation({ prompt: "p", quality: "xhigh" }).field, "quality");
});

Deno.test("edits: gpt-image-2 takes images and mask, and input_fidelity is dropped", () => {
  const { request, upstream, warnings } = normalizeEditRequest({
    prompt: "add a hat",
    images: ["a.png", "b.png"],
    mask: "mask.png",
    input_fidelity: "high",
    partial_images: 1,
  }, ctx());
  assert.deepEqual(upstream, {
    model: "gpt-image-2",
    prompt: "add a hat",
    n: 1,
    size: "1024x1024",
    quality: "medium",
    output_format: "png",
    stream: true,
    partial_images: 1,
  });
  assert.deepEqual(request.images, ["a.png", "b.png"]);
  assert.equal(request.mask, "mask.png");
  assert.equal(request.operation, "edit");
  assert.equal(request.moderation, null);
  assert.match(warnings[0], /input_fidelity "high" is not supported by gpt-image-2/);
});

Deno.test("edits: gpt-image-1.5 sends input_fidelity; gpt-image-1-mini accepts only low", () => {
  const { upstream } = normalizeEditRequest(
    { prompt: "p", model: "gpt-image-1.5", images: ["a.png"], input_fidelity: "high" },
    ctx(),
  );
  assert.equal(upstream.input_fidelity, "high");
  const error = rejection(() =>
    normalizeEditRequest(
      { prompt: "p", model: "gpt-image-1-mini", images: ["a.png"], input_fidelity: "high" },
      ctx(),
    )
  );
  assert.equal(error.field, "input_fidelity");
  assert.match(error.message, /accepted: low/);
});

Deno.test("edits: image count, markup and mask rules per model", () => {
  const tooMany = rejection(() =>
    normalizeEditRequest({ prompt: "p", images: Array(17).fill("a.png") }, ctx())
  );
  assert.equal(tooMany.field, "images");
  const dalle2 = rejection(() =>
    normalizeEditRequest(
      { prompt: "p", model: "dall-e-2", images: ["a.png", "b.png"] },
      ctx("passthrough"),
    )
  );
  assert.match(dalle2.message, /2 given \(accepted: at most 1\)/);
  const dalle3 = rejection(() =>
    normalizeEditRequest({ prompt: "p", model: "dall-e-3", images: ["a.png"] }, ctx("passthrough"))
  );
  assert.equal(dalle3.field, "model");
  assert.match(dalle3.message, /cannot edit images/);
  const markup = rejection(() =>
    normalizeEditRequest({ prompt: "p", images: ["a.png"], markup: "m.png" }, ctx())
  );
  assert.equal(markup.field, "markup");
  const both = rejection(() =>
    normalizeEditRequest(
      { prompt: "p", model: "gpt-image-2.5-flare", images: ["a"], markup: "m", mask: "k" },
      ctx(),
    )
  );
  assert.match(both.message, /cannot be combined with mask/);
  const single = normalizeEditRequest({ prompt: "p", image: "one.png" }, ctx());
  assert.deepEqual(single.request.images, ["one.png"]);
});

Deno.test("edits of a retired model are translated like generations", () => {
  const { upstream, warnings } = normalizeEditRequest(
    { prompt: "p", model: "dall-e-2", images: ["a.png"], size: "256x256" },
    ctx(),
  );
  assert.equal(upstream.model, "gpt-image-2");
  assert.equal(upstream.size, "1024x1024");
  assert.equal(warnings.length, 2);
});

Deno.test("the request schemas are plain objects that convert to JSON Schema", () => {
  for (const schema of [GenerateRequestSchema, EditRequestSchema]) {
    const json = z.toJSONSchema(schema) as { type: string; required: string[] };
    assert.equal(json.type, "object");
    assert.ok(json.required.includes("prompt"));
  }
  const edit = z.toJSONSchema(EditRequestSchema) as {
    required: string[];
    properties: Record<string, unknown>;
  };
  assert.ok(edit.required.includes("images"));
  assert.ok(!("style" in edit.properties));
});

Deno.test("translate: the predecessor's quality words and sizes work without naming a model", () => {
  const { upstream, warnings } = normalizeGenerateRequest(
    { prompt: "p", quality: "hd", size: "1792x1024", style: "natural" },
    ctx("translate", { defaultModel: "gpt-image-1.5" }),
  );
  assert.equal(upstream.quality, "high");
  assert.equal(upstream.size, "1536x1024");
  assert.ok(warnings.some((w) => /Quality "hd" became "high"/.test(w)));
  assert.ok(warnings.some((w) => /Size "1792x1024" became "1536x1024"/.test(w)));
  const strict = validation({ prompt: "p", quality: "standard" }, ctx("passthrough"));
  assert.match(strict.message, /nearest valid: medium/);
});

Deno.test("model names are matched exactly first, then without case", () => {
  const { upstream } = normalizeGenerateRequest({ prompt: "p", model: " GPT-Image-2 " }, ctx());
  assert.equal(upstream.model, "gpt-image-2");
});

Deno.test("a prompt holding a NUL character is refused with its position", () => {
  const error = validation({ prompt: "a red\u0000 fox" });
  assert.equal(error.field, "prompt");
  assert.equal(
    error.message,
    "Invalid prompt: it holds a NUL character at position 5 (accepted: text without NUL characters)",
  );
});

Deno.test("a prompt holding an unpaired surrogate is refused; paired ones are text", () => {
  for (const [prompt, position, unit] of [["fox \ud83e", 4, "D83E"], ["\udc00 fox", 0, "DC00"]]) {
    const error = validation({ prompt });
    assert.equal(error.field, "prompt");
    assert.equal(
      error.message,
      `Invalid prompt: it holds an unpaired UTF-16 surrogate U+${unit} at position ${position} (accepted: well-formed Unicode text)`,
    );
  }
  const { upstream } = normalizeGenerateRequest({ prompt: "a fox \u{1F98A}" }, ctx());
  assert.equal(upstream.prompt, "a fox \u{1F98A}");
});

Deno.test("the prompt length is counted in UTF-16 code units, not code points", () => {
  // 16,001 emoji are 16,001 code points but 32,002 code units: over gpt-image-2's 32,000.
  const error = validation({ prompt: "\u{1F98A}".repeat(16_001) });
  assert.equal(error.field, "prompt");
  assert.match(error.message, /32002 characters \(accepted: at most 32000, counted in UTF-16/);
  const { upstream } = normalizeGenerateRequest({ prompt: "\u{1F98A}".repeat(16_000) }, ctx());
  assert.equal(upstream.prompt.length, 32_000);
});
