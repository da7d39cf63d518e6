/**
 * The one place that reads configuration. Every setting of `shared/notes/config.md` is declared
 * once in {@link SETTINGS} (name, type, default, documentation, zod parser); {@link resolveConfig}
 * merges flags > environment > `.env` > defaults, validates everything at once and returns a frozen
 * {@link Config}. Nothing else in the code base reads environment variables.
 *
 * @module
 */
import { markdownTable } from "./markdown.ts";
import { z } from "zod";
import { isAbsolute, join, resolve } from "node:path";

/** Operating systems whose default data directory differs. */
export type HostOs = "linux" | "darwin" | "windows" | string;

/** Raw string sources of settings. */
export interface ConfigSources {
  /** Command-line flags, keyed by setting name (`PORT`) — entrypoints convert `--port` for you. */
  flags?: Record<string, string | undefined>;
  /** Environment variables. */
  env?: Record<string, string | undefined>;
  /** Contents of a `.env` file, already parsed. */
  dotenv?: Record<string, string | undefined>;
  /** Host operating system (defaults to `Deno.build.os`). */
  os?: HostOs;
  /** Working directory that relative paths resolve against (defaults to `Deno.cwd()`). */
  cwd?: string;
}

/** Log levels the service understands. */
export type LogLevel = "debug" | "info" | "warning" | "error";

/** A request rate window such as `100/15m`. */
export interface RateWindow {
  /** Requests allowed per window; 0 disables the limit. */
  readonly limit: number;
  /** Window length in milliseconds. */
  readonly windowMs: number;
}

/** The first non-empty trimmed value, or undefined. */
function clean(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  return trimmed === "" ? undefined : trimmed;
}

type Ctx = { addIssue: (issue: { code: "custom"; message: string }) => void };

function fail(ctx: Ctx, message: string): never {
  ctx.addIssue({ code: "custom", message });
  return z.NEVER as never;
}

function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 77)}...` : value);
}

function text() {
  return z.string().optional();
}

function secret() {
  return z.string().optional();
}

function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.string().transform((raw, ctx) => {
    if (!/^[+-]?\d+$/.test(raw)) {
      return fail(ctx, `${quote(raw)} is not an integer (accepted: ${min} to ${max})`);
    }
    const n = Number(raw);
    if (n < min || n > max) {
      return fail(ctx, `${quote(raw)} is out of range (accepted: ${min} to ${max})`);
    }
    return n;
  });
}

function optionalInteger(min: number, max = Number.MAX_SAFE_INTEGER) {
  return integer(min, max).optional();
}

function decimal(min: number, max = Number.MAX_SAFE_INTEGER) {
  return z.string().transform((raw, ctx) => {
    const n = Number(raw);
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw) || !Number.isFinite(n)) {
      return fail(ctx, `${quote(raw)} is not a number (accepted: ${min} to ${max})`);
    }
    if (n < min || n > max) {
      return fail(ctx, `${quote(raw)} is out of range (accepted: ${min} to ${max})`);
    }
    return n;
  });
}

const TRUE_WORDS = ["true", "1", "yes", "on"];
const FALSE_WORDS = ["false", "0", "no", "off"];

function boolean() {
  return z.string().transform((raw, ctx) => {
    const word = raw.toLowerCase();
    if (TRUE_WORDS.includes(word)) return true;
    if (FALSE_WORDS.includes(word)) return false;
    return fail(ctx, `${quote(raw)} is not a boolean (accepted: true, false, 1, 0, yes, no)`);
  });
}

function oneOf<const T extends readonly string[]>(values: T) {
  return z.string().transform((raw, ctx) => {
    const word = raw.toLowerCase();
    if ((values as readonly string[]).includes(word)) return word as T[number];
    return fail(ctx, `${quote(raw)} is not accepted (accepted: ${values.join(", ")})`);
  });
}

/** `raw` as a URL, or a failure that says what is `accepted`. */
function parseUrl(raw: string, ctx: Ctx, accepted: string): URL {
  try {
    return new URL(raw);
  } catch {
    return fail(ctx, `${quote(raw)} is not a URL (accepted: ${accepted})`);
  }
}

function url() {
  return z.string().transform((raw, ctx) => {
    const parsed = parseUrl(raw, ctx, "an absolute http or https URL");
    if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
      return fail(
        ctx,
        `${quote(raw)} is not an http(s) URL (accepted: an absolute http or https URL)`,
      );
    }
    return raw.replace(/\/+$/, "");
  }).optional();
}

/**
 * An OAuth issuer identifier: an https URL without query or fragment (http only on a loopback
 * host), kept exactly as written — tokens' `iss` must equal it, trailing slash included.
 */
function issuerUrl() {
  return z.string().transform((raw, ctx) => {
    const parsed = parseUrl(raw, ctx, "the issuer's https URL");
    const loopbackHttp = parsed.protocol === "http:" && isLoopbackHost(parsed.hostname);
    if (parsed.protocol !== "https:" && !loopbackHttp) {
      return fail(ctx, `${quote(raw)} is not an https URL (accepted: the issuer's https URL)`);
    }
    if (parsed.search !== "" || parsed.hash !== "" || raw.includes("?") || raw.includes("#")) {
      return fail(ctx, `${quote(raw)} has a query or fragment (accepted: the issuer's https URL)`);
    }
    return raw;
  }).optional();
}

