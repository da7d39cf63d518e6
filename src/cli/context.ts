/**
 * What a CLI command runs with: its terminal, the configuration (resolved on first use), the core
 * services or only the KV database (opened on first use and closed when the command ends), and
 * the local principal. The CLI never registers a cron, so nothing keeps the process alive after
 * {@link CliSession.close}.
 *
 * @module
 */
import { type Config, readDotenvFile, readProcessEnv, resolveConfig, SETTINGS } from "../config.ts";
import type { Caller, Principal } from "../core_types.ts";
import { LOCAL_PRINCIPAL } from "../core/policy.ts";
import { DEFAULT_MAX_INPUT_BYTES } from "../images/mod.ts";
import { type LoggingHandle, setupLogging } from "../log.ts";
import type { Services } from "../services.ts";
import type { CliIo } from "./io.ts";
import { systemClock } from "../clock.ts";

/** Options of {@link CliSession}. */
export interface CliSessionOptions {
  /** Where output goes. */
  io: CliIo;
  /** `--json` was given. */
  json: boolean;
  /** Setting overrides from flags. */
  overrides: Record<string, string>;
  /** Clock, epoch milliseconds. */
  now?: () => number;
}

/** One run of the CLI: lazily opened resources, closed together at the end. */
export class CliSession {
  /** Where output goes. */
  readonly io: CliIo;
  /** `--json` was given. */
  readonly json: boolean;
  /** Who the CLI acts as. */
  readonly principal: Principal = LOCAL_PRINCIPAL;
  /** The CLI as the core's caller. */
  readonly caller: Caller = { principal: LOCAL_PRINCIPAL, door: "cli" };
  /** Clock, epoch milliseconds. */
  readonly now: () => number;
  #overrides: Record<string, string>;
  #config: Promise<Config> | undefined;
  #logging: LoggingHandle | undefined;
  #services: Promise<Services> | undefined;
  #kv: Promise<Deno.Kv> | undefined;

  /** Creates a session; opens nothing yet. */
  constructor(options: CliSessionOptions) {
    this.io = options.io;
    this.json = options.json;
    this.#overrides = options.overrides;
    this.now = options.now ?? systemClock;
  }

  /**
   * The configuration: flags > environment > `.env` > defaults. The CLI logs warnings and errors
   * only unless `LOG_LEVEL` is set, so a command's own output is not buried in log lines.
   * Throws `ConfigError` for invalid settings.
   */
  config(): Promise<Config> {
    this.#config ??= (async () => {
      const env = readProcessEnv();
      const dotenv = await readDotenvFile();
      const flags = { ...this.#overrides };
      const level = SETTINGS.logLevel.name;
      if (!flags[level] && !env[level]?.trim() && !dotenv[level]?.trim()) flags[level] = "warning";
      const config = resolveConfig({ flags, env, dotenv });
      this.#logging = await setupLogging(config, { isTerminal: this.io.stderrIsTerminal });
      return config;
    })();
    return this.#config;
  }

  /**
   * The core services (KV, store, registry, generator), built once for the `cli` door. With
   * `readOnly` (a dry run) they change nothing on disk, start-up included; a session runs one
   * command, so the first call decides.
   */
  services(options: { readOnly?: boolean } = {}): Promise<Services> {
    this.#services ??= (async () => {
      const config = await this.config();
      const { createServices } = await import("../services.ts");
      // The CLI reads local files itself and hands them over as data URLs, up to the input limit.
      return await createServices(config, {
        door: "cli",
        logging: this.#logging,
        maxDataUrlBytes: DEFAULT_MAX_INPUT_BYTES,
        readOnly: options.readOnly ?? false,
      });
    })();
    return this.#services;
  }

  /** The KV database alone (API keys, usage), without preparing the image store. */
  kv(): Promise<Deno.Kv> {
    if (this.#services) return this.#services.then((s) => s.kv);
    this.#kv ??= (async () => {
      const { openKv } = await import("../kv/mod.ts");
      return await openKv(await this.config());
    })();
    return this.#kv;
  }

  /** Waits for running jobs, then closes services, KV and logging. Safe to call more than once. */
  async close(): Promise<void> {
    const services = this.#services;
    this.#services = undefined;
    if (services) {
      const s = await services.catch(() => undefined);
      if (s) {
        await s.drain();
        await s.close();
      }
    }
    const kv = this.#kv;
    this.#kv = undefined;
    if (kv) (await kv.catch(() => undefined))?.close();
    const logging = this.#logging;
    this.#logging = undefined;
    if (logging) await logging[Symbol.asyncDispose]();
  }
}
