import assert from "node:assert/strict";
import { ConfigError } from "../../src/config.ts";
import {
  checkSize,
  createModelRegistry,
  lifecycleOf,
  loadModelRegistry,
  MODEL_DATA,
  translateSize,
  validateModelDefaults,
} from "../../src/generation/mod.ts";

const NOV_2026 = new Date("2026-11-24T12:00:00Z");
const DEC_2026 = new Date("2026-12-01T00:00:00Z");
const registry = createModelRegistry();

function model(id: string) {
  const found = registry.get(id);
  assert.ok(found, `model ${id} is in the registry`);
  return found;
}

function configProblem(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    return error.message;
  }
  assert.fail("expected a ConfigError");
}

async function loadProblem(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    return error.message;
  }
  assert.fail("expected a ConfigError");
}

function files(contents: Record<string, string>) {
  return (path: string) => {
    const text = contents[path];
    return text === undefined
      ? Promise.reject(new Deno.errors.NotFound(`no such file: ${path}`))
      : Promise.resolve(text);
  };
}

Deno.test("the registry holds every model of the notes with its family", () => {
  const expected: Record<string, string> = {
    "dall-e-2": "dall-e-2",
    "dall-e-3": "dall-e-3",
    "gpt-image-1": "gpt-image-1",
    "gpt-image-1-mini": "gpt-image-1",
    "gpt-image-1.5": "gpt-image-1",
    "chatgpt-image-latest": "gpt-image-1",
    "gpt-image-2": "gpt-image-2",
    "gpt-image-2-2026-04-21": "gpt-image-2",
    "gpt-image-2.5-sunburst": "gpt-image-2",
    "gpt-image-2.5-flare": "gpt-image-2",
    "gpt-image-2.6-sunburst": "gpt-image-2",
    "gpt-image-2.6-flare": "gpt-image-2",
  };
  for (const [id, family] of Object.entries(expected)) assert.equal(model(id).family, family, id);
});

Deno.test("retired models carry their retirement day and announced ones their shutdown day", () => {
  assert.deepEqual(lifecycleOf(model("dall-e-3"), NOV_2026), {
    state: "retired",
    date: "2026-05-12",
    replacement: "gpt-image-2",
  });
  assert.equal(lifecycleOf(model("dall-e-2"), NOV_2026).date, "2026-05-12");
  assert.deepEqual(lifecycleOf(model("gpt-image-1"), NOV_2026).date, "2026-10-23");
  for (const id of ["gpt-image-1-mini", "gpt-image-1.5", "chatgpt-image-latest"]) {
    assert.deepEqual(lifecycleOf(model(id), NOV_2026), {
      state: "shutdown_announced",
      date: "2026-12-01",
      replacement: "gpt-image-2",
    });
  }
  assert.deepEqual(lifecycleOf(model("gpt-image-2"), NOV_2026), { state: "current" });
});

Deno.test("an announced shutdown counts as retired from its day on", () => {
  assert.equal(lifecycleOf(model("gpt-image-1.5"), DEC_2026).state, "retired");
  assert.equal(
    lifecycleOf(model("gpt-image-1.5"), new Date("2026-11-30T23:59:59Z")).state,
    "shutdown_announced",
  );
  assert.ok(!registry.availableIds(DEC_2026).includes("gpt-image-1-mini"));
  assert.ok(registry.availableIds(NOV_2026).includes("gpt-image-1-mini"));
});

Deno.test("capabilities follow the notes: style, n, prompt limits, input_fidelity, markup", () => {
  assert.deepEqual(model("dall-e-3").styles, ["vivid", "natural"]);
  assert.deepEqual(model("dall-e-3").n, { min: 1, max: 1 });
  assert.equal(model("dall-e-3").promptMaxChars, 4000);
  assert.equal(model("dall-e-2").promptMaxChars, 1000);
  assert.equal(model("gpt-image-2").promptMaxChars, 32_000);
  assert.deepEqual(model("gpt-image-2").n, { min: 1, max: 10 });
  assert.deepEqual(model("gpt-image-2").edits.inputFidelity, []);
  assert.deepEqual(model("gpt-image-1.5").edits.inputFidelity, ["high", "low"]);
  assert.deepEqual(model("gpt-image-1-mini").edits.inputFidelity, ["low"]);
  assert.equal(model("gpt-image-2").edits.maxImages, 16);
  assert.equal(model("gpt-image-2.5-flare").edits.markup, true);
  assert.equal(model("gpt-image-2").edits.markup, false);
  assert.ok(model("gpt-image-2.6-sunburst").qualities.includes("xhigh"));
  assert.ok(!model("gpt-image-2").qualities.includes("xhigh"));
  assert.equal(model("dall-e-3").edits.supported, false);
  assert.deepEqual(model("gpt-image-2").outputFormats, ["png", "jpeg", "webp"]);
  assert.deepEqual(model("dall-e-3").outputFormats, []);
});

