/**
 * Confirmation before expensive renders (`MCP_CONFIRM_ABOVE_USD`) for both protocol eras: the
 * decision ({@link PriceConfirmation}), the signed multi round-trip state
 * ({@link ConfirmationStateCodec}) and the flow a door runs ({@link confirmThenRun}).
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
export {
  canonicalJson,
  type ConfirmationState,
  ConfirmationStateCodec,
  DEFAULT_STATE_TTL_MS,
  type StateBinding,
} from "./request_state.ts";
