import assert from "node:assert/strict";
import {
  createModelRegistry,
  estimateCost,
  isFullyPriced,
  MODEL_DATA,
  type ModelInfo,
} from "../../src/generation/mod.ts";

const registry = createModelRegistry();

function model(id: string): ModelInfo {
  const found = registry.get(id);
  assert.ok(found, id);
  return found;
}

const GENERATION_USAGE = {
  input_tokens: 100,
  input_tokens_details: { text_tokens: 100, image_tokens: 0 },
  output_tokens: 4160,
  total_tokens: 4260,
};

Deno.test("token prices: text in, image in and image out per 1M tokens", () => {
  const cost = estimateCost(model("gpt-image-1"), {
    usage: {
      input_tokens: 1300,
      input_tokens_details: { text_tokens: 300, image_tokens: 1000 },
      output_tokens: 4000,
      total_tokens: 5300,
    },
    quality: "high",
    size: "1024x1024",
    n: 1,
  });
  // 300 × 5 + 1000 × 10 + 4000 × 40 = 171,500 per 1M → 0.1715 USD
  assert.equal(cost.usd, 0.1715);
  assert.equal(cost.basis, "tokens");
  assert.equal(cost.reason, undefined);
  assert.equal(cost.checkedOn, "2026-11");
});

Deno.test("gpt-image-1-mini is cheaper per token", () => {
  const cost = estimateCost(model("gpt-image-1-mini"), {
    usage: GENERATION_USAGE,
    quality: "medium",
    size: "1024x1024",
    n: 1,
  });
  // 100 × 2 + 4160 × 8 = 33,480 per 1M
  assert.equal(cost.usd, 0.03348);
});

Deno.test("input token details missing: all input counts as text", () => {
  const cost = estimateCost(model("gpt-image-1"), {
    usage: { input_tokens: 200, output_tokens: 1000 },
    quality: "low",
    size: "1024x1024",
    n: 1,
  });
  assert.equal(cost.usd, (200 * 5 + 1000 * 40) / 1e6);
});

Deno.test("an unknown token price gives null with a reason, never a guess", () => {
  const partial = createModelRegistry({
    overrides: { prices: { "gpt-image-2": { tokens: { textInput: null } } } },
  });
  const cost = estimateCost(partial.get("gpt-image-2")!, {
    usage: GENERATION_USAGE,
    quality: "medium",
    size: "1024x1024",
    n: 1,
  });
  assert.equal(cost.usd, null);
  assert.match(cost.reason ?? "", /text input token price of gpt-image-2 is unknown/);
  assert.equal(cost.basis, "tokens");
  const noPrices = estimateCost(model("chatgpt-image-latest"), {
    usage: GENERATION_USAGE,
    quality: "medium",
    size: "1024x1024",
    n: 1,
  });
  assert.equal(noPrices.usd, null);
  assert.match(noPrices.reason ?? "", /token prices of chatgpt-image-latest are unknown/);
});

Deno.test("the default model gpt-image-2 is priced from OpenAI's published figures, checked 2026-12-02", () => {
  for (const id of ["gpt-image-2", "gpt-image-2-2026-04-21"]) {
    const { prices } = model(id);
    assert.deepEqual(prices.tokens, { textInput: 5, imageInput: 8, imageOutput: 30 }, id);
    assert.equal(prices.checkedOn, "2026-12-02", id);
    assert.match(prices.source ?? "", /OpenAI API pricing page for gpt-image-2/, id);
    assert.equal(prices.estimated, undefined, `${id} is not an estimate`);
  }
  const generation = estimateCost(model("gpt-image-2"), {
    usage: GENERATION_USAGE,
    quality: "medium",
    size: "1024x1024",
    n: 1,
  });
  // 100 × 5 + 4160 × 30 = 125,300 per 1M
  assert.deepEqual([generation.usd, generation.estimated], [0.1253, undefined]);
  const edit = estimateCost(model("gpt-image-2"), {
    usage: { ...GENERATION_USAGE, input_tokens: 600, input_tokens_details: { image_tokens: 500 } },
    quality: "medium",
    size: "1024x1024",
    n: 1,
  });
  // 100 text × 5 + 500 image × 8 + 4160 × 30 = 129,300 per 1M
  assert.equal(edit.usd, 0.1293);
});

