/**
 * Confirmation before expensive renders: each way of asking (2026 multi round-trip, 2025
 * elicitation, neither), the signed state, and — against the real core and the fake OpenAI — that
 * an accepted confirmation generates and a declined one sends nothing upstream.
 */
import assert from "node:assert/strict";
import { quoteRequest } from "../../src/generation/price_ceiling.ts";
import type { PriceCeiling } from "../../src/generation/price_ceiling.ts";
import { kvHmacKey } from "../../src/kv/mod.ts";
import {
  CONFIRM_INPUT_KEY,
  type Confirmation,
  ConfirmationStateCodec,
  type ConfirmRequest,
  confirmThenRun,
  declaresFormElicitation,
  type InputRequiredResult as InputRequired,
  PriceConfirmation,
} from "../../src/mcp/confirm/mod.ts";
import { ProtocolError } from "../../src/mcp/protocol_error.ts";
import { systemClock } from "../../src/clock.ts";
import { type ManualClock, manualClock } from "../support/pinned_time.ts";
import { withRealCore } from "../support/real_core.ts";
import {
  CallToolResult2025,
  ElicitFormParams,
  InputRequiredResult,
} from "../support/mcp_shapes.ts";

const quote: PriceCeiling = {
  usd: 0.187225,
  model: "gpt-image-2",
  size: "1536x1024",
  quality: "high",
  n: 1,
  estimated: true,
};
const args = { prompt: "a cathedral at night", size: "1536x1024", quality: "high" };
const modern = { era: "2026-07-28", elicitation: true } as const;
const legacy = { era: "2025-11-25", elicitation: true } as const;
const neither = { era: "2026-07-28", elicitation: false } as const;

async function withConfirmation(
  fn: (confirm: PriceConfirmation, clock: ManualClock) => Promise<void>,
  // null: the setting is off.
  thresholdUsd: number | null = 0.1,
) {
  const kv = await Deno.openKv(":memory:");
  try {
    const clock = manualClock(Date.UTC(2026, 11, 2, 12));
    const codec = new ConfirmationStateCodec(kvHmacKey(kv, ["mcp", "confirm_key"]), clock.now);
    await fn(new PriceConfirmation({ thresholdUsd: thresholdUsd ?? undefined, codec }), clock);
  } finally {
    kv.close();
  }
}

function request(overrides: Partial<ConfirmRequest> = {}): ConfirmRequest {
  return {
    tool: "generate_image",
    arguments: args,
    principalId: "key-alice",
    quote,
    client: modern,
    ...overrides,
  };
}

function textOf(result: { content: Record<string, unknown>[] }): string {
  return result.content.map((block) => String(block.text ?? "")).join("\n");
}

/** The text of a refusal; fails when `decision` is anything else. */
function refusalText(decision: Confirmation): string {
  assert.equal(decision.kind, "refused");
  return textOf((decision as Extract<Confirmation, { kind: "refused" }>).result);
}

async function askFor(confirm: PriceConfirmation, overrides: Partial<ConfirmRequest> = {}) {
  const decision = await confirm.decide(request(overrides));
  assert.equal(decision.kind, "input_required");
  return InputRequiredResult.parse((decision as { result: InputRequired }).result);
}

const accepted = { [CONFIRM_INPUT_KEY]: { action: "accept", content: { confirm: true } } };

Deno.test("without MCP_CONFIRM_ABOVE_USD, or under it, a request runs without asking", async () => {
  await withConfirmation(async (confirm) => {
    assert.equal((await confirm.decide(request())).kind, "proceed");
  }, null);
  await withConfirmation(async (confirm) => {
    assert.equal((await confirm.decide(request())).kind, "proceed");
  }, 0.5);
});

