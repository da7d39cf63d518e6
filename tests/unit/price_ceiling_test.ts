import assert from "node:assert/strict";
import { resolveConfig } from "../../src/config.ts";
import { createModelRegistry } from "../../src/generation/models.ts";
import { quoteRequest } from "../../src/generation/price_ceiling.ts";
import { ValidationError } from "../../src/errors.ts";
import { PINNED_NOW } from "../support/pinned_time.ts";

const ctx = {
  registry: createModelRegistry(),
  // Retired models are priced as sent (compatible servers may still serve them).
  config: resolveConfig({ env: { LEGACY_MODELS: "passthrough", DATA_DIR: "/tmp/price-ceiling" } }),
  now: new Date(PINNED_NOW),
};

/** The ceiling of a generation of "a cat" with `fields`. */
function price(fields: Record<string, unknown>) {
  return quoteRequest("generate", { prompt: "a cat", ...fields }, ctx);
}

Deno.test("a token-priced model costs at most its output tokens for the size and quality, plus the prompt", () => {
  const quote = price({
    model: "gpt-image-2",
    size: "1024x1024",
    quality: "high",
  });
  // 4160 output tokens at $30/1M, 5 prompt bytes at $5/1M.
  assert.equal(quote.usd, 0.124825);
  assert.deepEqual([quote.model, quote.size, quote.quality, quote.n], [
    "gpt-image-2",
    "1024x1024",
    "high",
    1,
  ]);
  assert.equal(quote.estimated, true);
});

Deno.test("auto size and quality are priced at the largest size and the dearest quality", () => {
  const quote = price({
    model: "gpt-image-2",
    size: "auto",
    quality: "auto",
  });
  assert.equal(quote.quality, "high");
  assert.equal(quote.size, "1536x1024");
  assert.equal(quote.usd, 0.187225); // 6240 tokens + the prompt
});

Deno.test("n images and partial images multiply and add to the output tokens", () => {
  const quote = price({
    model: "gpt-image-2",
    size: "1024x1024",
    quality: "low",
    n: 2,
    partial_images: 2,
  });
  assert.equal(quote.usd, Math.ceil((272 + 200) * 2 * 30 + 5 * 5) / 1e6);
});

Deno.test("a quality without a published token count has an unknown ceiling, with the reason", () => {
  const quote = price({
    model: "gpt-image-2.6-sunburst",
    size: "1024x1024",
    quality: "xhigh",
  });
  assert.equal(quote.usd, null);
  assert.match(quote.reason!, /no output token count is published for quality "xhigh"/);
});

Deno.test("per-image prices are used where the model has them, token prices where its table stops", () => {
  const perImage = price({
    model: "dall-e-3",
    size: "1792x1024",
    quality: "hd",
  });
  assert.equal(perImage.usd, 0.12);
  assert.equal(perImage.estimated, false);
  const beyondTable = price({
    model: "gpt-image-1",
    size: "1536x1024",
    quality: "medium",
  });
  assert.equal(beyondTable.usd, Math.ceil(1584 * 40 + 5 * 5) / 1e6);
});

Deno.test("an edit's ceiling says that its input images are not included", () => {
  const quote = quoteRequest("edit", {
    prompt: "make it blue",
    model: "gpt-image-2",
    images: ["0195f3c2-8d1e-7abc-9def-0123456789ab"],
    quality: "low",
  }, ctx);
  assert.match(quote.reason!, /input images of the edit are not included/);
});

Deno.test("a request the core would refuse is refused before pricing", () => {
  assert.throws(
    () => quoteRequest("generate", { prompt: "a cat", quality: "ultra" }, ctx),
    ValidationError,
  );
});
