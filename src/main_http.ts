/**
 * The HTTP service: the predecessor's REST API, the OpenAI-compatible `/v1`, MCP over Streamable
 * HTTP on `/mcp`, the gallery, metrics and docs — one Hono app on `Deno.serve`.
 *
 * The retention cron is registered here at module top level, unconditionally and before
 * `Deno.serve` (Deno Deploy requires it); its handler does nothing until the services exist and
 * honours IMAGE_CLEANUP_ENABLED / IMAGE_CLEANUP_INTERVAL_HOURS with the last run kept in KV.
 *
 * @module
 */
import { EXIT_CONFIG } from "./cli/exit_codes.ts";
import { startEntrypoint } from "./entrypoint.ts";
import { getLog } from "./log.ts";
import { SERVER_NAME, VERSION } from "./version.ts";

const cronStop = new AbortController();
let cleanupTick: (() => Promise<unknown>) | undefined;
Deno.cron("image-cleanup", "0 * * * *", { signal: cronStop.signal }, async () => {
  await cleanupTick?.();
});

const HELP = `${SERVER_NAME} ${VERSION} — HTTP service

Usage: main_http [--<setting> <value> ...]

Serves the REST API (/mcp, /images, /admin/*), the OpenAI-compatible /v1/images/*, MCP over
Streamable HTTP on /mcp, the gallery on /, /metrics, /openapi.json and /docs.
Every setting of the README's configuration table can be given as a flag named after it,
e.g. --port 3010 --host 0.0.0.0 --mcp-auth-token ... Flags override environment variables and .env.
`;

/** How long in-flight generations may take to finish after a shutdown signal. */
const DRAIN_DEADLINE_MS = 60_000;

async function main(args: string[]): Promise<number> {
  const started = await startEntrypoint(args, { help: HELP, category: "http" });
  if ("exitCode" in started) return started.exitCode;
  const { config, logging } = started;
  const log = getLog("http");
  const { startHttpService } = await import("./http_door.ts");
  const service = await startHttpService(config, { logging });
  if (!service) {
    await logging[Symbol.asyncDispose]();
    // Both reasons not to start (a public bind without auth, an address in use) are settings.
    return EXIT_CONFIG;
  }
  cleanupTick = service.cleanupTick;
  const stopped = Promise.withResolvers<void>();
  const stop = () => stopped.resolve();
  Deno.addSignalListener("SIGINT", stop);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", stop);
  await Promise.race([stopped.promise, service.finished]);
  log.info("Shutting down: no new connections; waiting for in-flight work");
  cronStop.abort();
  await service.shutdown(DRAIN_DEADLINE_MS);
  await logging[Symbol.asyncDispose]();
  return 0;
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
