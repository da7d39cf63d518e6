/**
 * JSON-RPC errors the MCP door answers with instead of a result, independent of the SDK: the door
 * maps a {@link ProtocolError} to the SDK's own error type (`McpError` in 1.x, `ProtocolError` in
 * v2), keeping code, message and data as they are.
 *
 * @module
 */

/** JSON-RPC and MCP error codes this project answers with (spec 2026-07-28 `schema.ts`). */
export const ERROR_CODES = Object.freeze({
  /** The request object is not valid. */
  invalidRequest: -32600,
  /** Unknown method, or a tool that forbids (or requires) task augmentation (2025-11-25). */
  methodNotFound: -32601,
  /** Bad parameters: unknown or expired task, bad cursor, tampered `requestState`. */
  invalidParams: -32602,
  /** An unexpected failure of the server. */
  internalError: -32603,
  /** The request needs a client capability it did not declare (2026-07-28). */
  missingRequiredClientCapability: -32021,
});

/** A JSON-RPC error object, as it appears in an error response or a failed task. */
export interface JsonRpcErrorObject {
  /** Error code. */
  code: number;
  /** One short sentence. */
  message: string;
  /** Details defined by the code (e.g. `requiredCapabilities`). */
  data?: unknown;
}

/** A request the door must answer with a JSON-RPC error rather than a result. */
export class ProtocolError extends Error {
  /** JSON-RPC error code. */
  readonly code: number;
  /** Structured details, when the code defines some. */
  readonly data?: unknown;

  /** Creates an error answered as `{ code, message, data }`. */
  constructor(code: number, message: string, data?: unknown) {
    super(message);
    this.name = "ProtocolError";
    this.code = code;
    if (data !== undefined) this.data = data;
  }

  /** The JSON-RPC error object of this error. */
  toJSON(): JsonRpcErrorObject {
    return {
      code: this.code,
      message: this.message,
      ...(this.data === undefined ? {} : { data: this.data }),
    };
  }
}
