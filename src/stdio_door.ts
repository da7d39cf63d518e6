/**
 * The stdio MCP server's start-up after the handshake is already being answered: flags, settings,
 * logging, the MCP server (SDK) and, on first use, the core services. Run by src/main_mcp.ts.
 *
 * @module
 */
import { systemClock } from "./clock.ts";
import { SETTINGS } from "./config.ts";
import { startEntrypoint } from "./entrypoint.ts";
import { getLog } from "./log.ts";
import { type KeyVariable, missingKeyHint } from "./generation/vocabulary.ts";
import { lazyImageService } from "./lazy_image_service.ts";
import type { FastStdioTransport } from "./mcp/fast_stdio.ts";
import { LOCAL_PRINCIPAL } from "./core/policy.ts";
import { SERVER_NAME, VERSION } from "./version.ts";

/**
 * Modules of the first tool call, named through constants so that loading this door does not load
 * them too (`deno run` loads what a literal dynamic import names along with its importer).
 * `scripts/compile.ts` includes them in the binary by name.
 */
const SERVICES = "./services.ts";
const IMAGES = "./images/mod.ts";

const HELP = `${SERVER_NAME} ${VERSION} — MCP server over stdio

Usage: main_mcp [--<setting> <value> ...]

Every setting of the README's configuration table can be given as a flag named after it, e.g.
--output-dir ~/Pictures/ai --default-quality high. Flags override environment variables and .env.
Tools: generate_image, edit_image, get_image, list_images, delete_image, list_models.
Setup for Claude Desktop and other clients: MCP_SETUP.md.
`;

/** Runs the stdio server on `transport` (already listening); returns the exit code. */
export async function runStdioServer(
  args: string[],
  transport: FastStdioTransport | undefined,
): Promise<number> {
  const started = await startEntrypoint(args, {
    help: HELP,
    category: "mcp",
    infoOnly: transport === undefined,
  });
  if ("exitCode" in started || !transport) return "exitCode" in started ? started.exitCode : 0;
  const { config, logging } = started;
  const log = getLog("mcp");

  const closed = Promise.withResolvers<void>();
  transport.closed.then(() => closed.resolve());
  const stop = () => closed.resolve();
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);

  type ServicesModule = typeof import("./services.ts");
  type Services = Awaited<ReturnType<ServicesModule["createServices"]>>;
  let services: Services | undefined;
  let loading: Promise<Services> | undefined;
  /** The core, loaded on first use (once; again after a failure). */
  const core = () =>
    loading ??= (import(SERVICES) as Promise<ServicesModule>)
      .then(({ createServices }) => createServices(config, { door: "mcp", logging }))
      .then((created) => services = created)
      .catch((error) => {
        loading = undefined;
        throw error;
      });
  const images = lazyImageService(async () => (await core()).images);

  const { createMcpServer, createPriceGate, createTaskSetup, serveStdio } = await import(
    "./mcp/mod.ts"
  );
  const confirm = createPriceGate(config, core, systemClock);
  // Tasks live in the configured KV, opened with the rest of the core on first use.
  const tasks = createTaskSetup(async () => (await core()).kv);
  // PUBLIC_BASE_URL links must open for the client too: signed with the HTTP service's secret (in
  // the shared KV) when images are not public. Loaded on first use, like the rest of the core.
  let sign: ((file: string) => Promise<string>) | undefined;
  const linkConfig = config.publicBaseUrl && !config.imagesPublic
    ? {
      ...config,
      imageLink: async (file: string) => {
        if (!services) return undefined;
        if (!sign) {
          const { imagePath, readableImageUrl, UrlSigner }: typeof import("./images/mod.ts") =
            await import(IMAGES);
          const signer = new UrlSigner(services.kv, {
            now: systemClock,
            ttlSeconds: config.imageUrlTtlSeconds,
          });
          const base = config.publicBaseUrl!;
          sign = (name) =>
            readableImageUrl(signer, { base, path: imagePath(name), imagesPublic: false });
        }
        return await sign(file);
      },
    }
    : config;
  // One instance per connection, its era chosen by the opening message (`initialize`: 2025;
  // `server/discover` or an enveloped request: 2026-07-28), from the same factory.
  const stdio = serveStdio(({ era }) =>
    createMcpServer(() => ({
      images,
      config: linkConfig,
      principal: () => LOCAL_PRINCIPAL,
      redact: logging.redact,
      confirm,
    }), { era, logging, tasks }), {
    transport,
    onerror: (error) => log.debug("MCP stdio: {message}", { message: error.message }),
  });
  log.info("MCP server {name} {version} ready on stdio (key {keyState})", {
    name: SERVER_NAME,
    version: VERSION,
    keyState: config.openaiApiKey || config.azureApiKey
      ? "set"
      : `missing: ${missingKeyHint("mcp", SETTINGS.openaiApiKey.name as KeyVariable)}`,
  });
  await closed.promise;
  await stdio.close().catch(() => {});
  // Nobody is left to receive a result: generations still waiting for OpenAI are cancelled (the
  // client's in-flight calls are aborted by the SDK; this covers jobs already answered as pending),
  // so the process exits promptly. Images whose bytes already arrived finish storing first.
  if (services) {
    const { generator } = services;
    for (const id of generator.runningJobIds()) {
      generator.abortLocal(id, "cancelled because the MCP client disconnected");
    }
    await services.drain();
    // The ends of tasks are written to KV once their jobs settle: before the KV closes.
    await tasks.drain();
    await services.close();
  }
  await logging[Symbol.asyncDispose]();
  return 0;
}
