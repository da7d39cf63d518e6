/**
 * The shape every JSON-RPC body on `/mcp` must have before the MCP SDK (or anything keyed by a
 * message's id) sees it: one message object or a batch of them, each with `"jsonrpc": "2.0"`, a
 * method or a result/error, and an id short enough to become part of a KV key. Anything else is
 * refused with a message naming the problem and what is accepted.
 *
 * @module
 */

/** Longest string id accepted (ids become part of KV keys for cancels). */
export const MAX_ID_CHARS = 128;
/** Most messages in one batch. */
export const MAX_BATCH_MESSAGES = 100;

/** One JSON-RPC message, as far as routing cares. */
export interface JsonRpcMessage {
  /** Request or notification method. */
  readonly method?: string;
  /** Request id. */
  readonly id?: string | number;
  /** Parameters. */
  readonly params?: Record<string, unknown>;
}

const ACCEPTED_ID = `a string of at most ${MAX_ID_CHARS} characters or an integer`;

/** True when `id` is a request id this service accepts (and may use in a KV key). */
export function isAcceptedId(id: unknown): id is string | number {
  if (typeof id === "string") return id.length <= MAX_ID_CHARS;
  return Number.isSafeInteger(id);
}

function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function problemOf(message: unknown, where: string): string | undefined {
  if (typeof message !== "object" || message === null || Array.isArray(message)) {
    return `${where} is ${kindOf(message)}; expected a JSON-RPC message object`;
  }
  const m = message as Record<string, unknown>;
  if (m.jsonrpc !== "2.0") return `${where} has no "jsonrpc": "2.0"`;
  if ("id" in m && !isAcceptedId(m.id)) {
    const shown = typeof m.id === "string" ? `a string of ${m.id.length} characters` : kindOf(m.id);
    return `the id of ${where} is ${shown}; expected ${ACCEPTED_ID}`;
  }
  if ("method" in m) {
    if (typeof m.method !== "string" || m.method.length === 0 || m.method.length > 128) {
      return `the method of ${where} is not a name of 1 to 128 characters`;
    }
    if ("params" in m && (typeof m.params !== "object" || m.params === null)) {
      return `the params of ${where} are ${kindOf(m.params)}; expected an object`;
    }
    return undefined;
  }
  if (!("result" in m) && !("error" in m)) {
    return `${where} has neither a method (request or notification) nor a result or error (response)`;
  }
  return undefined;
}

/**
 * Checks a parsed `/mcp` body; returns the messages, or the reason it is refused
 * (`Invalid Request: …`).
 */
export function checkJsonRpcBody(
  body: unknown,
): { ok: true; messages: JsonRpcMessage[] } | { ok: false; reason: string } {
  const batch = Array.isArray(body);
  const messages: unknown[] = batch ? body : [body];
  if (batch && messages.length === 0) {
    return { ok: false, reason: "Invalid Request: the batch is empty" };
  }
  if (messages.length > MAX_BATCH_MESSAGES) {
    return {
      ok: false,
      reason: `Invalid Request: the batch holds ${messages.length} messages (at most ` +
        `${MAX_BATCH_MESSAGES})`,
    };
  }
  for (const [index, message] of messages.entries()) {
    const problem = problemOf(message, batch ? `message ${index + 1} of the batch` : "the message");
    if (problem !== undefined) return { ok: false, reason: `Invalid Request: ${problem}` };
  }
  return { ok: true, messages: messages as JsonRpcMessage[] };
}
