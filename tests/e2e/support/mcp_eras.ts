/**
 * MCP clients of every protocol era for tests, behind one small interface: SDK v2's client
 * negotiating 2026-07-28 (`versionNegotiation: { mode: "auto" }`), and SDK 1.x's client speaking
 * 2025-11-25 or — its `initialize` rewritten on the way out — 2025-06-18. Each connects over
 * stdio (spawning the real stdio server) or over Streamable HTTP (to a running HTTP service).
 *
 * @module
 */
import {
  Client as ClientV2,
  StreamableHTTPClientTransport as HttpTransportV2,
} from "@modelcontextprotocol/client";
import { StdioClientTransport as StdioTransportV2 } from "@modelcontextprotocol/client/stdio";
import {
  Client as ClientV1,
  StdioClientTransport as StdioTransportV1,
  stdioServerParameters,
  StreamableHTTPClientTransport as HttpTransportV1,
} from "./mcp_client.ts";

/** The protocol versions the test clients speak. */
export type EraVersion = "2026-07-28" | "2025-11-25" | "2025-06-18";

/** Where the server is: a stdio command's environment, or an HTTP service and its token. */
export type EraTarget =
  | { readonly transport: "stdio"; readonly env: Record<string, string>; readonly cwd: string }
  | { readonly transport: "http"; readonly url: string; readonly token: string };

type Loose = Record<string, unknown>;

/** What every test client offers, whichever SDK and era is behind it. */
export interface EraClient extends AsyncDisposable {
  /** The protocol version the connection negotiated. */
  readonly version: string | undefined;
  /** The server's `serverInfo` (2025: from `initialize`; 2026: from `server/discover`). */
  serverInfo(): Loose | undefined;
  /** `tools/list`. */
  listTools(): Promise<{ tools: Loose[] }>;
  /** `prompts/list`. */
  listPrompts(): Promise<{ prompts: Loose[] }>;
  /** `prompts/get`. */
  getPrompt(name: string, args: Record<string, string>): Promise<{ messages: Loose[] }>;
  /** `tools/call`, with a timeout fit for a generation. */
  callTool(name: string, args: Loose): Promise<{ content: Loose[]; isError?: boolean }>;
  /** `resources/list`. */
  listResources(): Promise<{ resources: Loose[] }>;
  /** `resources/read`. */
  readResource(uri: string): Promise<{ contents: Loose[] }>;
}

const CALL_TIMEOUT = { timeout: 60_000, resetTimeoutOnProgress: true };

function stdioParameters(target: { env: Record<string, string>; cwd: string }) {
  return {
    ...stdioServerParameters(target.cwd, { LOG_LEVEL: "error", ...target.env }),
    stderr: "ignore" as const,
  };
}

/** What both SDKs' clients share, as far as these tests use it. */
interface SdkClient {
  getServerVersion(): unknown;
  listTools(): Promise<unknown>;
  listPrompts(): Promise<unknown>;
  getPrompt(params: { name: string; arguments: Record<string, string> }): Promise<unknown>;
  listResources(): Promise<unknown>;
  readResource(params: { uri: string }): Promise<unknown>;
  close(): Promise<void>;
}

/** The shared interface over `client`; `callTool` and `version` are the SDK-specific parts. */
function eraClient(
  client: SdkClient,
  version: () => string | undefined,
  callTool: (name: string, args: Loose) => Promise<unknown>,
): EraClient {
  return {
    get version() {
      return version();
    },
    serverInfo: () => client.getServerVersion() as Loose | undefined,
    listTools: () => client.listTools() as Promise<{ tools: Loose[] }>,
    listPrompts: () => client.listPrompts() as Promise<{ prompts: Loose[] }>,
    getPrompt: (name, args) =>
      client.getPrompt({ name, arguments: args }) as Promise<{ messages: Loose[] }>,
    callTool: (name, args) =>
      callTool(name, args) as Promise<{ content: Loose[]; isError?: boolean }>,
    listResources: () => client.listResources() as Promise<{ resources: Loose[] }>,
    readResource: (uri) => client.readResource({ uri }) as Promise<{ contents: Loose[] }>,
    [Symbol.asyncDispose]: () => client.close(),
  };
}

/** SDK v2's client in `auto` negotiation mode: 2026-07-28 with this server. */
export async function connectV2(target: EraTarget): Promise<EraClient> {
  const client = new ClientV2({ name: "eras-v2", version: "1.0.0" }, {
    versionNegotiation: { mode: "auto" },
  });
  const transport = target.transport === "stdio"
    ? new StdioTransportV2(stdioParameters(target))
    : new HttpTransportV2(new URL(`${target.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${target.token}` } },
    });
  await client.connect(transport);
  return eraClient(
    client,
    () => client.getNegotiatedProtocolVersion(),
    (name, args) => client.callTool({ name, arguments: args }, CALL_TIMEOUT),
  );
}

/**
 * SDK 1.x's client. It always asks for its latest version (2025-11-25) in `initialize`; for
 * `2025-06-18` the request is rewritten on its way out, as an older client would send it, and the
 * server's answer decides the version the connection speaks.
 */
export async function connectV1(target: EraTarget, version: EraVersion): Promise<EraClient> {
  const client = new ClientV1({ name: "eras-v1", version: "1.0.0" });
  const transport = target.transport === "stdio"
    ? new StdioTransportV1(stdioParameters(target))
    : new HttpTransportV1(new URL(`${target.url}/mcp`), {
      requestInit: { headers: { Authorization: `Bearer ${target.token}` } },
    });
  let negotiated: string | undefined;
  let initializeId: unknown;
  type Handler = (message: unknown, extra?: unknown) => void;
  const wire = transport as unknown as {
    send(message: unknown, options?: unknown): Promise<void>;
    onmessage?: Handler;
  };
  const send = wire.send.bind(wire);
  wire.send = (message, options) => {
    const request = message as Loose & { params?: Loose };
    if (request.method === "initialize") {
      initializeId = request.id;
      request.params = { ...request.params, protocolVersion: version };
    }
    return send(message, options);
  };
  // Read the server's `initialize` answer on its way in (1.x has no getter for the version).
  let inner: Handler | undefined;
  Object.defineProperty(wire, "onmessage", {
    get: () => inner,
    set: (handler: Handler | undefined) => {
      inner = (message, extra) => {
        const answer = message as Loose & { result?: { protocolVersion?: string } };
        if (answer.id === initializeId && answer.result) negotiated = answer.result.protocolVersion;
        handler?.(message, extra);
      };
    },
  });
  await client.connect(transport);
  return eraClient(
    client,
    () => negotiated,
    (name, args) => client.callTool({ name, arguments: args }, undefined, CALL_TIMEOUT),
  );
}

/** Connects the client that speaks `version`. */
export function connectEra(target: EraTarget, version: EraVersion): Promise<EraClient> {
  return version === "2026-07-28" ? connectV2(target) : connectV1(target, version);
}
