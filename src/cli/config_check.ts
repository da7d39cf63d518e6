/**
 * `config check [--live]` and the predecessor's `validate-config [--skip-api-check]`: validate
 * every setting at once, print the effective configuration with secrets masked, and with `--live`
 * ask the upstream which models the key can use.
 *
 * @module
 */
import { type Config, ConfigError, redactConfig } from "../config.ts";
import { AppError } from "../errors.ts";
import {
  createImageClient,
  loadModelRegistry,
  mapUpstreamError,
  missingKeyHint,
  validateModelDefaults,
} from "../generation/mod.ts";
import { EXIT_CONFIG } from "./exit_codes.ts";
import type { Command } from "./command.ts";
import type { CliSession } from "./context.ts";
import { printJson } from "./output.ts";

/** Longest wait for the live check's answer. */
const LIVE_TIMEOUT_MS = 30_000;

/** What the upstream said in a live check. */
interface LiveReport {
  mode: string;
  baseUrl: string;
  models: string[];
  imageModels: string[];
  defaultModelAvailable: boolean;
}

async function liveCheck(config: Config, session: CliSession): Promise<LiveReport> {
  const registry = await loadModelRegistry({ modelsFile: config.modelsFile });
  const client = createImageClient(config, { registry, now: () => new Date(session.now()) });
  if (client.sdk === null) {
    throw new AppError(
      "missing_api_key",
      `Cannot check the upstream: no API key is configured; ${
        missingKeyHint("cli", client.keyVariable)
      }`,
    );
  }
  const models: string[] = [];
  try {
    const page = client.sdk.models.list({
      timeout: Math.min(config.openaiTimeoutMs, LIVE_TIMEOUT_MS),
      maxRetries: 0,
    });
    for await (const model of page) models.push(model.id);
  } catch (error) {
    throw mapUpstreamError(error, {
      model: config.defaultModel,
      registry,
      now: new Date(session.now()),
      timeoutMs: Math.min(config.openaiTimeoutMs, LIVE_TIMEOUT_MS),
      keyVariable: client.keyVariable,
    });
  }
  models.sort();
  const known = new Set(registry.ids());
  const defaultId = registry.get(config.defaultModel)?.id ?? config.defaultModel;
  return {
    mode: client.mode,
    baseUrl: client.baseUrl,
    models,
    imageModels: models.filter((id) => known.has(id)),
    // Azure lists base models, not deployments: a missing id there proves nothing.
    defaultModelAvailable: client.mode === "azure" || models.includes(defaultId),
  };
}

function formatValue(value: unknown): string {
  if (value === undefined) return "(unset)";
  if (typeof value === "string") return value;
  return JSON.stringify(value);
}

async function checkConfig(session: CliSession, live: boolean): Promise<number> {
  let config: Config;
  try {
    config = await session.config();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    if (session.json) {
      printJson(session.io, { ok: false, problems: error.problems });
    } else {
      session.io.err("Invalid configuration:\n");
      for (const p of error.problems) session.io.err(`  ${p.name}: ${p.message}\n`);
      session.io.err("See the configuration table in README.md.\n");
    }
    return EXIT_CONFIG;
  }
  const registry = await loadModelRegistry({ modelsFile: config.modelsFile });
  const warnings = [
    ...config.warnings,
    ...validateModelDefaults(registry, config, { now: new Date(session.now()) }),
  ];
  const report = live ? await liveCheck(config, session) : undefined;
  if (report && !report.defaultModelAvailable) {
    warnings.push(
      `DEFAULT_MODEL ${config.defaultModel} is not among the models this key can use`,
    );
  }
  const redacted = redactConfig(config);
  if (session.json) {
    printJson(session.io, {
      ok: true,
      config: redacted,
      warnings,
      ...(report ? { live: report } : {}),
    });
    return 0;
  }
  for (const [name, value] of Object.entries(redacted)) {
    session.io.out(`${name}=${formatValue(value)}\n`);
  }
  for (const warning of warnings) session.io.err(`warning: ${warning}\n`);
  session.io.err("Configuration is valid\n");
  if (report) {
    session.io.err(
      `Upstream ${report.baseUrl} (${report.mode}) answered: ${report.models.length} models ` +
        `available to this key; image models: ${report.imageModels.join(", ") || "none known"}\n`,
    );
  }
  return 0;
}

/** `config check [--live]`. */
export const configCheckCommand: Command = {
  path: ["config", "check"],
  args: "",
  summary: "Validate every setting and print the effective configuration (secrets masked)",
  details: "Settings come from flags, the environment and .env in the working directory. " +
    "Invalid settings are all listed at once (exit code 3). With --live, the upstream is asked " +
    "which models the API key can use (exit code 5 when the key is missing or refused).",
  options: [
    {
      name: "live",
      synopsis: "--live",
      text: "Also ask the upstream which models the key can use",
    },
  ],
  positionals: { min: 0, max: 0 },
  run: (session, args) => checkConfig(session, args.values.live === true),
};

/** The predecessor's `validate-config [--skip-api-check]`. */
export const validateConfigAlias: Command = {
  path: ["validate-config"],
  args: "",
  summary: "Validate the configuration and check the API key against the upstream",
  options: [
    {
      name: "skip-api-check",
      synopsis: "--skip-api-check",
      text: "Do not contact the upstream",
    },
  ],
  positionals: { min: 0, max: 0 },
  aliasOf: "config check --live",
  run: (session, args) => checkConfig(session, args.values["skip-api-check"] !== true),
};