Deno.test("prices carry a checked-on date and unknown figures stay null", () => {
  for (const [id, data] of Object.entries(MODEL_DATA)) {
    assert.ok(data.prices.checkedOn, `${id} has a checked-on date`);
  }
  assert.deepEqual(model("gpt-image-1").prices.tokens, {
    textInput: 5,
    imageInput: 10,
    imageOutput: 40,
  });
  assert.equal(model("chatgpt-image-latest").prices.tokens, null);
  assert.equal(model("dall-e-3").prices.perImage?.hd["1792x1024"], 0.12);
});

Deno.test("gpt-image-2 sizes: divisible by 16, aspect 1:3 to 3:1, at most 3840x2160", () => {
  const m = model("gpt-image-2");
  for (const size of ["1024x1024", "1536x864", "1792x1024", "3840x2160", "2160x3840", "auto"]) {
    assert.equal(checkSize(m, size).valid, true, size);
  }
  const odd = checkSize(m, "1000x1000");
  assert.equal(odd.valid, false);
  assert.ok(!odd.valid && /divisible by 16/.test(odd.reason));
  assert.deepEqual(!odd.valid && odd.nearest, ["992x992", "1008x1008"]);
  const wide = checkSize(m, "3072x960");
  assert.ok(!wide.valid && /aspect ratio/.test(wide.reason), "3.2:1 is too wide");
  assert.ok(!wide.valid && wide.nearest.every((s) => checkSize(m, s).valid));
  const big = checkSize(m, "4096x2048");
  assert.ok(!big.valid && /at most 3840x2160/.test(big.reason));
  assert.ok(
    !big.valid && big.nearest.length > 0 && big.nearest.every((s) => checkSize(m, s).valid),
  );
  assert.equal(checkSize(m, "2160x2160").valid, true, "both sides within the short limit");
  assert.equal(checkSize(m, "2176x2176").valid, false, "short side above 2160");
});

Deno.test("sizes above 2560x1440 pixels are flagged experimental", () => {
  const m = model("gpt-image-2");
  assert.deepEqual(checkSize(m, "2560x1440"), { valid: true, experimental: false });
  assert.deepEqual(checkSize(m, "3840x2160"), { valid: true, experimental: true });
});

Deno.test("listed-size models accept only their list and suggest the closest aspect", () => {
  const m = model("gpt-image-1.5");
  assert.equal(checkSize(m, "1536x1024").valid, true);
  const result = checkSize(m, "1792x1024");
  assert.ok(!result.valid);
  assert.deepEqual(result.nearest, ["1536x1024"]);
  assert.deepEqual(checkSize(model("dall-e-3"), "auto").valid, false);
});

Deno.test("legacy sizes translate to the nearest valid size of the target", () => {
  assert.equal(translateSize(model("gpt-image-1.5"), "1792x1024"), "1536x1024");
  assert.equal(translateSize(model("gpt-image-1.5"), "1024x1792"), "1024x1536");
  assert.equal(translateSize(model("gpt-image-2"), "1792x1024"), "1792x1024");
  assert.equal(translateSize(model("gpt-image-2"), "256x256"), "1024x1024");
  assert.equal(translateSize(model("gpt-image-2"), "512x512"), "1024x1024");
  assert.equal(translateSize(model("gpt-image-1.5"), "512x512"), "1024x1024");
});

Deno.test("aliases resolve to models and unknown names get suggestions", () => {
  assert.equal(registry.get("latest")?.id, "gpt-image-2");
  assert.equal(registry.get("gpt-image-3"), undefined);
  assert.deepEqual(registry.suggest("gpt-imge-2", 1), ["gpt-image-2"]);
});

Deno.test("MODELS_FILE adds a model that extends another, an alias and a price override", async () => {
  const file = JSON.stringify({
    models: { "my-gateway-image": { extends: "gpt-image-2", promptMaxChars: 8000 } },
    aliases: { house: "my-gateway-image" },
    prices: { "gpt-image-2": { checkedOn: "2026-11-20", tokens: { textInput: 4 } } },
  });
  const loaded = await loadModelRegistry({
    modelsFile: "/etc/models.json",
    readTextFile: files({ "/etc/models.json": file }),
  });
  const added = loaded.get("house");
  assert.equal(added?.id, "my-gateway-image");
  assert.equal(added?.promptMaxChars, 8000);
  assert.equal(added?.family, "gpt-image-2");
  assert.deepEqual(loaded.get("gpt-image-2")?.prices.tokens, {
    textInput: 4,
    imageInput: 8,
    imageOutput: 30,
  });
  assert.equal(loaded.get("gpt-image-2")?.prices.checkedOn, "2026-11-20");
  assert.equal(registry.get("gpt-image-2")?.prices.tokens?.textInput, 5, "built-ins untouched");
});

