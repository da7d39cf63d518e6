/**
 * A confirmation before expensive renders (`MCP_CONFIRM_ABOVE_USD`). When a request's worst-case
 * price is above the setting, the user is asked before anything is sent upstream, in the way the
 * client can be asked:
 * - 2026-07-28 clients that declare elicitation: a multi round-trip `input_required` result with
 *   an elicitation form (price, size, quality) and a signed `requestState`; the retry carrying the
 *   accepted form runs the generation;
 * - 2025-11-25 clients that declare elicitation: an `elicitation/create` request the door sends
 *   while the tool call waits;
 * - clients with neither: an `isError` result saying how to go ahead (`confirm_price_usd`, or
 *   raise the setting).
 * A declined or dismissed confirmation ends the call with no upstream request.
 *
 * @module
 */
import type { PriceCeiling } from "../../generation/mod.ts";
import type { ToolResult } from "../tasks/mod.ts";
import type { ConfirmationStateCodec, StateBinding } from "./request_state.ts";

/** The key of the confirmation form among a result's `inputRequests`. */
export const CONFIRM_INPUT_KEY = "confirm_price";
/** The tool argument by which a client without elicitation accepts a price. */
export const CONFIRM_ARGUMENT = "confirm_price_usd";
/** The setting that turns confirmations on. */
const SETTING = "MCP_CONFIRM_ABOVE_USD";

/** `elicitation/create` form parameters (the same fields in 2025-11-25 and 2026-07-28). */
export interface ElicitFormParams {
  /** Always `form`. */
  mode: "form";
  /** What the user is asked. */
  message: string;
  /** The form: one boolean, `confirm`. */
  requestedSchema: {
    type: "object";
    properties: Record<string, Record<string, unknown>>;
    required: string[];
  };
}

/** A 2026-07-28 `InputRequiredResult`. */
export interface InputRequiredResult {
  /** Always `input_required`. */
  resultType: "input_required";
  /** The requests the client must fulfil before retrying. */
  inputRequests: Record<string, { method: "elicitation/create"; params: ElicitFormParams }>;
  /** Signed state to echo on the retry. */
  requestState: string;
}

/** A tool call that may need a confirmation. */
export interface ConfirmRequest {
  /** The tool called. */
  readonly tool: string;
  /** Its arguments as received (with `confirm_price_usd`, if given). */
  readonly arguments: Record<string, unknown>;
  /** The caller. */
  readonly principalId: string;
  /** The request's worst-case price. */
  readonly quote: PriceCeiling;
  /** The protocol era of the request and whether the client declared form elicitation. */
  readonly client: { readonly era: "2026-07-28" | "2025-11-25"; readonly elicitation: boolean };
  /** `params.inputResponses` of a 2026-07-28 retry. */
  readonly inputResponses?: unknown;
  /** `params.requestState` of a 2026-07-28 retry. */
  readonly requestState?: unknown;
}

/** What to do with a tool call. */
export type Confirmation =
  | { readonly kind: "proceed"; readonly arguments: Record<string, unknown> }
  | { readonly kind: "input_required"; readonly result: InputRequiredResult }
  | {
    readonly kind: "elicit";
    readonly params: ElicitFormParams;
    /** The decision once the client answered the elicitation (an `ElicitResult`). */
    readonly answer: (result: unknown) => Confirmation;
  }
  | { readonly kind: "refused"; readonly result: ToolResult };

/** True when client capabilities declare form elicitation (`elicitation: {}` means form too). */
export function declaresFormElicitation(capabilities: unknown): boolean {
  if (typeof capabilities !== "object" || capabilities === null) return false;
  const elicitation = (capabilities as { elicitation?: unknown }).elicitation;
  if (typeof elicitation !== "object" || elicitation === null) return false;
  const { form, url } = elicitation as { form?: unknown; url?: unknown };
  return form !== undefined || url === undefined;
}

/** The arguments without the confirmation field (what the core is given). */
export function withoutConfirmation(args: Record<string, unknown>): Record<string, unknown> {
  const rest = { ...args };
  delete rest[CONFIRM_ARGUMENT];
  return rest;
}

