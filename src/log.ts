/**
 * Logging through LogTape. Every line goes to stderr (stdout belongs to the MCP protocol), secrets
 * are redacted from every formatted line, and request ids travel through async context.
 *
 * @module
 */
import {
  configure,
  getAnsiColorFormatter,
  getJsonLinesFormatter,
  getLogger,
  getTextFormatter,
  type Logger,
  type LogLevel as LogTapeLevel,
  type LogRecord,
  reset,
  type Sink,
  type TextFormatter,
  withContext,
} from "@logtape/logtape";
import { AsyncLocalStorage } from "node:async_hooks";
import type { Config, LogLevel } from "./config.ts";

/** Root category of every logger in this project. */
export const ROOT_CATEGORY = "imagegen";

/** Returns the logger for a sub-category, e.g. `getLog("mcp")`. */
export function getLog(...category: string[]): Logger {
  return getLogger([ROOT_CATEGORY, ...category]);
}

/** Runs `fn` with `properties` (e.g. `{ requestId }`) attached to every log record it makes. */
export function withLogContext<T>(properties: Record<string, unknown>, fn: () => T): T {
  return withContext(properties, fn);
}

/** Record property naming the MCP session whose work made the record. */
const SCOPE_PROPERTY = "mcpScope";

/**
 * Runs `fn` so that every record it (and whatever it starts) logs belongs to `scope`: a remote MCP
 * session forwards only the records of its own scope, never another user's.
 */
export function withLogScope<T>(scope: string, fn: () => T): T {
  return withContext({ [SCOPE_PROPERTY]: scope }, fn);
}

/** The scope `record` was logged in (see {@link withLogScope}), or undefined. */
export function logScopeOf(record: LogRecord): string | undefined {
  const scope = record.properties[SCOPE_PROPERTY];
  return typeof scope === "string" ? scope : undefined;
}

const GENERIC_SECRET_PATTERNS: RegExp[] = [
  /\bsk-[A-Za-z0-9_-]{8,}/g,
  // This service's own API keys (src/auth/api_keys.ts), wherever a caller pastes them.
  /\boig_[A-Za-z0-9_-]{16,}/g,
  /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{4,}/gi,
  // An `Authorization: Bearer …` value is left to the pattern above: the scheme is no secret.
  /\b(api[-_]?key|authorization|access[-_]?token|token)(["']?\s*[:=]\s*["']?)(?!(?:Bearer|Basic)\s)[^\s"',}]{4,}/gi,
];

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Returns a function that masks API keys, bearer tokens and the given literal secrets in text. */
export function createRedactor(secrets: readonly (string | undefined)[] = []): (
  text: string,
) => string {
  const literal = secrets.filter((s): s is string => typeof s === "string" && s.length >= 4)
    .sort((a, b) => b.length - a.length)
    .map((s) => new RegExp(escapeRegExp(s), "g"));
  return (text: string) => {
    let out = text;
    for (const pattern of literal) out = out.replace(pattern, "[REDACTED]");
    for (const pattern of GENERIC_SECRET_PATTERNS) {
      out = out.replace(pattern, (match: string, p1?: string, p2?: string) => {
        if (match.startsWith("sk-")) return "sk-[REDACTED]";
        if (match.startsWith("oig_")) return "oig_[REDACTED]";
        if (p1 && p2 !== undefined && /[:=]/.test(p2)) return `${p1}${p2}[REDACTED]`;
        if (p1) return `${p1} [REDACTED]`;
        return "[REDACTED]";
      });
    }
    return out;
  };
}

const LEVEL_MAP: Record<LogLevel, LogTapeLevel> = {
  debug: "debug",
  info: "info",
  warning: "warning",
  error: "error",
};

/** Something that receives every log record at or above the configured level. */
export type LogListener = (record: LogRecord, message: string) => void;

/** Handle returned by {@link setupLogging}. */
export interface LoggingHandle extends AsyncDisposable {
  /** Adds a listener (e.g. the MCP server forwarding warnings to its client); returns a remover. */
  addListener(listener: LogListener): () => void;
  /** The redactor used for every line, for doors that show error text. */
  redact(text: string): string;
}

/** Options of {@link setupLogging}. */
export interface SetupLoggingOptions {
  /** Where lines go; defaults to the process's stderr. */
  write?: (bytes: Uint8Array) => void;
  /** Whether the destination is a terminal (for `LOG_FORMAT=auto`). */
  isTerminal?: boolean;
}

type LoggingConfig = Pick<
  Config,
  | "logLevel"
  | "logFormat"
  | "logToFile"
  | "logFilePath"
  | "openaiApiKey"
  | "azureApiKey"
  | "mcpAuthToken"
  | "kvAccessToken"
>;

function chooseFormatter(format: Config["logFormat"], isTerminal: boolean): TextFormatter {
  if (format === "json" || (format === "auto" && !isTerminal)) {
    return getJsonLinesFormatter({ properties: "nest:properties" });
  }
  return isTerminal
    ? getAnsiColorFormatter({ timestamp: "time" })
    : getTextFormatter({ timestamp: "date-time" });
}

/** Configures LogTape once for a process: stderr (+ optional rotating file), redaction, context. */
export async function setupLogging(
  config: LoggingConfig,
  options: SetupLoggingOptions = {},
): Promise<LoggingHandle> {
  const redact = createRedactor([
    config.openaiApiKey,
    config.azureApiKey,
    config.mcpAuthToken,
    config.kvAccessToken,
  ]);
  const encoder = new TextEncoder();
  const write = options.write ?? ((bytes: Uint8Array) => {
    let offset = 0;
    while (offset < bytes.length) offset += Deno.stderr.writeSync(bytes.subarray(offset));
  });
  const isTerminal = options.isTerminal ?? Deno.stderr.isTerminal();
  const formatter = chooseFormatter(config.logFormat, isTerminal);
  const stderrSink: Sink = (record) => write(encoder.encode(redact(formatter(record))));
  const listeners = new Set<LogListener>();
  const plain = getTextFormatter({ timestamp: "none", level: "FULL", category: "." });
  const listenerSink: Sink = (record) => {
    if (listeners.size === 0) return;
    const message = redact(plain(record)).trimEnd();
    for (const listener of listeners) {
      try {
        listener(record, message);
      } catch {
        // A failing listener must never break logging.
      }
    }
  };
  const sinks: Record<string, Sink> = { stderr: stderrSink, listeners: listenerSink };
  let fileSink: (Sink & Partial<Disposable>) | undefined;
  if (config.logToFile) {
    const { getRotatingFileSink } = await import("@logtape/file");
    await Deno.mkdir(parentDir(config.logFilePath), { recursive: true });
    const fileFormatter = getJsonLinesFormatter({ properties: "nest:properties" });
    fileSink = getRotatingFileSink(config.logFilePath, {
      formatter: (record) => redact(fileFormatter(record)),
      maxSize: 10 * 1024 * 1024,
      maxFiles: 5,
    });
    sinks.file = fileSink;
  }
  await configure({
    reset: true,
    contextLocalStorage: new AsyncLocalStorage(),
    sinks,
    loggers: [
      {
        category: [ROOT_CATEGORY],
        lowestLevel: LEVEL_MAP[config.logLevel],
        sinks: Object.keys(sinks),
      },
      { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["stderr"] },
    ],
  });
  return {
    addListener(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    redact,
    async [Symbol.asyncDispose]() {
      listeners.clear();
      await reset();
    },
  };
}

function parentDir(path: string): string {
  const index = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return index > 0 ? path.slice(0, index) : ".";
}