function commaList() {
  return z.string().transform((raw) =>
    Object.freeze(raw.split(",").map((part) => part.trim()).filter((part) => part !== ""))
  ).optional();
}

const LOG_LEVEL_WORDS: Record<string, LogLevel> = {
  debug: "debug",
  info: "info",
  warning: "warning",
  warn: "warning",
  error: "error",
  "0": "error",
  "1": "warning",
  "2": "info",
  "3": "debug",
};

function logLevel() {
  return z.string().transform((raw, ctx) => {
    const level = LOG_LEVEL_WORDS[raw.toLowerCase()];
    if (level) return level;
    return fail(
      ctx,
      `${
        quote(raw)
      } is not a log level (accepted: debug, info, warning, error, or 0 error, 1 warn, 2 info, 3 debug)`,
    );
  });
}

const WINDOW_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function rateWindow() {
  return z.string().transform((raw, ctx): RateWindow => {
    if (raw === "0" || raw.toLowerCase() === "off") return Object.freeze({ limit: 0, windowMs: 0 });
    const match = /^(\d+)\s*\/\s*(\d*)\s*([smhd])$/i.exec(raw);
    if (!match) {
      return fail(
        ctx,
        `${
          quote(raw)
        } is not a rate (accepted: N/window such as 100/15m, 60/1m, 1000/1h, 5000/1d, or 0 for no limit)`,
      );
    }
    const count = Number(match[2] || "1");
    const windowMs = count * WINDOW_UNITS[match[3].toLowerCase()];
    if (windowMs <= 0) return fail(ctx, `${quote(raw)} has an empty window (accepted: 1s or more)`);
    return Object.freeze({ limit: Number(match[1]), windowMs });
  });
}

/** Documentation and parsing of one setting. */
export interface Setting {
  /** The setting's name: environment variable, `.env` key, and (kebab-cased) flag. */
  readonly name: string;
  /** Table the setting is documented in. */
  readonly group: string;
  /** Accepted values, for documentation. */
  readonly type: string;
  /** The default, for documentation. */
  readonly defaultText: string;
  /** What the setting does. */
  readonly notes: string;
  /** Never printed in full: API keys and tokens. */
  readonly secret?: boolean;
}

interface SettingSpec<S extends z.ZodType> extends Setting {
  readonly schema: S;
  /** Raw default, given the raw values resolved so far (settings resolve in declaration order). */
  readonly fallback?: (
    raw: Record<string, string | undefined>,
    host: HostInfo,
  ) => string | undefined;
}

interface HostInfo {
  os: HostOs;
  cwd: string;
}

function spec<S extends z.ZodType>(s: SettingSpec<S>): SettingSpec<S> {
  return s;
}

const APP_DIR = "openai-image-gen-mcp";

/** The per-user data directory for `os`, from `HOME`, `XDG_DATA_HOME` or `APPDATA`. */
export function defaultDataDir(
  env: Record<string, string | undefined>,
  os: HostOs,
): string {
  const home = clean(env.HOME) ?? clean(env.USERPROFILE);
  if (os === "windows") {
    const appData = clean(env.APPDATA) ?? (home ? join(home, "AppData", "Roaming") : undefined);
    return appData ? join(appData, APP_DIR) : join(".", APP_DIR);
  }
  if (os === "darwin" && home) return join(home, "Library", "Application Support", APP_DIR);
  const xdg = clean(env.XDG_DATA_HOME);
  if (xdg) return join(xdg, APP_DIR);
  return home ? join(home, ".local", "share", APP_DIR) : join(".", APP_DIR);
}