function usd(value: number): string {
  return `$${value < 0.01 ? value.toFixed(4) : value.toFixed(2)}`;
}

/** The price and what it buys, in words: `up to $0.42 for 2 images (gpt-image-2, 1536x1024, high)`. */
export function describeQuote(quote: PriceCeiling): string {
  const images = quote.n === 1 ? "1 image" : `${quote.n} images`;
  const what = `${images} (${quote.model}, ${quote.size}, quality ${quote.quality})`;
  if (quote.usd === null) return `an unknown price for ${what}: ${quote.reason}`;
  const note = quote.estimated ? ", an estimate" : "";
  const leftOut = quote.reason ? `; ${quote.reason}` : "";
  return `up to ${usd(quote.usd)} for ${what}${note}${leftOut}`;
}

function refused(lines: string[]): Confirmation {
  return {
    kind: "refused",
    result: { isError: true, content: [{ type: "text", text: lines.join("\n") }] },
  };
}

/** Decides, for each tool call, whether it may run or must be confirmed first. */
export class PriceConfirmation {
  #thresholdUsd: number | undefined;
  #codec: ConfirmationStateCodec;

  /** Confirms prices above `thresholdUsd` (undefined: never asks); signs states with `codec`. */
  constructor(options: { thresholdUsd: number | undefined; codec: ConfirmationStateCodec }) {
    this.#thresholdUsd = options.thresholdUsd;
    this.#codec = options.codec;
  }

  /**
   * What to do with `request`. Throws a `-32602` ProtocolError for a `requestState` that is not
   * genuine, has expired, or was minted for another caller, tool or arguments.
   */
  async decide(request: ConfirmRequest): Promise<Confirmation> {
    const threshold = this.#thresholdUsd;
    const args = withoutConfirmation(request.arguments);
    const proceed: Confirmation = { kind: "proceed", arguments: args };
    const { quote } = request;
    if (threshold === undefined || (quote.usd !== null && quote.usd <= threshold)) return proceed;

    const offered = request.arguments[CONFIRM_ARGUMENT];
    if (offered !== undefined) {
      if (typeof offered !== "number" || !Number.isFinite(offered) || offered < 0) {
        return refused([
          `Invalid ${CONFIRM_ARGUMENT} ${JSON.stringify(offered)}: expected the most you accept ` +
          `to pay in US dollars, a number such as ${quote.usd ?? 1}`,
        ]);
      }
      if (quote.usd === null || offered >= quote.usd) return proceed;
    }

    const binding: StateBinding = {
      principalId: request.principalId,
      tool: request.tool,
      arguments: args,
    };
    if (request.client.era === "2026-07-28" && request.requestState !== undefined) {
      const state = await this.#codec.verify(request.requestState, binding);
      const answered = readAnswer(request.inputResponses);
      // Prices may have changed since the user saw one: a dearer request is asked again.
      const stillCovered = quote.usd === null
        ? state.priceUsd === null
        : state.priceUsd !== null && quote.usd <= state.priceUsd;
      if (answered === "accepted" && stillCovered) return proceed;
      if (answered === "declined") return this.#declined(request);
    }
    if (!request.client.elicitation) return this.#noWayToAsk(request, offered);
    const params = this.#form(request);
    if (request.client.era === "2025-11-25") {
      return {
        kind: "elicit",
        params,
        answer: (result) => {
          const answered = readElicitResult(result);
          return answered === "accepted" ? proceed : this.#declined(request);
        },
      };
    }
    return {
      kind: "input_required",
      result: {
        resultType: "input_required",
        inputRequests: { [CONFIRM_INPUT_KEY]: { method: "elicitation/create", params } },
        requestState: await this.#codec.mint({ priceUsd: quote.usd }, binding),
      },
    };
  }