Deno.test("every current model is fully priced; figures not confirmed for the model are estimates", () => {
  const current = Object.entries(MODEL_DATA).filter(([, data]) => data.status === "current");
  assert.ok(current.length >= 8);
  for (const [id] of current) {
    const info = model(id);
    assert.ok(isFullyPriced(info), `${id} has every token price`);
    assert.equal(info.prices.checkedOn, "2026-12-02", id);
  }
  const confirmed = ["gpt-image-2", "gpt-image-2-2026-04-21", "gpt-image-2.6-sunburst"];
  for (const [id] of current.filter(([id]) => !confirmed.includes(id))) {
    const info = model(id);
    assert.equal(info.prices.estimated, true, `${id} is marked an estimate`);
    assert.match(info.prices.source ?? "", /not confirmed for this model/, id);
    const cost = estimateCost(info, {
      usage: GENERATION_USAGE,
      quality: "medium",
      size: "1024x1024",
      n: 1,
    });
    assert.equal(cost.usd, 0.1253, id);
    assert.equal(cost.estimated, true, id);
    assert.match(cost.reason ?? "", /^estimated from .+; not confirmed for this model$/, id);
  }
  assert.equal(isFullyPriced(model("chatgpt-image-latest")), false);
  assert.equal(
    isFullyPriced(model("dall-e-3")),
    true,
    "per-image models are priced by their table",
  );
});

Deno.test("third-party figures are used but marked estimated", () => {
  const cost = estimateCost(model("gpt-image-1.5"), {
    usage: GENERATION_USAGE,
    quality: "medium",
    size: "1024x1024",
    n: 1,
  });
  assert.equal(cost.usd, (100 * 5 + 4160 * 32) / 1e6);
  assert.equal(cost.estimated, true);
  const edit = estimateCost(model("gpt-image-1.5"), {
    usage: { ...GENERATION_USAGE, input_tokens_details: { text_tokens: 100, image_tokens: 500 } },
    quality: "medium",
    size: "1024x1024",
    n: 1,
  });
  assert.equal(edit.usd, null, "image input price is unknown");
});

Deno.test("gpt-image-2.6-sunburst uses its listed token prices", () => {
  const cost = estimateCost(model("gpt-image-2.6-sunburst"), {
    usage: GENERATION_USAGE,
    quality: "medium",
    size: "1024x1024",
    n: 1,
  });
  assert.equal(cost.usd, (100 * 5 + 4160 * 30) / 1e6);
  assert.equal(cost.estimated, undefined);
});

Deno.test("legacy per-image prices by quality and size, times n", () => {
  const hdWide = estimateCost(model("dall-e-3"), { quality: "hd", size: "1792x1024", n: 1 });
  assert.deepEqual([hdWide.usd, hdWide.basis], [0.12, "per_image"]);
  const standard = estimateCost(model("dall-e-3"), {
    quality: "standard",
    size: "1024x1024",
    n: 1,
  });
  assert.equal(standard.usd, 0.04);
  const dalle2 = estimateCost(model("dall-e-2"), { quality: "standard", size: "512x512", n: 4 });
  assert.equal(dalle2.usd, 0.072);
});

Deno.test("per-image prices apply when no usage is reported and stay null when not listed", () => {
  const listed = estimateCost(model("gpt-image-1-mini"), {
    usage: null,
    quality: "high",
    size: "1024x1024",
    n: 2,
  });
  assert.equal(listed.usd, 0.072);
  const unlisted = estimateCost(model("gpt-image-1"), {
    quality: "high",
    size: "1536x1024",
    n: 1,
  });
  assert.equal(unlisted.usd, null);
  assert.match(unlisted.reason ?? "", /no per-image price for quality "high" at size "1536x1024"/);
  const none = estimateCost(model("gpt-image-2"), { quality: "high", size: "1024x1024", n: 1 });
  assert.equal(none.usd, null);
  assert.match(none.reason ?? "", /no usage was reported/);
});

Deno.test("a usage report for a per-image model falls back to its per-image price", () => {
  const cost = estimateCost(model("dall-e-3"), {
    usage: GENERATION_USAGE,
    quality: "standard",
    size: "1024x1792",
    n: 1,
  });
  assert.deepEqual([cost.usd, cost.basis], [0.08, "per_image"]);
});

Deno.test("MODELS_FILE price overrides change the cost", () => {
  const custom = createModelRegistry({
    overrides: {
      prices: {
        "gpt-image-2": { checkedOn: "2026-11-20", tokens: { textInput: 5, imageInput: 8 } },
      },
    },
  });
  const cost = estimateCost(custom.get("gpt-image-2")!, {
    usage: GENERATION_USAGE,
    quality: "medium",
    size: "1024x1024",
    n: 1,
  });
  assert.equal(cost.usd, (100 * 5 + 4160 * 30) / 1e6);
  assert.equal(cost.checkedOn, "2026-11-20");
});
