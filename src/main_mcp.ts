/**
 * The stdio MCP server — the command Claude Desktop runs. stdout carries only JSON-RPC; logs go to
 * stderr. The handshake is answered before KV, the store and the OpenAI SDK load (they load on the
 * first call that needs them). The process exits when the client closes stdin, after letting jobs
 * already answered as pending finish.
 *
 * @module
 */
import process from "node:process";
import { ConfigError, loadConfig, SETTINGS } from "./config.ts";
import { parseEntrypointArgs } from "./cli_flags.ts";
import { getLog, setupLogging } from "./log.ts";
import { lazyImageService } from "./lazy_image_service.ts";
import { createMcpServer } from "./mcp/server.ts";
import { StdioServerTransport } from "./mcp/sdk.ts";
import type { Principal } from "./core_types.ts";
import { SERVER_NAME, VERSION } from "./version.ts";

const HELP = `${SERVER_NAME} ${VERSION} — MCP server over stdio

Usage: main_mcp [--<setting> <value> ...]

Every setting of the README's configuration table can be given as a flag named after it, e.g.
--output-dir ~/Pictures/ai --default-quality high. Flags override environment variables and .env.
Tools: generate_image, edit_image, get_image, list_images, delete_image, list_models.
Setup for Claude Desktop and other clients: MCP_SETUP.md.
`;

/** The local user of a stdio server owns everything it stores. */
const LOCAL_PRINCIPAL: Principal = Object.freeze({
  id: "local",
  name: "local user",
  role: "admin",
});

async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseEntrypointArgs(args);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (parsed.help) {
    console.error(HELP);
    return 0;
  }
  if (parsed.version) {
    console.error(`${SERVER_NAME} ${VERSION}`);
    return 0;
  }
  let config;
  try {
    config = await loadConfig(parsed.overrides);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`${error.message}\nSee the configuration table in README.md.`);
      return 1;
    }
    throw error;
  }
  const logging = await setupLogging(config);
  const log = getLog("mcp");
  for (const warning of config.warnings) log.warning(warning);

  let services: Awaited<ReturnType<typeof import("./services.ts").createServices>> | undefined;
  const images = lazyImageService(async () => {
    const { createServices } = await import("./services.ts");
    services = await createServices(config, { door: "mcp", logging });
    return services.images;
  });

  const server = createMcpServer((mcp) => ({
    images,
    config,
    principal: () => LOCAL_PRINCIPAL,
    client: () => ({ name: mcp.server.getClientVersion()?.name }),
    redact: logging.redact,
  }), { logging });

  const transport = new StdioServerTransport();
  const closed = Promise.withResolvers<void>();
  transport.onclose = () => closed.resolve();
  const stop = () => closed.resolve();
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
  await server.connect(transport);
  log.info("MCP server {name} {version} ready on stdio (key {keyState})", {
    name: SERVER_NAME,
    version: VERSION,
    keyState: config.openaiApiKey || config.azureApiKey
      ? "set"
      : `missing: set ${SETTINGS.openaiApiKey.name}`,
  });
  // stdin closed → the client is gone (the SDK's transport does not watch for it).
  process.stdin.once("end", stop);
  await closed.promise;
  server.dispose();
  await server.close().catch(() => {});
  // Jobs already answered as pending finish storing before the process ends.
  if (services) {
    await services.drain();
    await services.close();
  }
  await logging[Symbol.asyncDispose]();
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
