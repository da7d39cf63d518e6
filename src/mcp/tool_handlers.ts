/**
 * The SDK's own `tools/call` and `tools/list` handlers, captured so the door can wrap them, and the
 * way a tool's {@link DoorProtocolError} reaches the client as a JSON-RPC error: McpServer turns
 * every error a tool throws into an `isError` result, so the captured `tools/call` rethrows the
 * protocol error its tool threw (e.g. `-32602` for a tampered, expired or foreign `requestState`).
 *
 * @module
 */
import type { ToolExtra } from "./progress.ts";
import { ProtocolError as DoorProtocolError } from "./protocol_error.ts";
import { type McpServer, ProtocolError } from "./sdk.ts";

/** A request handler as the SDK stores it. */
export type RawHandler = (
  request: { params?: Record<string, unknown> },
  extra: ToolExtra,
) => unknown;

/** The SDK's tool handlers, captured by {@link captureToolHandlers}. */
export interface ToolHandlers {
  /** `tools/call`; a protocol error its tool threw is rethrown as the SDK's. */
  call?: RawHandler;
  /** `tools/list`. */
  list?: RawHandler;
}

/** The SDK's protocol error for the door's own (same code, message and data). */
export function sdkError(error: unknown): unknown {
  return error instanceof DoorProtocolError
    ? new ProtocolError(error.code, error.message, error.data)
    : error;
}

/** Runs `work`, answering a door {@link DoorProtocolError} as the SDK's protocol error. */
export async function answering<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw sdkError(error);
  }
}

type AnyCallback = (...args: unknown[]) => unknown;

/**
 * Runs `register` (which registers the tools) and returns the SDK's own `tools/call` and
 * `tools/list` handlers, so the door can wrap them: the tool handlers never see the raw request
 * (`params.task`), and v2's `registerTool` has no `execution` field. The door must register the
 * returned `call` itself (or a wrapper of it): the SDK's registered one keeps its `isError`.
 */
export function captureToolHandlers(server: McpServer, register: () => void): ToolHandlers {
  const captured: ToolHandlers = {};
  const escaped = new WeakMap<object, DoorProtocolError>();
  const low = server.server as unknown as {
    setRequestHandler: (method: string, ...rest: unknown[]) => void;
  };
  const high = server as unknown as { registerTool: (...rest: unknown[]) => unknown };
  const setRequestHandler = low.setRequestHandler;
  const registerTool = high.registerTool;
  low.setRequestHandler = function (this: unknown, method: string, ...rest: unknown[]) {
    if (method === "tools/call") {
      const call = rest[0] as RawHandler;
      captured.call = async (request, extra) => {
        const result = await call(request, extra);
        const error = escaped.get(extra);
        if (error) throw sdkError(error);
        return result;
      };
    }
    if (method === "tools/list") captured.list = rest[0] as RawHandler;
    return setRequestHandler.call(this, method, ...rest);
  };
  // The callback's last argument is the request's context (with or without an input schema).
  high.registerTool = function (this: unknown, ...rest: unknown[]) {
    const callback = rest.at(-1) as AnyCallback;
    const noting: AnyCallback = async (...args) => {
      try {
        return await callback(...args);
      } catch (error) {
        if (error instanceof DoorProtocolError) escaped.set(args.at(-1) as object, error);
        throw error;
      }
    };
    return registerTool.call(this, ...rest.slice(0, -1), noting);
  };
  try {
    register();
  } finally {
    // The instances' own properties go; the prototypes' methods show through again.
    delete (low as { setRequestHandler?: unknown }).setRequestHandler;
    delete (high as { registerTool?: unknown }).registerTool;
  }
  return captured;
}