Deno.test("MODELS_FILE can override a built-in model's fields", async () => {
  const loaded = await loadModelRegistry({
    modelsFile: "m.json",
    readTextFile: files({
      "m.json": JSON.stringify({ models: { "dall-e-3": { n: { max: 4 } } } }),
    }),
  });
  assert.deepEqual(loaded.get("dall-e-3")?.n, { min: 1, max: 4 });
});

Deno.test("a bad MODELS_FILE entry is named with the file in the error", async () => {
  const message = await loadProblem(() =>
    loadModelRegistry({
      modelsFile: "/srv/models.json",
      readTextFile: files({
        "/srv/models.json": JSON.stringify({ models: { "new-model": { family: "x", sizes: 3 } } }),
      }),
    })
  );
  assert.match(message, /MODELS_FILE/);
  assert.match(message, /\/srv\/models\.json/);
  assert.match(message, /models\["new-model"\]/);
});

Deno.test("MODELS_FILE problems: missing file, bad JSON, unknown parent, alias to nowhere", async () => {
  const read = files({
    "bad.json": "{ nope",
    "parent.json": JSON.stringify({ models: { a: { extends: "gpt-image-9" } } }),
    "alias.json": JSON.stringify({ aliases: { fast: "nothing-here" } }),
    "quality.json": JSON.stringify({
      models: { b: { extends: "gpt-image-2", defaultQuality: "ultra" } },
    }),
    "key.json": JSON.stringify({ modles: {} }),
  });
  assert.match(
    await loadProblem(() => loadModelRegistry({ modelsFile: "gone.json", readTextFile: read })),
    /gone\.json: cannot read the file: file not found/,
  );
  assert.match(
    await loadProblem(() => loadModelRegistry({ modelsFile: "bad.json", readTextFile: read })),
    /bad\.json: not valid JSON/,
  );
  assert.match(
    await loadProblem(() => loadModelRegistry({ modelsFile: "parent.json", readTextFile: read })),
    /models\["a"\]\.extends: unknown model "gpt-image-9"/,
  );
  assert.match(
    await loadProblem(() => loadModelRegistry({ modelsFile: "alias.json", readTextFile: read })),
    /aliases\["fast"\]: unknown model "nothing-here"/,
  );
  assert.match(
    await loadProblem(() => loadModelRegistry({ modelsFile: "quality.json", readTextFile: read })),
    /defaultQuality "ultra"/,
  );
  assert.match(
    await loadProblem(() => loadModelRegistry({ modelsFile: "key.json", readTextFile: read })),
    /modles/,
  );
});

Deno.test("without MODELS_FILE the built-in registry loads without reading files", async () => {
  const loaded = await loadModelRegistry({
    readTextFile: () => Promise.reject(new Error("must not read")),
  });
  assert.deepEqual(loaded.ids(), registry.ids());
});

Deno.test("DEFAULT_MODEL must exist and DEFAULT_QUALITY must be one of its qualities", () => {
  const ok = {
    defaultModel: "gpt-image-2",
    defaultQuality: "medium",
    legacyModels: "translate",
  } as const;
  assert.deepEqual(validateModelDefaults(registry, ok, { now: NOV_2026 }), []);
  const unknown = configProblem(() =>
    validateModelDefaults(registry, { ...ok, defaultModel: "gpt-imag-2" }, {
      now: NOV_2026,
    })
  );
  assert.match(unknown, /DEFAULT_MODEL="gpt-imag-2" is not a known model/);
  assert.match(unknown, /nearest: gpt-image-2/);
  const quality = configProblem(() =>
    validateModelDefaults(registry, { ...ok, defaultQuality: "hd" }, { now: NOV_2026 })
  );
  assert.match(quality, /DEFAULT_QUALITY="hd" is not a quality of gpt-image-2/);
  assert.match(quality, /accepted: low, medium, high, auto/);
});

Deno.test("a retired DEFAULT_MODEL is refused unless LEGACY_MODELS=passthrough", () => {
  const retired = {
    defaultModel: "dall-e-3",
    defaultQuality: "standard",
    legacyModels: "translate",
  } as const;
  assert.match(
    configProblem(() => validateModelDefaults(registry, retired, { now: NOV_2026 })),
    /retired on 2026-05-12.*replacement: gpt-image-2/,
  );
  const warnings = validateModelDefaults(registry, { ...retired, legacyModels: "passthrough" }, {
    now: NOV_2026,
  });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /passthrough/);
});

Deno.test("a DEFAULT_MODEL with a shutdown announced is accepted with a dated warning", () => {
  const warnings = validateModelDefaults(
    registry,
    { defaultModel: "gpt-image-1.5", defaultQuality: "medium", legacyModels: "translate" },
    { now: NOV_2026 },
  );
  assert.deepEqual(warnings, [
    'DEFAULT_MODEL "gpt-image-1.5" will be shut down on 2026-12-01: switch to "gpt-image-2"',
  ]);
});