const OCTET = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4_LOOPBACK = new RegExp(`^127\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/**
 * True when `host` (a name or address, IPv6 with or without brackets) is loopback, so only this
 * machine can connect: `localhost`, `::1`, or an IPv4 address of 127.0.0.0/8 written out in full —
 * never a name that merely starts like one (`127.0.0.1.evil.example`).
 */
export function isLoopbackHost(host: string): boolean {
  const name = host.toLowerCase();
  return name === "localhost" || name === "::1" || name === "[::1]" || IPV4_LOOPBACK.test(name);
}

/** True when `DENO_DEPLOY` says the process runs on Deno Deploy (any value but a false word). */
function onDeploy(raw: Record<string, string | undefined>): boolean {
  const value = clean(raw.DENO_DEPLOY);
  return value !== undefined && !FALSE_WORDS.includes(value.toLowerCase());
}

const OPENAI = "OpenAI upstream";
const PLACES = "Where things live";
const HTTP = "HTTP service";
const LIMITS = "Auth and limits";
const RETENTION = "Images, retention";
const OAUTH = "OAuth";
const MCP = "MCP results";
const LOGS = "Logs and the rest";

/** Every setting, in resolution order. Keys are the fields of {@link Config}. */
export const SETTINGS = {
  openaiApiKey: spec({
    name: "OPENAI_API_KEY",
    group: OPENAI,
    type: "string",
    defaultText: "—",
    notes: "Missing → the service starts; generations answer how to set it",
    secret: true,
    schema: secret(),
  }),
  openaiBaseUrl: spec({
    name: "OPENAI_BASE_URL",
    group: OPENAI,
    type: "URL",
    defaultText: "OpenAI's API",
    notes: "Any OpenAI-compatible endpoint",
    schema: url(),
  }),
  openaiOrgId: spec({
    name: "OPENAI_ORG_ID",
    group: OPENAI,
    type: "string",
    defaultText: "—",
    notes: "Passed explicitly to the SDK",
    schema: text(),
  }),
  openaiProjectId: spec({
    name: "OPENAI_PROJECT_ID",
    group: OPENAI,
    type: "string",
    defaultText: "—",
    notes: "Passed explicitly to the SDK",
    schema: text(),
  }),
  azureEndpoint: spec({
    name: "AZURE_OPENAI_ENDPOINT",
    group: OPENAI,
    type: "URL",
    defaultText: "—",
    notes: "Azure mode when set",
    schema: url(),
  }),
  azureApiKey: spec({
    name: "AZURE_OPENAI_API_KEY",
    group: OPENAI,
    type: "string",
    defaultText: "—",
    notes: "Azure API key (`api-key` header)",
    secret: true,
    schema: secret(),
  }),
  azureDeployment: spec({
    name: "AZURE_OPENAI_DEPLOYMENT",
    group: OPENAI,
    type: "string",
    defaultText: "—",
    notes: "Azure deployment name; defaults to the requested model",
    schema: text(),
  }),
  openaiApiVersion: spec({
    name: "OPENAI_API_VERSION",
    group: OPENAI,
    type: "string",
    defaultText: "2025-04-01-preview",
    notes: "Azure API version",
    schema: z.string(),
    fallback: () => "2025-04-01-preview",
  }),
  openaiTimeoutMs: spec({
    name: "OPENAI_TIMEOUT_MS",
    group: OPENAI,
    type: "integer",
    defaultText: "600000",
    notes: "Per upstream call; also lifts fetch's own timeouts",
    schema: integer(1000, 3_600_000),
    fallback: () => "600000",
  }),
  openaiMaxRetries: spec({
    name: "OPENAI_MAX_RETRIES",
    group: OPENAI,
    type: "integer",
    defaultText: "2",
    notes: "Honours `retry-after`",
    schema: integer(0, 10),
    fallback: () => "2",
  }),
  defaultModel: spec({
    name: "DEFAULT_MODEL",
    group: OPENAI,
    type: "model id",
    defaultText: "gpt-image-2",
    notes: "Model used when a request names none",
    schema: z.string(),
    fallback: () => "gpt-image-2",
  }),
  defaultQuality: spec({
    name: "DEFAULT_QUALITY",
    group: OPENAI,
    type: "model's qualities",
    defaultText: "medium",
    notes: "Chosen so a default generation fits inside a ~60 s client timeout",
    schema: z.string().transform((v) => v.toLowerCase()),
    fallback: () => "medium",
  }),
  legacyModels: spec({
    name: "LEGACY_MODELS",
    group: OPENAI,
    type: "`translate` \\| `reject` \\| `passthrough`",
    defaultText: "translate",
    notes:
      "What a request for a retired model gets: translated to the default model with a warning, a clear error, or sent as is",
    schema: oneOf(["translate", "reject", "passthrough"] as const),
    fallback: () => "translate",
  }),
  modelsFile: spec({
    name: "MODELS_FILE",
    group: OPENAI,
    type: "path",
    defaultText: "—",
    notes: "JSON additions/overrides for the model registry (models, prices, aliases)",
    schema: text(),
  }),
  dataDir: spec({
    name: "DATA_DIR",
    group: PLACES,
    type: "path",
    defaultText: "per-user data dir (`$XDG_DATA_HOME/openai-image-gen-mcp` on Linux)",
    notes: "Root for the defaults below",
    schema: z.string(),
    fallback: (raw, host) => defaultDataDir(raw, host.os),
  }),
  outputDir: spec({
    name: "OUTPUT_DIR",
    group: PLACES,
    type: "path",
    defaultText: "`$DATA_DIR/images`",
    notes:
      "Image files; may be shared with other files, which are never touched. Predecessor files `image_<ms>.png` found here are adopted. The image catalog lives in its `.openai-image-gen/` folder",
    schema: z.string(),
    fallback: (raw) => join(raw.DATA_DIR!, "images"),
  }),
  kvPath: spec({
    name: "KV_PATH",
    group: PLACES,
    type: "path \\| `:memory:`",
    defaultText: "`$DATA_DIR/kv.sqlite3` (managed KV on Deno Deploy)",
    notes:
      "Local Deno KV file: keys, limits, spend, jobs. Set explicitly, it also holds the image catalog (shared by every `OUTPUT_DIR`)",
    schema: text(),
    fallback: (raw) => onDeploy(raw) ? undefined : join(raw.DATA_DIR!, "kv.sqlite3"),
  }),
  kvUrl: spec({
    name: "KV_URL",
    group: PLACES,
    type: "URL",
    defaultText: "—",
    notes: "KV Connect endpoint (self-hosted `denokv`); token from `DENO_KV_ACCESS_TOKEN`",
    schema: url(),
  }),
  kvAccessToken: spec({
    name: "DENO_KV_ACCESS_TOKEN",
    group: PLACES,
    type: "string",
    defaultText: "—",
    notes: "Token for `KV_URL` (read by Deno itself)",
    secret: true,
    schema: secret(),
  }),
  instanceHeartbeatSeconds: spec({
    name: "INSTANCE_HEARTBEAT_SECONDS",
    group: PLACES,
    type: "number",
    defaultText: "15",
    notes: "How often a process marks itself alive in KV; its jobs read as interrupted after 3 " +
      "missed beats",
    schema: decimal(0.05, 300),
    fallback: () => "15",
  }),
  imageStore: spec({
    name: "IMAGE_STORE",
    group: PLACES,
    type: "`fs` \\| `kv`",
    defaultText: "`fs`; `kv` when `DENO_DEPLOY` is set",
    notes: "Where image bytes live",
    schema: oneOf(["fs", "kv"] as const),
    fallback: (raw) => onDeploy(raw) ? "kv" : "fs",
  }),
  imagesPublic: spec({
    name: "IMAGES_PUBLIC",
    group: PLACES,
    type: "boolean",
    defaultText: "true",
    notes: "`false` → image URLs are signed and expire, or need auth",
    schema: boolean(),
    fallback: () => "true",
  }),
  imageUrlTtlSeconds: spec({
    name: "IMAGE_URL_TTL_S",
    group: PLACES,
    type: "integer",
    defaultText: "3600",
    notes: "Lifetime of signed image URLs when `IMAGES_PUBLIC=false`",
    schema: integer(1, 31 * 86_400),
    fallback: () => "3600",
  }),
  host: spec({
    name: "HOST",
    group: HTTP,
    type: "string",
    defaultText: "127.0.0.1 (0.0.0.0 on Deno Deploy)",
    notes: "A non-loopback host with no auth refuses to start unless `ALLOW_UNAUTHENTICATED=true`",
    schema: z.string(),
    fallback: (raw) => onDeploy(raw) ? "0.0.0.0" : "127.0.0.1",
  }),
  port: spec({
    name: "PORT",
    group: HTTP,
    type: "integer",
    defaultText: "3000",
    notes: "Predecessor",
    schema: integer(0, 65_535),
    fallback: () => "3000",
  }),
  allowUnauthenticated: spec({
    name: "ALLOW_UNAUTHENTICATED",
    group: HTTP,
    type: "boolean",
    defaultText: "false",
    notes: "Permit a non-loopback bind without any auth",
    schema: boolean(),
    fallback: () => "false",
  }),
  publicBaseUrl: spec({
    name: "PUBLIC_BASE_URL",
    group: HTTP,
    type: "URL",
    defaultText: "derived from the request",
    notes:
      "Used in image URLs and MCP result text; the stdio server links HTTP URLs only when set. OAuth needs it at the root of a host: with a path (behind a proxy) OAuth is off and `OAUTH_ISSUER` is refused",
    schema: url(),
  }),
  trustProxy: spec({
    name: "TRUST_PROXY",
    group: HTTP,
    type: "boolean",
    defaultText: "false",
    notes: "Honour `X-Forwarded-For/-Proto/-Host`",
    schema: boolean(),
    fallback: () => "false",
  }),
  corsOrigins: spec({
    name: "CORS_ORIGINS",
    group: HTTP,
    type: "comma list",
    defaultText: "— (CORS off)",
    notes:
      "Origins allowed by CORS on the API (the OAuth discovery, token, registration and revocation endpoints allow any origin)",
    schema: commaList(),
  }),
  mcpAllowedOrigins: spec({
    name: "MCP_ALLOWED_ORIGINS",
    group: HTTP,
    type: "comma list",
    defaultText: "loopback origins when bound to loopback",
    notes: "Pages trusted to write, on every route (exact scheme, host and port)",
    schema: commaList(),
  }),
  mcpAllowedHosts: spec({
    name: "MCP_ALLOWED_HOSTS",
    group: HTTP,
    type: "comma list",
    defaultText: "loopback names when bound to loopback",
    notes: "Names of this service: the Host check of every route but `/health`",
    schema: commaList(),
  }),
  mcpHttpSessions: spec({
    name: "MCP_HTTP_SESSIONS",
    group: HTTP,
    type: "`stateless` \\| `stateful`",
    defaultText: "stateless",
    notes: "Stateless works behind any load balancer",
    schema: oneOf(["stateless", "stateful"] as const),
    fallback: () => "stateless",
  }),
  mcpSessionIdleSeconds: spec({
    name: "MCP_SESSION_IDLE_SECONDS",
    group: HTTP,
    type: "number",
    defaultText: "1800",
    notes: "Idle time after which a stateful session is closed; an open GET stream is not activity",
    schema: decimal(1, 604800),
    fallback: () => "1800",
  }),
  mcpSessionsPerKey: spec({
    name: "MCP_SESSIONS_PER_KEY",
    group: HTTP,
    type: "integer",
    defaultText: "16",
    notes: "Open stateful sessions per principal; one more is refused with 429",
    schema: integer(1, 100000),
    fallback: () => "16",
  }),
  maxBodyBytes: spec({
    name: "MAX_BODY_BYTES",
    group: HTTP,
    type: "integer",
    defaultText: "1048576",
    notes: "Largest JSON body",
    schema: integer(1024),
    fallback: () => String(1024 * 1024),
  }),
  maxUploadBytes: spec({
    name: "MAX_UPLOAD_BYTES",
    group: HTTP,
    type: "integer",
    defaultText: "62914560",
    notes: "Largest multipart body (edits)",
    schema: integer(1024),
    fallback: () => String(60 * 1024 * 1024),
  }),
  metricsPublic: spec({
    name: "METRICS_PUBLIC",
    group: HTTP,
    type: "boolean",
    defaultText: "false",
    notes: "`true`: `/metrics` needs no admin key even with auth on (private scraper)",
    schema: boolean(),
    fallback: () => "false",
  }),
  mcpAuthToken: spec({
    name: "MCP_AUTH_TOKEN",
    group: LIMITS,
    type: "string",
    defaultText: "— (auth off)",
    notes: "Predecessor. Acts as a full-access (admin) key",
    secret: true,
    schema: secret(),
  }),
  requestRateLimit: spec({
    name: "REQUEST_RATE_LIMIT",
    group: LIMITS,
    type: "`N/window` e.g. `100/15m`",
    defaultText: "100/15m",
    notes: "General limit per principal; not applied to image/thumbnail GETs",
    schema: rateWindow(),
    fallback: () => "100/15m",
  }),
  authFailureLimit: spec({
    name: "AUTH_FAILURE_LIMIT",
    group: LIMITS,
    type: "`N/window` e.g. `10/1m`",
    defaultText: "10/1m",
    notes:
      "Failed credentials per client address (IPv6: per /64); then failures get 429, a valid key still works",
    schema: rateWindow(),
    fallback: () => "10/1m",
  }),
  imageGenerationRateLimit: spec({
    name: "IMAGE_GENERATION_RATE_LIMIT",
    group: LIMITS,
    type: "integer",
    defaultText: "10; none for callers without a key on a loopback bind",
    notes:
      "Predecessor. Images per hour per principal; 0 = unlimited. Unset, a loopback `HOST` with auth off (and no `TRUST_PROXY`, not on Deno Deploy) has no cap",
    schema: integer(0),
    fallback: () => "10",
  }),
  maxInflightPerKey: spec({
    name: "MAX_INFLIGHT_PER_KEY",
    group: LIMITS,
    type: "integer, 0 = unlimited",
    defaultText: "4",
    notes: "Concurrent generations per principal",
    schema: integer(0),
    fallback: () => "4",
  }),
  upstreamImagesPerMinute: spec({
    name: "UPSTREAM_IMAGES_PER_MINUTE",
    group: LIMITS,
    type: "integer, 0 = unlimited",
    defaultText: "0",
    notes: "Global budget matching the OpenAI tier; excess waits in order",
    schema: integer(0),
    fallback: () => "0",
  }),
  upstreamQueueTimeoutMs: spec({
    name: "UPSTREAM_QUEUE_TIMEOUT_MS",
    group: LIMITS,
    type: "integer",
    defaultText: "30000",
    notes: "Longest wait for the upstream budget before 429",
    schema: integer(0),
    fallback: () => "30000",
  }),
  budgetUsdPerKeyMonth: spec({
    name: "BUDGET_USD_PER_KEY_MONTH",
    group: LIMITS,
    type: "number, 0 = none",
    defaultText: "0",
    notes: "Spend cap per key from the cost ledger",
    schema: decimal(0),
    fallback: () => "0",
  }),
  oauthEnabled: spec({
    name: "OAUTH_ENABLED",
    group: OAUTH,
    type: "boolean",
    defaultText: "true",
    notes:
      "The built-in OAuth 2.1 authorization server for `/mcp`, REST and `/v1`; active only when `PUBLIC_BASE_URL` is set (the resource's identity) to the root of a host, without a path",
    schema: boolean(),
    fallback: () => "true",
  }),
  oauthAccessTokenSeconds: spec({
    name: "OAUTH_ACCESS_TOKEN_SECONDS",
    group: OAUTH,
    type: "integer",
    defaultText: "3600",
    notes: "Lifetime of an access token",
    schema: integer(60, 86_400),
    fallback: () => "3600",
  }),
  oauthRefreshTokenDays: spec({
    name: "OAUTH_REFRESH_TOKEN_DAYS",
    group: OAUTH,
    type: "integer",
    defaultText: "30",
    notes: "Lifetime of a refresh token; each refresh rotates it, a reused one revokes the grant",
    schema: integer(1, 365),
    fallback: () => "30",
  }),
  oauthDcr: spec({
    name: "OAUTH_DCR",
    group: OAUTH,
    type: "boolean",
    defaultText: "true",
    notes: "RFC 7591 Dynamic Client Registration at `/oauth/register`",
    schema: boolean(),
    fallback: () => "true",
  }),
  oauthDcrLimit: spec({
    name: "OAUTH_DCR_LIMIT",
    group: OAUTH,
    type: "integer, 0 = unlimited",
    defaultText: "10",
    notes: "Client registrations per client address per hour",
    schema: integer(0),
    fallback: () => "10",
  }),
  oauthClientMetadataMaxBytes: spec({
    name: "OAUTH_CLIENT_METADATA_MAX_BYTES",
    group: OAUTH,
    type: "integer",
    defaultText: "5120",
    notes: "Largest Client ID Metadata Document fetched",
    schema: integer(256, 1_048_576),
    fallback: () => "5120",
  }),
  oauthClientMetadataTimeoutMs: spec({
    name: "OAUTH_CLIENT_METADATA_TIMEOUT_MS",
    group: OAUTH,
    type: "integer",
    defaultText: "5000",
    notes: "Longest fetch of a Client ID Metadata Document",
    schema: integer(100, 60_000),
    fallback: () => "5000",
  }),
  oauthIssuer: spec({
    name: "OAUTH_ISSUER",
    group: OAUTH,
    type: "URL",
    defaultText: "— (the service is its own authorization server)",
    notes:
      "An external authorization server: the resource metadata names it, its JWT access tokens are verified (JWKS from its metadata) and the built-in one is off; `iss` must equal it exactly",
    schema: issuerUrl(),
  }),
  oauthAudience: spec({
    name: "OAUTH_AUDIENCE",
    group: OAUTH,
    type: "string",
    defaultText: "`$PUBLIC_BASE_URL/mcp`",
    notes: "The audience the external issuer's access tokens must carry in `aud`",
    schema: text(),
    fallback: (raw) =>
      raw.PUBLIC_BASE_URL === undefined
        ? undefined
        : `${raw.PUBLIC_BASE_URL.replace(/\/+$/, "")}/mcp`,
  }),
  cleanupEnabled: spec({
    name: "IMAGE_CLEANUP_ENABLED",
    group: RETENTION,
    type: "boolean",
    defaultText: "false",
    notes: "Predecessor",
    schema: boolean(),
    fallback: () => "false",
  }),
  retentionDays: spec({
    name: "IMAGE_RETENTION_DAYS",
    group: RETENTION,
    type: "number",
    defaultText: "7",
    notes: "Predecessor",
    schema: decimal(0),
    fallback: () => "7",
  }),
  maxImageCount: spec({
    name: "IMAGE_MAX_COUNT",
    group: RETENTION,
    type: "integer",
    defaultText: "—",
    notes: "Predecessor",
    schema: optionalInteger(0),
  }),
  maxImageBytes: spec({
    name: "IMAGE_MAX_BYTES",
    group: RETENTION,
    type: "integer",
    defaultText: "—",
    notes: "Total stored bytes",
    schema: optionalInteger(0),
  }),
  cleanupIntervalHours: spec({
    name: "IMAGE_CLEANUP_INTERVAL_HOURS",
    group: RETENTION,
    type: "number",
    defaultText: "24",
    notes: "Predecessor; any value",
    schema: decimal(0.01),
    fallback: () => "24",
  }),
  mcpResultMaxBytes: spec({
    name: "MCP_RESULT_MAX_BYTES",
    group: MCP,
    type: "integer",
    defaultText: "700000",
    notes: "Raw image bytes inlined per result, all images together",
    schema: integer(10_000, 50_000_000),
    fallback: () => "700000",
  }),
  mcpPreviewMaxSide: spec({
    name: "MCP_PREVIEW_MAX_SIDE",
    group: MCP,
    type: "integer",
    defaultText: "1568",
    notes: "px, long side of inline previews",
    schema: integer(64, 8000),
    fallback: () => "1568",
  }),
  mcpStructuredContent: spec({
    name: "MCP_STRUCTURED_CONTENT",
    group: MCP,
    type: "`auto` \\| `always` \\| `never`",
    defaultText: "auto",
    notes: "`auto` decides by client",
    schema: oneOf(["auto", "always", "never"] as const),
    fallback: () => "auto",
  }),
  mcpLongJobSeconds: spec({
    name: "MCP_LONG_JOB_SECONDS",
    group: MCP,
    type: "number",
    defaultText: "45",
    notes: "After this, a tool answers with the pending image's id and link",
    schema: decimal(0.1, 3600),
    fallback: () => "45",
  }),
  mcpPartialImages: spec({
    name: "MCP_PARTIAL_IMAGES",
    group: MCP,
    type: "0–3",
    defaultText: "0",
    notes: "Partial previews cost extra output tokens",
    schema: integer(0, 3),
    fallback: () => "0",
  }),
  mcpConfirmAboveUsd: spec({
    name: "MCP_CONFIRM_ABOVE_USD",
    group: MCP,
    type: "number",
    defaultText: "— (off)",
    notes: "Generations whose worst-case price is above this ask to confirm",
    schema: decimal(0).optional(),
  }),
  mcpAllowDelete: spec({
    name: "MCP_ALLOW_DELETE",
    group: MCP,
    type: "boolean",
    defaultText: "true",
    notes: "Expose `delete_image`",
    schema: boolean(),
    fallback: () => "true",
  }),
  editAllowedRoots: spec({
    name: "EDIT_ALLOWED_ROOTS",
    group: MCP,
    type: "path list (OS path separator)",
    defaultText: "`OUTPUT_DIR`",
    notes: "File inputs to edits must resolve inside one of these",
    schema: z.string(),
    fallback: (raw) => raw.OUTPUT_DIR,
  }),
  editAllowedUrlHosts: spec({
    name: "EDIT_ALLOWED_URL_HOSTS",
    group: MCP,
    type: "comma list",
    defaultText: "— (URLs off)",
    notes: "http(s) inputs; private, loopback, link-local addresses always refused",
    schema: commaList(),
  }),
  logLevel: spec({
    name: "LOG_LEVEL",
    group: LOGS,
    type: "`debug` \\| `info` \\| `warning` \\| `error`, or `0`–`3`",
    defaultText: "info",
    notes: "Predecessor numbers: 0 error, 1 warn, 2 info, 3 debug",
    schema: logLevel(),
    fallback: () => "info",
  }),
  logFormat: spec({
    name: "LOG_FORMAT",
    group: LOGS,
    type: "`json` \\| `pretty` \\| `auto`",
    defaultText: "auto",
    notes: "`auto` is pretty on a TTY",
    schema: oneOf(["json", "pretty", "auto"] as const),
    fallback: () => "auto",
  }),
  logToFile: spec({
    name: "LOG_TO_FILE",
    group: LOGS,
    type: "boolean",
    defaultText: "false",
    notes: "Predecessor",
    schema: boolean(),
    fallback: () => "false",
  }),
  logFilePath: spec({
    name: "LOG_FILE_PATH",
    group: LOGS,
    type: "path",
    defaultText: "`$DATA_DIR/logs/mcp.log`",
    notes: "Predecessor",
    schema: z.string(),
    fallback: (raw) => join(raw.DATA_DIR!, "logs", "mcp.log"),
  }),
  mcpMode: spec({
    name: "MCP_MODE",
    group: LOGS,
    type: "any",
    defaultText: "—",
    notes:
      "Predecessor; obsolete (logs always go to stderr): accepted and ignored with one warning",
    schema: text(),
  }),
  denoDeploy: spec({
    name: "DENO_DEPLOY",
    group: LOGS,
    type: "boolean",
    defaultText: "set by Deno Deploy",
    notes: "Deploy mode: KV image store, managed KV, nothing written to disk",
    schema: z.string().transform((raw) => !FALSE_WORDS.includes(raw.toLowerCase())).optional(),
  }),
} as const;

type Settings = typeof SETTINGS;

/** The resolved, validated configuration. */
export type Config = Readonly<
  {
    [K in keyof Settings]: K extends "editAllowedRoots" ? readonly string[]
      : z.output<Settings[K]["schema"]>;
  } & {
    /** Warnings found while resolving (obsolete settings, …), to be logged once. */
    warnings: readonly string[];
    /**
     * True when `KV_PATH` or `KV_URL` was given rather than derived: the image catalog then shares
     * that KV instead of travelling with `OUTPUT_DIR`.
     */
    kvExplicit: boolean;
    /**
     * Images per hour for callers without credentials (auth off): `IMAGE_GENERATION_RATE_LIMIT`
     * when set, else 0 (no cap) on a loopback bind and the setting's default elsewhere.
     */
    anonymousImageGenerationRateLimit: number;
  }
>;

/** Every setting name, in documentation order. */
export const SETTING_NAMES: readonly string[] = Object.freeze(
  Object.values(SETTINGS).map((s) => s.name),
);

/** Names read from the environment beyond the settings (to derive defaults). */
export const EXTRA_ENV_NAMES: readonly string[] = Object.freeze([
  "HOME",
  "USERPROFILE",
  "XDG_DATA_HOME",
  "APPDATA",
]);

/** Raised when one or more settings are invalid; lists every bad setting at once. */
export class ConfigError extends Error {
  /** The bad settings: name, offending value (secrets masked) and what is accepted. */
  readonly problems: readonly { name: string; message: string }[];

  /** Creates the error from a list of problems. */
  constructor(problems: { name: string; message: string }[]) {
    super(
      `Invalid configuration: ${problems.map((p) => `${p.name}=${p.message}`).join("; ")}`,
    );
    this.name = "ConfigError";
    this.problems = Object.freeze(problems);
  }
}

const PATH_KEYS = new Set(["DATA_DIR", "OUTPUT_DIR", "KV_PATH", "MODELS_FILE", "LOG_FILE_PATH"]);

/** Merges the sources (flags > env > `.env` > defaults), validates and freezes the result. */
export function resolveConfig(sources: ConfigSources = {}): Config {
  const host: HostInfo = { os: sources.os ?? Deno.build.os, cwd: sources.cwd ?? Deno.cwd() };
  const layers = [sources.flags ?? {}, sources.env ?? {}, sources.dotenv ?? {}];
  const pick = (name: string) => {
    for (const layer of layers) {
      const value = clean(layer[name]);
      if (value !== undefined) return value;
    }
    return undefined;
  };
  const raw: Record<string, string | undefined> = {};
  for (const name of EXTRA_ENV_NAMES) raw[name] = pick(name);
  // Deploy mode changes other defaults, so it is known before anything else resolves.
  raw.DENO_DEPLOY = pick("DENO_DEPLOY");
  const specs = Object.entries(SETTINGS) as [string, SettingSpec<z.ZodType>][];
  for (const [, s] of specs) {
    let value = pick(s.name) ?? s.fallback?.(raw, host);
    if (value !== undefined && PATH_KEYS.has(s.name) && value !== ":memory:") {
      value = isAbsolute(value) ? value : resolve(host.cwd, value);
    }
    raw[s.name] = value;
  }
  const problems: { name: string; message: string }[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, s] of specs) {
    const result = s.schema.safeParse(raw[s.name]);
    if (result.success) {
      out[key] = result.data;
    } else {
      const message = result.error.issues.map((i) => i.message).join(", ");
      problems.push({
        name: s.name,
        message: s.secret ? message.replaceAll(raw[s.name] ?? "", "<redacted>") : message,
      });
    }
  }
  if (out.oauthIssuer !== undefined && out.publicBaseUrl === undefined) {
    // The resource metadata that names the issuer, and the tokens' audience, need the public URL.
    problems.push({
      name: "OAUTH_ISSUER",
      message: `${
        quote(out.oauthIssuer as string)
      } needs PUBLIC_BASE_URL: the resource its tokens are for (accepted: set PUBLIC_BASE_URL too)`,
    });
  }
  const basePath = out.publicBaseUrl === undefined
    ? ""
    : new URL(out.publicBaseUrl as string).pathname.replace(/\/+$/, "");
  if (out.oauthIssuer !== undefined && basePath !== "") {
    // RFC 9728 §3.1 puts the resource metadata at the host's root, before the resource's path.
    problems.push({
      name: "OAUTH_ISSUER",
      message:
        `${
          quote(out.oauthIssuer as string)
        } needs PUBLIC_BASE_URL at the root of a host, but it has a path (${basePath}): clients ` +
        "look for the resource metadata at /.well-known/oauth-protected-resource" +
        `${basePath}/mcp, outside that path (accepted: serve the service at the root of a host ` +
        "name of its own)",
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  out.editAllowedRoots = Object.freeze(
    (raw.EDIT_ALLOWED_ROOTS ?? "").split(host.os === "windows" ? ";" : ":")
      .map((p) => p.trim()).filter((p) => p !== "")
      .map((p) => isAbsolute(p) ? p : resolve(host.cwd, p)),
  );
  // A person trying the service on their own machine is not capped unless they ask to be; API
  // keys, MCP_AUTH_TOKEN and anything reachable from elsewhere keep the predecessor's default.
  const localTrial = isLoopbackHost(out.host as string) && out.denoDeploy !== true &&
    out.trustProxy !== true && pick(SETTINGS.imageGenerationRateLimit.name) === undefined;
  out.anonymousImageGenerationRateLimit = localTrial ? 0 : out.imageGenerationRateLimit;
  const warnings: string[] = [];
  if (out.mcpMode !== undefined) {
    warnings.push(
      "MCP_MODE is obsolete and ignored: logs always go to stderr, so it can be removed from your configuration",
    );
  }
  out.warnings = Object.freeze(warnings);
  out.kvExplicit = pick("KV_PATH") !== undefined || pick("KV_URL") !== undefined;
  return Object.freeze(out) as Config;
}

/** Parses `.env` text: `KEY=value`, optional `export`, quotes, `#` comments. */
export function parseDotenv(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)?\s*$/.exec(line);
    if (!match) continue;
    let value = (match[2] ?? "").trim();
    const quoteChar = value[0];
    if ((quoteChar === '"' || quoteChar === "'") && value.endsWith(quoteChar) && value.length > 1) {
      value = value.slice(1, -1);
      if (quoteChar === '"') value = value.replaceAll("\\n", "\n").replaceAll('\\"', '"');
    } else {
      value = value.replace(/\s+#.*$/, "");
    }
    result[match[1]] = value;
  }
  return result;
}

/** Converts a setting name to its flag (`OUTPUT_DIR` → `output-dir`). */
export function flagName(settingName: string): string {
  return settingName.toLowerCase().replaceAll("_", "-");
}

/** Reads every known setting from the process environment, one name at a time. */
export function readProcessEnv(): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const name of [...SETTING_NAMES, ...EXTRA_ENV_NAMES]) {
    try {
      env[name] = Deno.env.get(name);
    } catch (error) {
      // A permission set that leaves a name out simply hides it.
      if (!(error instanceof Deno.errors.NotCapable)) throw error;
    }
  }
  return env;
}

