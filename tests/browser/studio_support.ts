/**
 * The image studio (an MCP App) for browser tests and screenshots: the real core and MCP server
 * with an apps-declaring client, and the studio opened in the harness host page (`app_host.ts`)
 * with its tool calls forwarded through that client.
 *
 * @module
 */
// @ts-types="npm:@modelcontextprotocol/sdk@1.32.2/inMemory"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js";
import type { Browser, FrameLocator, Page } from "playwright-core";
import type { Principal } from "../../src/core_types.ts";
import { createMcpServer } from "../../src/mcp/server.ts";
import { APP_MIME_TYPE, APPS_EXTENSION_ID, STUDIO_URI } from "../../src/mcp/apps/mod.ts";
import { Client } from "../e2e/support/mcp_client.ts";
import { startRealCore } from "../support/real_core.ts";
import { HOST_PAGE, hostPolicy } from "./app_host.ts";

/** The local user. */
export const LOCAL: Principal = Object.freeze({ id: "local", name: "local user", role: "admin" });
/** Client capabilities declaring the apps extension. */
export const APPS_CAPABILITIES = {
  extensions: { [APPS_EXTENSION_ID]: { mimeTypes: [APP_MIME_TYPE] } },
};

/** A loose JSON object. */
export type Loose = Record<string, unknown>;
/** A `tools/list` entry, as far as the studio cares. */
export type ToolEntry = {
  name: string;
  _meta?: { ui?: { resourceUri?: string; visibility?: string[] } };
};

/** The real core and MCP server, with the upstream's edit masks recorded. */
export async function startStudioServer(
  upstreamFetch: typeof fetch = fetch,
  env: Record<string, string> = {},
) {
  const masks: Uint8Array[] = [];
  const upstream: typeof fetch = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!new URL(url).pathname.endsWith("/images/edits")) return await upstreamFetch(input, init);
    const request = new Request(input, init);
    const mask = (await request.clone().formData()).get("mask");
    if (mask instanceof File) masks.push(new Uint8Array(await mask.arrayBuffer()));
    return await upstreamFetch(request);
  };
  const core = await startRealCore({
    env: { KV_PATH: ":memory:", LOG_LEVEL: "error", ...env },
    fetch: upstream,
  });
  const clients: InstanceType<typeof Client>[] = [];
  /** Connects a client declaring `capabilities`, to a server instance of its own. */
  const connect = async (capabilities: Loose) => {
    const server = createMcpServer(() => ({
      images: core.services.images,
      config: core.config,
      principal: () => LOCAL,
      redact: (text) => text,
    }));
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: "studio-host", version: "1.0.0" }, { capabilities });
    await client.connect(clientSide);
    clients.push(client);
    return client;
  };
  return {
    core,
    masks,
    connect,
    async [Symbol.asyncDispose]() {
      for (const client of clients) await client.close();
      await core.services.drain?.();
      await core[Symbol.asyncDispose]();
    },
  };
}

/** Watches a page for requests and console errors (from the host page and the app's frame). */
export function watch(page: Page) {
  const requests: string[] = [];
  const errors: string[] = [];
  page.on("request", (request) => {
    if (!/^(data|about|blob):/.test(request.url())) requests.push(request.url());
  });
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(message.text());
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  return { requests, errors };
}

/** A client connected by {@link startStudioServer}. */
export type StudioClient = Awaited<
  ReturnType<Awaited<ReturnType<typeof startStudioServer>>["connect"]>
>;

/**
 * The studio in the harness host, showing `result` of generate_image(`input`) (or of
 * `options.toolName`, named to the app in `toolInfo`), once `options.shown` (the picture) is.
 */
export async function openStudio(
  browser: Browser,
  client: StudioClient,
  input: Loose,
  result: unknown,
  viewport = { width: 720, height: 900 },
  theme: "light" | "dark" = "dark",
  options: { toolName?: string; shown?: string } = {},
) {
  const tools = (await client.listTools()).tools as ToolEntry[];
  const read = await client.readResource({ uri: STUDIO_URI });
  const app = read.contents[0] as unknown as { text: string; _meta: { ui: { csp: Loose } } };
  const forwarded: string[] = [];
  const calls = new Map<number, AbortController>();
  const page = await browser.newPage({ viewport });
  const seen = watch(page);
  await page.exposeFunction("hostForward", async (id: number, method: string, params: Loose) => {
    if (method !== "tools/call") throw new Error(`Unsupported: ${method}`);
    const tool = tools.find((t) => t.name === params.name);
    const visibility = tool?._meta?.ui?.visibility ?? ["model", "app"];
    if (!tool || !visibility.includes("app")) throw new Error(`Not for apps: ${params.name}`);
    forwarded.push(String(params.name));
    const abort = new AbortController();
    calls.set(id, abort);
    try {
      // The server's progress goes back to the app under the app's own token.
      const token = (params._meta as { progressToken?: unknown } | undefined)?.progressToken;
      return await client.callTool(params as { name: string; arguments: Loose }, undefined, {
        signal: abort.signal,
        ...(token === undefined ? {} : {
          onprogress: (progress: { progress: number; message?: string }) =>
            void page.evaluate(
              (message) =>
                (globalThis as unknown as { toApp(message: unknown): void }).toApp(message),
              {
                jsonrpc: "2.0",
                method: "notifications/progress",
                params: { ...progress, progressToken: token },
              },
            ).catch(() => {}),
        }),
      });
    } finally {
      calls.delete(id);
    }
  });
  await page.exposeFunction("hostCancel", (id: number) => calls.get(id)?.abort("Cancelled"));
  await page.setContent(HOST_PAGE);
  await page.evaluate(
    ([html, policy, args, answer, theme, toolName]) =>
      (globalThis as unknown as { startApp(...a: unknown[]): void }).startApp(
        html,
        policy,
        args,
        answer,
        theme,
        toolName,
      ),
    [app.text, hostPolicy(app._meta.ui.csp), input, result, theme, options.toolName] as const,
  );
  const frame = page.frameLocator("iframe");
  await frame.locator(options.shown ?? "#picture[src^='data:image/']").waitFor();
  return { page, frame, forwarded, seen };
}

/** The pixel size of the studio's large picture. */
export async function pictureSize(frame: FrameLocator): Promise<number[]> {
  return await frame.locator("#picture").evaluate((img) => {
    const picture = img as unknown as { naturalWidth: number; naturalHeight: number };
    return [picture.naturalWidth, picture.naturalHeight];
  });
}
