/**
 * Confirmation before expensive renders (`MCP_CONFIRM_ABOVE_USD`) for both protocol eras: the
 * decision ({@link PriceConfirmation}), the signed multi round-trip state
 * ({@link ConfirmationStateCodec}), the flow a door runs ({@link confirmThenRun}) and the
 * per-process gate the generation tools use ({@link createPriceGate}).
 *
 * @module
 */
export {
  CONFIRM_ARGUMENT,
  CONFIRM_INPUT_KEY,
  type Confirmation,
  type ConfirmIo,
  type ConfirmRequest,
  confirmThenRun,
  declaresFormElicitation,
  describeQuote,
  type ElicitFormParams,
  type InputRequiredResult,
  PriceConfirmation,
  withoutConfirmation,
} from "./confirmation.ts";
export { CONFIRM_KEY_KV, createPriceGate, type PriceGate, type PriceGateCore } from "./gate.ts";
export {
  canonicalJson,
  type ConfirmationState,
  ConfirmationStateCodec,
  DEFAULT_STATE_TTL_MS,
  type StateBinding,
} from "./request_state.ts";