/** Reads `.env` from `cwd` when present. */
export async function readDotenvFile(cwd = Deno.cwd()): Promise<Record<string, string>> {
  try {
    return parseDotenv(await Deno.readTextFile(join(cwd, ".env")));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotCapable) {
      return {};
    }
    throw error;
  }
}

/** Resolves the configuration of this process: flags, environment and `.env`. */
export async function loadConfig(flags: Record<string, string | undefined> = {}): Promise<Config> {
  return resolveConfig({ flags, env: readProcessEnv(), dotenv: await readDotenvFile() });
}

/** A printable copy of the configuration with secrets masked. */
export function redactConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(SETTINGS) as [keyof Config, Setting][]) {
    const value = config[key];
    out[s.name] = s.secret && value !== undefined ? "<redacted>" : value;
  }
  return out;
}

/** Renders the settings as Markdown tables, one per group (used for README.md). */
export function renderSettingsMarkdown(): string {
  const groups = new Map<string, Setting[]>();
  for (const s of Object.values(SETTINGS) as Setting[]) {
    groups.set(s.group, [...(groups.get(s.group) ?? []), s]);
  }
  const parts: string[] = [];
  for (const [group, settings] of groups) {
    parts.push(`#### ${group}`, "");
    parts.push(
      ...markdownTable([
        ["name", "type / values", "default", "notes"],
        ...settings.map((s) => [`\`${s.name}\``, s.type, s.defaultText, s.notes]),
      ]),
    );
    parts.push("");
  }
  return parts.join("\n").trimEnd() + "\n";
}
