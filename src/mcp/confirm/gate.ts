/**
 * The price gate of a door's generation tools, one per process: the decision
 * ({@link PriceConfirmation}) with its `requestState` key, and the quote of a request. Both need
 * the core — the model registry prices a request, the shared KV holds the key every instance signs
 * with — which the stdio door loads only on the first tool call; so the door hands over a loader,
 * and the KV and pricing modules are imported on first use too.
 *
 * @module
 */
import type { Clock } from "../../clock.ts";
import type { Config } from "../../config.ts";
import type { ModelRegistry, PriceCeiling } from "../../generation/mod.ts";
import { PriceConfirmation } from "./confirmation.ts";
import { ConfirmationStateCodec } from "./request_state.ts";

/** Where the HMAC secret of confirmation states lives in the shared KV. */
export const CONFIRM_KEY_KV: readonly string[] = Object.freeze(["mcp", "confirm_key"]);

/** What the gate needs of the core. */
export interface PriceGateCore {
  /** The models, with their prices. */
  readonly registry: ModelRegistry;
  /** The KV every instance shares (the signing secret). */
  readonly kv: Deno.Kv;
}

/** The confirmation step of `generate_image` and `edit_image`. */
export interface PriceGate {
  /** Decides whether a call runs, is asked about, or is refused. */
  readonly confirmation: PriceConfirmation;
  /**
   * The worst-case price of a request as the tool received it (without `confirm_price_usd`);
   * a ValidationError for a request the core would refuse.
   */
  quote(operation: "generate" | "edit", input: Record<string, unknown>): Promise<PriceCeiling>;
}

/**
 * The gate for `config` (`MCP_CONFIRM_ABOVE_USD`), or undefined when confirmations are off.
 * `core` loads (once) what the gate needs; it is called on the first quote or state.
 */
export function createPriceGate(
  config: Config,
  core: () => Promise<PriceGateCore>,
  now: Clock,
): PriceGate | undefined {
  const thresholdUsd = config.mcpConfirmAboveUsd;
  if (thresholdUsd === undefined) return undefined;
  let key: (() => Promise<CryptoKey>) | undefined;
  const codec = new ConfirmationStateCodec(async () => {
    if (!key) {
      const [{ kvHmacKey }, { kv }] = await Promise.all([import("../../kv/mod.ts"), core()]);
      key ??= kvHmacKey(kv, [...CONFIRM_KEY_KV]);
    }
    return await key();
  }, now);
  return {
    confirmation: new PriceConfirmation({ thresholdUsd, codec }),
    async quote(operation, input) {
      const [{ quoteRequest }, { registry }] = await Promise.all([
        import("../../generation/mod.ts"),
        core(),
      ]);
      return quoteRequest(operation, input, { registry, config, now: new Date(now()) });
    },
  };
}