Deno.test("a 2026 client with elicitation is asked with a form showing price, size and quality", async () => {
  await withConfirmation(async (confirm) => {
    const result = await askFor(confirm);
    const form = ElicitFormParams.parse(result.inputRequests![CONFIRM_INPUT_KEY].params);
    assert.match(form.message, /up to \$0\.19/);
    assert.match(form.message, /1536x1024/);
    assert.match(form.message, /quality high/);
    assert.match(form.message, /MCP_CONFIRM_ABOVE_USD/);
    assert.deepEqual(form.requestedSchema.required, ["confirm"]);
    assert.equal(typeof result.requestState, "string");
  });
});

Deno.test("the retry with the accepted form and the state runs; a declined one refuses", async () => {
  await withConfirmation(async (confirm) => {
    const { requestState } = await askFor(confirm);
    const yes = await confirm.decide(request({ requestState, inputResponses: accepted }));
    assert.equal(yes.kind, "proceed");
    const no = await confirm.decide(request({
      requestState,
      inputResponses: { [CONFIRM_INPUT_KEY]: { action: "decline" } },
    }));
    assert.match(refusalText(no), /nothing was sent to OpenAI/);
    const unchecked = await confirm.decide(request({
      requestState,
      inputResponses: { [CONFIRM_INPUT_KEY]: { action: "accept", content: { confirm: false } } },
    }));
    assert.equal(unchecked.kind, "refused", "accepting the form without ticking confirm declines");
  });
});

Deno.test("a retry without an answer is asked again, and a dearer request than the one confirmed too", async () => {
  await withConfirmation(async (confirm) => {
    const { requestState } = await askFor(confirm);
    await askFor(confirm, { requestState });
    await askFor(confirm, {
      requestState,
      inputResponses: accepted,
      quote: { ...quote, usd: 0.3 },
    });
  });
});

Deno.test("a requestState that was tampered with, expired, or minted for another call is refused with -32602", async () => {
  await withConfirmation(async (confirm, clock) => {
    const { requestState } = await askFor(confirm);
    const [v, body, mac] = requestState!.split(".");
    const forged = `${v}.${body.slice(0, -2)}${body.endsWith("A") ? "B" : "A"}${
      body.at(-1)
    }.${mac}`;
    const cases: [Partial<ConfirmRequest>, RegExp][] = [
      [{ requestState: forged }, /signature does not match|malformed/],
      [{ requestState: "v1.e30.AAAA" }, /signature does not match/],
      [{ requestState: 42 }, /expected the string the server returned/],
      [{ requestState, principalId: "key-mallory" }, /another caller, tool or arguments/],
      [{ requestState, arguments: { ...args, n: 4 } }, /another caller, tool or arguments/],
      [{ requestState, tool: "edit_image" }, /another caller, tool or arguments/],
    ];
    for (const [overrides, message] of cases) {
      await assert.rejects(
        confirm.decide(request({ inputResponses: accepted, ...overrides })),
        (error: ProtocolError) => error.code === -32602 && message.test(error.message),
      );
    }
    clock.advance(600_000);
    await assert.rejects(
      confirm.decide(request({ requestState, inputResponses: accepted })),
      (error: ProtocolError) => error.code === -32602 && /expired/.test(error.message),
    );
  });
});

Deno.test("a 2025 client with elicitation gets an elicitation/create form; accept runs, decline or cancel refuses", async () => {
  await withConfirmation(async (confirm) => {
    const decision = await confirm.decide(request({ client: legacy }));
    assert.equal(decision.kind, "elicit");
    const { params, answer } = decision as Extract<typeof decision, { kind: "elicit" }>;
    ElicitFormParams.parse(params);
    assert.equal(answer({ action: "accept", content: { confirm: true } }).kind, "proceed");
    assert.equal(answer({ action: "decline" }).kind, "refused");
    assert.equal(answer({ action: "cancel" }).kind, "refused");
    assert.equal(answer("garbage").kind, "refused");
  });
});

