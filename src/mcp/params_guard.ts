/**
 * Checks the params of the standard MCP requests before the SDK's handlers run, so that a wrong
 * type is answered `-32602` "Invalid params" with one short sentence naming the field and what it
 * accepts. Works around typescript-sdk#2284 (SDK 2.4.0 answers a schema-invalid spec request with
 * `-32603` and the zod issues as its message; the fix, PR #2492, is unreleased) and the zod dump of
 * the SDK's own `tools/call` check. The schemas are the SDK's (`specTypeSchemas`); a request that
 * passes them still meets the SDK's own era-specific validation afterwards.
 *
 * @module
 */
import { ProtocolError, type SpecTypeName, specTypeSchemas } from "./sdk.ts";

/** The params schema of each standard request the server serves (both eras use the same fields). */
const PARAMS: Readonly<Record<string, SpecTypeName>> = Object.freeze({
  "tools/call": "CallToolRequestParams",
  "tools/list": "PaginatedRequestParams",
  "prompts/list": "PaginatedRequestParams",
  "prompts/get": "GetPromptRequestParams",
  "resources/list": "PaginatedRequestParams",
  "resources/templates/list": "PaginatedRequestParams",
  "resources/read": "ReadResourceRequestParams",
  "resources/subscribe": "SubscribeRequestParams",
  "resources/unsubscribe": "UnsubscribeRequestParams",
  "completion/complete": "CompleteRequestParams",
});

/** What a field accepts, where the schema's own message says only "Invalid input" (unions). */
const ACCEPTS: Readonly<Record<string, string>> = Object.freeze({
  "ref": 'expected {"type": "ref/prompt", "name": <string>} or ' +
    '{"type": "ref/resource", "uri": <string>}',
  "_meta.progressToken": "expected a string or a number",
});

type Handler = (request: { params?: unknown }, ctx: unknown) => Promise<unknown>;
type Segment = PropertyKey | { readonly key: PropertyKey };

function fieldOf(path: readonly Segment[] | undefined): string {
  let field = "";
  for (const segment of path ?? []) {
    const key = typeof segment === "object" ? segment.key : segment;
    field += typeof key === "number" ? `[${key}]` : `${field ? "." : ""}${String(key)}`;
  }
  return field;
}

/** The `-32602` answer of `method` for `params`, or undefined when they fit its schema. */
export async function invalidParams(
  method: string,
  params: unknown,
): Promise<ProtocolError | undefined> {
  const name = PARAMS[method];
  if (!name) return undefined;
  const outcome = await specTypeSchemas[name]["~standard"].validate(params ?? {});
  if (!outcome.issues) return undefined;
  const [first, ...more] = outcome.issues;
  const field = fieldOf(first.path);
  const said = first.message.replace(/^Invalid input: /, "");
  const accepts = ACCEPTS[field] ?? (said === "Invalid input" ? "not accepted" : said);
  const others = more.length === 0 ? "" : ` (and ${more.length} more)`;
  return new ProtocolError(
    -32602,
    `Invalid params for ${method}: ${field || "params"}: ${accepts}${others}`,
    { field: field || null },
  );
}

/**
 * Makes every later-registered handler of a standard request check its params first. Call it on a
 * new server, before any tool, resource or prompt is registered. It hooks the SDK's handler seam
 * (`Protocol._wrapHandler`, the one every registration passes through), the only place that runs
 * before the SDK's own params check.
 */
export function guardRequestParams(server: { server: object }): void {
  const low = server.server as { _wrapHandler?: (method: string, handler: Handler) => Handler };
  const wrap = low._wrapHandler;
  if (typeof wrap !== "function") {
    throw new TypeError(
      "The MCP SDK has no Protocol._wrapHandler: the params guard needs a new seam",
    );
  }
  low._wrapHandler = function (this: unknown, method: string, handler: Handler): Handler {
    const wrapped = wrap.call(this, method, handler);
    if (!(method in PARAMS)) return wrapped;
    return async (request, ctx) => {
      const refused = await invalidParams(method, request.params);
      if (refused) throw refused;
      return await wrapped(request, ctx);
    };
  };
}
