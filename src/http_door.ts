/**
 * Starts the HTTP door: builds the services (with their metrics and limiter), refuses unsafe
 * starts, serves the whole app from src/app/http_app.ts on `Deno.serve` and shuts down gracefully.
 * Run by src/main_http.ts (and by tests in-process).
 *
 * @module
 */
import { authRequired } from "./auth/mod.ts";
import { type Config, isLoopbackHost } from "./config.ts";
import { createHttpApp, oauthOffReason } from "./app/mod.ts";
import { createCleanupHandler } from "./images/mod.ts";
import { getLog, type LoggingHandle } from "./log.ts";
import type { ClientMetadataResolver } from "./oauth/mod.ts";
import { isFullyPriced } from "./generation/mod.ts";
import { createServices, type ServiceDeps } from "./services.ts";

const log = getLog("http");

/** Options of {@link startHttpService}. */
export interface HttpServiceOptions {
  /** Logging handle (log forwarding to MCP clients, redaction). */
  logging?: LoggingHandle;
  /** Overrides for the services (tests: in-memory KV, fetch). */
  services?: Partial<ServiceDeps>;
  /** Resolves OAuth Client ID Metadata Document URLs (tests: one that trusts a local CA). */
  resolveClientMetadata?: ClientMetadataResolver;
}

/** A running HTTP service. */
export interface HttpService {
  /** The address it listens on, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  /** The retention tick for the cron. */
  readonly cleanupTick: () => Promise<unknown>;
  /** Settles if the server stops by itself. */
  readonly finished: Promise<void>;
  /** Stateful MCP sessions open in this process (idle ones are closed first). */
  openMcpSessions(): Promise<number>;
  /** Stops accepting, lets in-flight work finish up to `deadlineMs`, closes everything. */
  shutdown(deadlineMs: number): Promise<void>;
}

/** Why binding `HOST`:`PORT` failed, in words that name the setting to change; undefined if unknown. */
function bindFailure(error: unknown, config: Pick<Config, "host" | "port">): string | undefined {
  const address = `${config.host.includes(":") ? `[${config.host}]` : config.host}:${config.port}`;
  if (error instanceof Deno.errors.AddrInUse) {
    return `Cannot listen on ${address}: port ${config.port} is already in use; stop the other ` +
      "process or choose another port with PORT or --port";
  }
  if (error instanceof Deno.errors.AddrNotAvailable) {
    return `Cannot listen on ${address}: ${config.host} is not an address of this machine; ` +
      "choose another with HOST or --host";
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return `Cannot listen on ${address}: the system does not allow this process to use port ` +
      `${config.port}; choose a port above 1023 with PORT or --port`;
  }
  return undefined;
}

/**
 * Starts the HTTP service; returns undefined (after logging why in one line) when it must not
 * start: a public bind without auth, or an address it cannot listen on.
 */
export async function startHttpService(
  config: Config,
  options: HttpServiceOptions = {},
): Promise<HttpService | undefined> {
  const services = await createServices(config, {
    door: "http",
    ...(options.logging ? { logging: options.logging } : {}),
    maxDataUrlBytes: config.maxUploadBytes,
    ...options.services,
  });
  const { kv, store } = services;
  if (
    !isLoopbackHost(config.host) && !config.allowUnauthenticated &&
    !(await authRequired(config, kv))
  ) {
    log.error(
      "Refusing to listen on {host} without authentication: set MCP_AUTH_TOKEN (or create an API " +
        "key with the CLI), or set ALLOW_UNAUTHENTICATED=true to serve anyone who can reach it",
      { host: config.host },
    );
    await services.close();
    return undefined;
  }
  if (config.budgetUsdPerKeyMonth > 0) {
    const model = services.registry.get(config.defaultModel);
    if (model && !isFullyPriced(model)) {
      log.warning(
        "BUDGET_USD_PER_KEY_MONTH is set, but the price of {model} is not fully known, so its " +
          "generations cost $0 against budgets; add its prices with MODELS_FILE",
        { model: config.defaultModel },
      );
    }
  }
  const http = createHttpApp(services, {
    ...(options.logging ? { logging: options.logging } : {}),
    ...(options.services?.now ? { now: options.services.now } : {}),
    ...(options.resolveClientMetadata
      ? { resolveClientMetadata: options.resolveClientMetadata }
      : {}),
  });
  const { app } = http;
  const listening = Promise.withResolvers<string>();
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    server = Deno.serve({
      hostname: config.host,
      port: config.port,
      onListen: ({ hostname, port }) => {
        const shown = hostname.includes(":") ? `[${hostname}]` : hostname;
        listening.resolve(`http://${shown}:${port}`);
      },
    }, (request, info) => app.fetch(request, { remoteAddr: info.remoteAddr }));
  } catch (error) {
    const reason = bindFailure(error, config);
    if (reason === undefined) throw error;
    // A start-up mistake, not a crash: one line that says what to change, no stack trace.
    log.error(reason);
    await http[Symbol.asyncDispose]();
    await services.close();
    return undefined;
  }
  const url = await listening.promise;
  log.info("HTTP service listening on {url}", { url });
  const oauthOff = oauthOffReason(config);
  if (oauthOff === null) {
    log.info("OAuth sign-in is on for {resource}", { resource: `${config.publicBaseUrl}/mcp` });
    if (config.oauthIssuer !== undefined) {
      log.info("OAuth access tokens come from the external issuer {issuer} (audience {audience})", {
        issuer: config.oauthIssuer,
        audience: config.oauthAudience,
      });
    }
  } else {
    log.info("OAuth sign-in is off: {reason}", { reason: oauthOff });
  }
  let shuttingDown: Promise<void> | undefined;
  return {
    url,
    cleanupTick: createCleanupHandler({ store, settings: config }),
    finished: server.finished,
    openMcpSessions: () => http.openMcpSessions(),
    shutdown(deadlineMs) {
      shuttingDown ??= (async () => {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const deadline = new Promise<void>((resolve) => {
          const started = setTimeout(resolve, deadlineMs);
          Deno.unrefTimer(started);
          timer = started;
        });
        try {
          // Open stateful MCP streams would hold server.shutdown() until the deadline: end them.
          await http[Symbol.asyncDispose]();
          await Promise.race([server.shutdown(), deadline]);
          await Promise.race([services.drain(), deadline]);
          // MCP tasks record their ends in KV once their jobs settle: before the KV closes.
          await Promise.race([http.drainMcpTasks(), deadline]);
          await services.close();
        } finally {
          clearTimeout(timer);
        }
      })();
      return shuttingDown;
    },
  };
}