Deno.test("a client that cannot be asked gets an isError result saying how to go ahead", async () => {
  await withConfirmation(async (confirm) => {
    const decision = await confirm.decide(request({ client: neither }));
    assert.equal(decision.kind, "refused");
    const result = CallToolResult2025.parse((decision as { result: unknown }).result);
    assert.equal(result.isError, true);
    const text = textOf(result);
    assert.match(text, /"confirm_price_usd": 0\.187225 \(or more\)/);
    assert.match(text, /raise MCP_CONFIRM_ABOVE_USD/);
    assert.match(text, /up to \$0\.19 for 1 image \(gpt-image-2, 1536x1024, quality high/);

    const paid = await confirm.decide(request({
      client: neither,
      arguments: { ...args, confirm_price_usd: 0.19 },
    }));
    assert.deepEqual(paid, { kind: "proceed", arguments: args }, "runs without the extra field");
    const short = await confirm.decide(request({
      client: neither,
      arguments: { ...args, confirm_price_usd: 0.1 },
    }));
    assert.match(refusalText(short), /0\.1 is below that price/);
    const bad = await confirm.decide(request({
      client: neither,
      arguments: { ...args, confirm_price_usd: "yes" },
    }));
    assert.match(
      refusalText(bad),
      /Invalid confirm_price_usd "yes": expected the most you accept to pay in US dollars/,
    );
  });
});

Deno.test("an unknown price is asked about whatever the threshold", async () => {
  await withConfirmation(async (confirm) => {
    const result = await askFor(confirm, {
      quote: { ...quote, usd: null, quality: "xhigh", reason: "no output token count" },
    });
    assert.match(result.inputRequests![CONFIRM_INPUT_KEY].params.message, /an unknown price/);
  }, 100);
});

Deno.test("form elicitation is declared by elicitation.form or by an empty elicitation object", () => {
  assert.equal(declaresFormElicitation({ elicitation: {} }), true);
  assert.equal(declaresFormElicitation({ elicitation: { form: {} } }), true);
  assert.equal(declaresFormElicitation({ elicitation: { url: {} } }), false);
  assert.equal(declaresFormElicitation({}), false);
  assert.equal(declaresFormElicitation(undefined), false);
});

Deno.test("with the real core, an accepted confirmation generates once and a declined one calls nothing upstream", async () => {
  await withRealCore(async ({ fake, services, config, kv }) => {
    const confirm = new PriceConfirmation({
      thresholdUsd: config.mcpConfirmAboveUsd,
      codec: new ConfirmationStateCodec(kvHmacKey(kv, ["mcp", "confirm_key"]), systemClock),
    });
    const input = { prompt: "a cathedral at night", quality: "high", size: "1536x1024" };
    const call = (extra: Partial<ConfirmRequest>) =>
      confirmThenRun(confirm, {
        ...request(),
        arguments: input,
        quote: quoteRequest("generate", input, {
          registry: services.registry,
          config,
          now: new Date(),
        }),
        ...extra,
      }, {
        elicit: () => Promise.resolve({ action: "decline" }),
        run: async (args) => {
          const job = await services.images.generate(args, {
            door: "mcp",
            principal: { id: "key-alice", name: "Alice", role: "user" },
          });
          const done = await job.done;
          return { content: [{ type: "text", text: `stored ${done.images[0].id}` }] };
        },
      });

    const first = InputRequiredResult.parse(await call({}));
    assert.equal(fake.requests.length, 0, "asking sends nothing upstream");
    const declined = await call({
      requestState: first.requestState,
      inputResponses: { [CONFIRM_INPUT_KEY]: { action: "decline" } },
    });
    assert.equal((declined as { isError?: boolean }).isError, true);
    assert.equal(
      (await call({ client: legacy }) as { isError?: boolean }).isError,
      true,
      "2025 client declined",
    );
    assert.equal(fake.requests.length, 0, "declining sends nothing upstream");

    const done = await call({ requestState: first.requestState, inputResponses: accepted });
    assert.match(textOf(done as { content: [] }), /^stored /);
    assert.equal(fake.requests.length, 1, "accepting generates once");
  }, { env: { MCP_CONFIRM_ABOVE_USD: "0.05" } });
});