  #form(request: ConfirmRequest): ElicitFormParams {
    const { quote } = request;
    const price = quote.usd === null ? "an unknown price" : `up to ${usd(quote.usd)}`;
    return {
      mode: "form",
      message: `${request.tool} will cost ${describeQuote(quote)}. Confirmation is asked above ` +
        `${usd(this.#thresholdUsd!)} (${SETTING}). Generate it?`,
      requestedSchema: {
        type: "object",
        properties: {
          confirm: {
            type: "boolean",
            title: `Generate for ${price}`,
            description: `${quote.n === 1 ? "1 image" : `${quote.n} images`}, ${quote.size}, ` +
              `quality ${quote.quality}, ${quote.model}`,
            default: false,
          },
        },
        required: ["confirm"],
      },
    };
  }

  #declined(request: ConfirmRequest): Confirmation {
    return refused([
      `Not generated: the price (${describeQuote(request.quote)}) was not confirmed, and ` +
      "nothing was sent to OpenAI",
      "To try again for less, lower quality, size or n",
    ]);
  }

  #noWayToAsk(request: ConfirmRequest, offered: unknown): Confirmation {
    const { quote } = request;
    const accept = quote.usd === null ? "any amount" : `${quote.usd} (or more)`;
    return refused([
      `Confirmation needed: ${request.tool} will cost ${describeQuote(quote)}, above the ` +
      `${usd(this.#thresholdUsd!)} that needs a confirmation (${SETTING}), and this client ` +
      "cannot show a confirmation form",
      ...(typeof offered === "number"
        ? [`${CONFIRM_ARGUMENT} ${offered} is below that price`]
        : []),
      `To go ahead, ask the user, then call ${request.tool} again with the same arguments plus ` +
      `"${CONFIRM_ARGUMENT}": ${accept}; or lower quality, size or n; or raise ${SETTING} in ` +
      "the server's settings",
    ]);
  }
}

/** How an elicitation was answered: accepted with `confirm: true`, or anything else. */
function readElicitResult(result: unknown): "accepted" | "declined" {
  if (typeof result !== "object" || result === null) return "declined";
  const { action, content } = result as { action?: unknown; content?: unknown };
  const confirmed = typeof content === "object" && content !== null &&
    (content as { confirm?: unknown }).confirm === true;
  return action === "accept" && confirmed ? "accepted" : "declined";
}

/** The answer to the confirmation among `inputResponses`, or `missing` (ask again). */
function readAnswer(inputResponses: unknown): "accepted" | "declined" | "missing" {
  if (typeof inputResponses !== "object" || inputResponses === null) return "missing";
  const response = (inputResponses as Record<string, unknown>)[CONFIRM_INPUT_KEY];
  if (typeof response !== "object" || response === null) return "missing";
  if (typeof (response as { action?: unknown }).action !== "string") return "missing";
  return readElicitResult(response);
}

/**
 * How the door talks to the client and runs the tool, for {@link confirmThenRun}; `R` is what
 * running answers (a tool result, or a task the tool started).
 */
export interface ConfirmIo<R = ToolResult> {
  /** Sends `elicitation/create` and resolves with the client's `ElicitResult` (2025-11-25). */
  elicit?: (params: ElicitFormParams) => Promise<unknown>;
  /** Runs the tool with the arguments the confirmation leaves (no `confirm_price_usd`). */
  run: (args: Record<string, unknown>) => Promise<R>;
}

/**
 * Confirms if needed, then runs: the answer to a tool call is the tool's result, an
 * `input_required` result, or an `isError` result when the price was not confirmed.
 */
export async function confirmThenRun<R = ToolResult>(
  confirmation: PriceConfirmation,
  request: ConfirmRequest,
  io: ConfirmIo<R>,
): Promise<R | ToolResult | InputRequiredResult> {
  let decision = await confirmation.decide(request);
  if (decision.kind === "elicit") {
    if (!io.elicit) {
      throw new TypeError("Cannot confirm: the door passed no elicit function for a 2025 client");
    }
    decision = decision.answer(await io.elicit(decision.params));
  }
  switch (decision.kind) {
    case "proceed":
      return await io.run(decision.arguments);
    case "input_required":
      return decision.result;
    case "refused":
      return decision.result;
    case "elicit":
      throw new TypeError("Cannot confirm: an elicitation answer asked for another elicitation");
  }
}
