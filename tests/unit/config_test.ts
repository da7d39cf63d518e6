import assert from "node:assert/strict";
import {
  type Config,
  ConfigError,
  defaultDataDir,
  flagName,
  parseDotenv,
  redactConfig,
  resolveConfig,
  SETTING_NAMES,
  SETTINGS,
} from "../../src/config.ts";

const HOME = { HOME: "/home/ada" };

function resolve(env: Record<string, string>, extra: Parameters<typeof resolveConfig>[0] = {}) {
  return resolveConfig({ env: { ...HOME, ...env }, os: "linux", cwd: "/srv/app", ...extra });
}

function problemsOf(env: Record<string, string>): Map<string, string> {
  try {
    resolve(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    return new Map(error.problems.map((p) => [p.name, p.message]));
  }
  assert.fail("expected the configuration to be rejected");
}

Deno.test("defaults match config.md when nothing is set", () => {
  const config = resolve({});
  const dataDir = "/home/ada/.local/share/openai-image-gen-mcp";
  assert.equal(config.dataDir, dataDir);
  assert.equal(config.outputDir, `${dataDir}/images`);
  assert.equal(config.kvPath, `${dataDir}/kv.sqlite3`);
  assert.equal(config.logFilePath, `${dataDir}/logs/mcp.log`);
  assert.deepEqual(config.editAllowedRoots, [`${dataDir}/images`]);
  assert.equal(config.openaiApiKey, undefined);
  assert.equal(config.openaiTimeoutMs, 600_000);
  assert.equal(config.openaiMaxRetries, 2);
  assert.equal(config.defaultModel, "gpt-image-2");
  assert.equal(config.defaultQuality, "medium");
  assert.equal(config.legacyModels, "translate");
  assert.equal(config.imageStore, "fs");
  assert.equal(config.imagesPublic, true);
  assert.equal(config.imageUrlTtlSeconds, 3600);
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.port, 3000);
  assert.equal(config.trustProxy, false);
  assert.equal(config.corsOrigins, undefined);
  assert.equal(config.mcpHttpSessions, "stateless");
  assert.equal(config.mcpSessionIdleSeconds, 1800);
  assert.equal(config.mcpSessionsPerKey, 16);
  assert.equal(config.maxBodyBytes, 1024 * 1024);
  assert.equal(config.maxUploadBytes, 60 * 1024 * 1024);
  assert.equal(config.mcpAuthToken, undefined);
  assert.deepEqual(config.requestRateLimit, { limit: 100, windowMs: 15 * 60_000 });
  assert.equal(config.imageGenerationRateLimit, 10);
  assert.equal(config.maxInflightPerKey, 4);
  assert.equal(config.upstreamImagesPerMinute, 0);
  assert.equal(config.upstreamQueueTimeoutMs, 30_000);
  assert.equal(config.budgetUsdPerKeyMonth, 0);
  assert.equal(config.oauthEnabled, true);
  assert.equal(config.oauthAccessTokenSeconds, 3600);
  assert.equal(config.oauthRefreshTokenDays, 30);
  assert.equal(config.oauthDcr, true);
  assert.equal(config.oauthDcrLimit, 10);
  assert.equal(config.oauthClientMetadataMaxBytes, 5120);
  assert.equal(config.oauthClientMetadataTimeoutMs, 5000);
  assert.equal(config.cleanupEnabled, false);
  assert.equal(config.retentionDays, 7);
  assert.equal(config.maxImageCount, undefined);
  assert.equal(config.maxImageBytes, undefined);
  assert.equal(config.cleanupIntervalHours, 24);
  assert.equal(config.mcpResultMaxBytes, 700_000);
  assert.equal(config.mcpPreviewMaxSide, 1568);
  assert.equal(config.mcpStructuredContent, "auto");
  assert.equal(config.mcpLongJobSeconds, 45);
  assert.equal(config.mcpPartialImages, 0);
  assert.equal(config.mcpConfirmAboveUsd, undefined, "no confirmation unless asked for");
  assert.equal(config.mcpAllowDelete, true);
  assert.equal(config.editAllowedUrlHosts, undefined);
  assert.equal(config.logLevel, "info");
  assert.equal(config.logFormat, "auto");
  assert.equal(config.logToFile, false);
  assert.deepEqual(config.warnings, []);
});

Deno.test("every setting accepts a valid value from the environment", () => {
  const env: Record<string, string> = {
    OPENAI_API_KEY: "sk-test-0123456789",
    OPENAI_BASE_URL: "http://127.0.0.1:9999/v1/",
    OPENAI_ORG_ID: "org-1",
    OPENAI_PROJECT_ID: "proj-1",
    AZURE_OPENAI_ENDPOINT: "https://example.openai.azure.com",
    AZURE_OPENAI_API_KEY: "azure-key-123",
    AZURE_OPENAI_DEPLOYMENT: "images",
    OPENAI_API_VERSION: "2025-04-01-preview",
    OPENAI_TIMEOUT_MS: "120000",
    OPENAI_MAX_RETRIES: "0",
    DEFAULT_MODEL: "gpt-image-2.5-sunburst",
    DEFAULT_QUALITY: "HIGH",
    LEGACY_MODELS: "reject",
    MODELS_FILE: "models.json",
    DATA_DIR: "/data",
    OUTPUT_DIR: "out",
    KV_PATH: ":memory:",
    KV_URL: "http://127.0.0.1:4512",
    DENO_KV_ACCESS_TOKEN: "kv-token",
    INSTANCE_HEARTBEAT_SECONDS: "5",
    IMAGE_STORE: "kv",
    IMAGES_PUBLIC: "false",
    IMAGE_URL_TTL_S: "60",
    HOST: "0.0.0.0",
    PORT: "3010",
    ALLOW_UNAUTHENTICATED: "yes",
    PUBLIC_BASE_URL: "https://img.example.com/",
    OAUTH_ISSUER: "https://id.example.com/",
    OAUTH_AUDIENCE: "https://img.example.com/mcp",
    TRUST_PROXY: "1",
    CORS_ORIGINS: "https://a.example, https://b.example",
    MCP_ALLOWED_ORIGINS: "https://claude.ai",
    MCP_ALLOWED_HOSTS: "img.example.com",
    MCP_HTTP_SESSIONS: "stateful",
    MCP_SESSION_IDLE_SECONDS: "90.5",
    MCP_SESSIONS_PER_KEY: "3",
    MAX_BODY_BYTES: "2048",
    MAX_UPLOAD_BYTES: "4096",
    METRICS_PUBLIC: "yes",
    MCP_AUTH_TOKEN: "secret-token",
    REQUEST_RATE_LIMIT: "60/1m",
    AUTH_FAILURE_LIMIT: "5/30s",
    IMAGE_GENERATION_RATE_LIMIT: "25",
    MAX_INFLIGHT_PER_KEY: "0",
    UPSTREAM_IMAGES_PER_MINUTE: "5",
    UPSTREAM_QUEUE_TIMEOUT_MS: "1000",
    BUDGET_USD_PER_KEY_MONTH: "12.5",
    OAUTH_ENABLED: "no",
    OAUTH_ACCESS_TOKEN_SECONDS: "900",
    OAUTH_REFRESH_TOKEN_DAYS: "7",
    OAUTH_DCR: "off",
    OAUTH_DCR_LIMIT: "3",
    OAUTH_CLIENT_METADATA_MAX_BYTES: "4096",
    OAUTH_CLIENT_METADATA_TIMEOUT_MS: "2500",
    IMAGE_CLEANUP_ENABLED: "true",
    IMAGE_RETENTION_DAYS: "0.5",
    IMAGE_MAX_COUNT: "100",
    IMAGE_MAX_BYTES: "1000000",
    IMAGE_CLEANUP_INTERVAL_HOURS: "1.5",
    MCP_RESULT_MAX_BYTES: "500000",
    MCP_PREVIEW_MAX_SIDE: "1024",
    MCP_STRUCTURED_CONTENT: "never",
    MCP_LONG_JOB_SECONDS: "30",
    MCP_PARTIAL_IMAGES: "2",
    MCP_CONFIRM_ABOVE_USD: "0.25",
    MCP_ALLOW_DELETE: "off",
    EDIT_ALLOWED_ROOTS: "/pics:rel",
    EDIT_ALLOWED_URL_HOSTS: "images.example.com,cdn.example.com",
    LOG_LEVEL: "warning",
    LOG_FORMAT: "json",
    LOG_TO_FILE: "true",
    LOG_FILE_PATH: "logs/x.log",
    MCP_MODE: "true",
    DENO_DEPLOY: "1",
  };
  assert.deepEqual(
    new Set(Object.keys(env)),
    new Set(SETTING_NAMES),
    "this test must set every setting",
  );
  const c = resolve(env);
  const expected: Partial<Record<keyof Config, unknown>> = {
    openaiApiKey: "sk-test-0123456789",
    openaiBaseUrl: "http://127.0.0.1:9999/v1",
    openaiOrgId: "org-1",
    openaiProjectId: "proj-1",
    azureEndpoint: "https://example.openai.azure.com",
    azureApiKey: "azure-key-123",
    azureDeployment: "images",
    openaiApiVersion: "2025-04-01-preview",
    openaiTimeoutMs: 120_000,
    openaiMaxRetries: 0,
    defaultModel: "gpt-image-2.5-sunburst",
    defaultQuality: "high",
    legacyModels: "reject",
    modelsFile: "/srv/app/models.json",
    dataDir: "/data",
    outputDir: "/srv/app/out",
    kvPath: ":memory:",
    kvUrl: "http://127.0.0.1:4512",
    kvAccessToken: "kv-token",
    instanceHeartbeatSeconds: 5,
    imageStore: "kv",
    imagesPublic: false,
    imageUrlTtlSeconds: 60,
    host: "0.0.0.0",
    port: 3010,
    allowUnauthenticated: true,
    publicBaseUrl: "https://img.example.com",
    oauthIssuer: "https://id.example.com/",
    oauthAudience: "https://img.example.com/mcp",
    trustProxy: true,
    corsOrigins: ["https://a.example", "https://b.example"],
    mcpAllowedOrigins: ["https://claude.ai"],
    mcpAllowedHosts: ["img.example.com"],
    mcpHttpSessions: "stateful",
    mcpSessionIdleSeconds: 90.5,
    mcpSessionsPerKey: 3,
    maxBodyBytes: 2048,
    maxUploadBytes: 4096,
    metricsPublic: true,
    mcpAuthToken: "secret-token",
    requestRateLimit: { limit: 60, windowMs: 60_000 },
    authFailureLimit: { limit: 5, windowMs: 30_000 },
    imageGenerationRateLimit: 25,
    maxInflightPerKey: 0,
    upstreamImagesPerMinute: 5,
    upstreamQueueTimeoutMs: 1000,
    budgetUsdPerKeyMonth: 12.5,
    oauthEnabled: false,
    oauthAccessTokenSeconds: 900,
    oauthRefreshTokenDays: 7,
    oauthDcr: false,
    oauthDcrLimit: 3,
    oauthClientMetadataMaxBytes: 4096,
    oauthClientMetadataTimeoutMs: 2500,
    cleanupEnabled: true,
    retentionDays: 0.5,
    maxImageCount: 100,
    maxImageBytes: 1_000_000,
    cleanupIntervalHours: 1.5,
    mcpResultMaxBytes: 500_000,
    mcpPreviewMaxSide: 1024,
    mcpStructuredContent: "never",
    mcpLongJobSeconds: 30,
    mcpPartialImages: 2,
    mcpConfirmAboveUsd: 0.25,
    mcpAllowDelete: false,
    editAllowedRoots: ["/pics", "/srv/app/rel"],
    editAllowedUrlHosts: ["images.example.com", "cdn.example.com"],
    logLevel: "warning",
    logFormat: "json",
    logToFile: true,
    logFilePath: "/srv/app/logs/x.log",
    mcpMode: "true",
    denoDeploy: true,
  };
  for (const key of Object.keys(SETTINGS) as (keyof Config)[]) {
    assert.ok(key in expected, `test lacks an expectation for ${key}`);
    assert.deepEqual(c[key], expected[key], `${key}`);
  }
});

Deno.test("flags override the environment, which overrides .env, which overrides defaults", () => {
  const config = resolveConfig({
    flags: { PORT: "1111" },
    env: { ...HOME, PORT: "2222", LOG_LEVEL: "debug" },
    dotenv: { PORT: "3333", LOG_LEVEL: "error", DEFAULT_QUALITY: "low" },
    os: "linux",
    cwd: "/",
  });
  assert.equal(config.port, 1111);
  assert.equal(config.logLevel, "debug");
  assert.equal(config.defaultQuality, "low");
  assert.equal(config.maxInflightPerKey, 4);
});

Deno.test("empty values count as unset so a blank line in claude_desktop_config does not break", () => {
  const config = resolve({ PORT: "", OPENAI_API_KEY: "  " });
  assert.equal(config.port, 3000);
  assert.equal(config.openaiApiKey, undefined);
});

Deno.test("the predecessor's numeric LOG_LEVEL values keep working", () => {
  assert.equal(resolve({ LOG_LEVEL: "0" }).logLevel, "error");
  assert.equal(resolve({ LOG_LEVEL: "1" }).logLevel, "warning");
  assert.equal(resolve({ LOG_LEVEL: "2" }).logLevel, "info");
  assert.equal(resolve({ LOG_LEVEL: "3" }).logLevel, "debug");
  assert.equal(resolve({ LOG_LEVEL: "WARN" }).logLevel, "warning");
});

Deno.test("MCP_MODE is accepted and ignored with exactly one warning", () => {
  const config = resolve({ MCP_MODE: "true" });
  assert.equal(config.warnings.length, 1);
  assert.match(config.warnings[0], /MCP_MODE is obsolete/);
});

Deno.test("the predecessor's OUTPUT_DIR and PORT are honoured", () => {
  const config = resolve({ OUTPUT_DIR: "./generated-images", PORT: "3010" });
  assert.equal(config.outputDir, "/srv/app/generated-images");
  assert.equal(config.port, 3010);
});

Deno.test("invalid settings are reported all at once with value and accepted values", () => {
  const problems = problemsOf({
    PORT: "abc",
    LOG_LEVEL: "loud",
    IMAGE_STORE: "s3",
    IMAGES_PUBLIC: "maybe",
    REQUEST_RATE_LIMIT: "lots",
    OPENAI_BASE_URL: "ftp://x",
    MCP_PARTIAL_IMAGES: "9",
    BUDGET_USD_PER_KEY_MONTH: "cheap",
    MCP_CONFIRM_ABOVE_USD: "-1",
  });
  assert.deepEqual([...problems.keys()].sort(), [
    "BUDGET_USD_PER_KEY_MONTH",
    "IMAGES_PUBLIC",
    "IMAGE_STORE",
    "LOG_LEVEL",
    "MCP_CONFIRM_ABOVE_USD",
    "MCP_PARTIAL_IMAGES",
    "OPENAI_BASE_URL",
    "PORT",
    "REQUEST_RATE_LIMIT",
  ]);
  assert.match(problems.get("PORT")!, /"abc" is not an integer \(accepted: 0 to 65535\)/);
  assert.match(problems.get("LOG_LEVEL")!, /"loud".*accepted: debug, info, warning, error/);
  assert.match(problems.get("IMAGE_STORE")!, /"s3".*accepted: fs, kv/);
  assert.match(problems.get("MCP_PARTIAL_IMAGES")!, /"9" is out of range \(accepted: 0 to 3\)/);
  assert.match(problems.get("MCP_CONFIRM_ABOVE_USD")!, /"-1" is out of range \(accepted: 0 to/);
  try {
    resolve({ PORT: "abc", LOG_LEVEL: "loud" });
  } catch (error) {
    assert.match(String(error), /Invalid configuration: .*PORT=.*LOG_LEVEL=/);
  }
});

Deno.test("a missing OPENAI_API_KEY is not a start-up failure", () => {
  assert.doesNotThrow(() => resolve({}));
});

Deno.test("a loopback bind with IMAGE_GENERATION_RATE_LIMIT unset has no hourly cap for callers without a key", () => {
  for (const host of ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"]) {
    const config = resolve({ HOST: host });
    assert.equal(config.anonymousImageGenerationRateLimit, 0, host);
    assert.equal(config.imageGenerationRateLimit, 10, `${host}: keys keep the default`);
  }
});

Deno.test("an explicit IMAGE_GENERATION_RATE_LIMIT, a public bind, a proxy or Deploy keep the cap for everyone", () => {
  const cases: [string, Record<string, string>, number][] = [
    ["set in the environment", { IMAGE_GENERATION_RATE_LIMIT: "10" }, 10],
    ["set to another value", { IMAGE_GENERATION_RATE_LIMIT: "3" }, 3],
    ["explicitly unlimited", { IMAGE_GENERATION_RATE_LIMIT: "0" }, 0],
    ["public bind", { HOST: "0.0.0.0", ALLOW_UNAUTHENTICATED: "true" }, 10],
    ["behind a trusted proxy", { TRUST_PROXY: "true" }, 10],
    ["Deno Deploy", { DENO_DEPLOY: "1" }, 10],
    ["Deno Deploy with a loopback HOST", { DENO_DEPLOY: "1", HOST: "127.0.0.1" }, 10],
  ];
  for (const [name, env, expected] of cases) {
    assert.equal(resolve(env).anonymousImageGenerationRateLimit, expected, name);
  }
  assert.equal(
    resolve({}, { dotenv: { IMAGE_GENERATION_RATE_LIMIT: "5" } }).anonymousImageGenerationRateLimit,
    5,
    "a value from .env counts as set",
  );
  assert.equal(
    resolve({}, { flags: { IMAGE_GENERATION_RATE_LIMIT: "7" } }).anonymousImageGenerationRateLimit,
    7,
    "a flag counts as set",
  );
});

Deno.test("the resolved configuration is frozen", () => {
  const config = resolve({ CORS_ORIGINS: "https://a.example" });
  assert.ok(Object.isFrozen(config));
  assert.ok(Object.isFrozen(config.corsOrigins));
  assert.throws(() => {
    (config as { port: number }).port = 1;
  });
});

Deno.test("the data directory follows each OS's convention", () => {
  assert.equal(
    defaultDataDir({ HOME: "/Users/ada" }, "darwin"),
    "/Users/ada/Library/Application Support/openai-image-gen-mcp",
  );
  assert.equal(
    defaultDataDir({ HOME: "/home/ada", XDG_DATA_HOME: "/xdg" }, "linux"),
    "/xdg/openai-image-gen-mcp",
  );
  assert.match(
    defaultDataDir({ APPDATA: "C:/Users/ada/AppData/Roaming" }, "windows"),
    /AppData[\\/]Roaming[\\/]openai-image-gen-mcp$/,
  );
});

Deno.test("Deno Deploy switches to the KV image store and managed KV", () => {
  const config = resolve({ DENO_DEPLOY: "true" });
  assert.equal(config.imageStore, "kv");
  assert.equal(config.kvPath, undefined);
  assert.equal(config.denoDeploy, true);
  assert.equal(config.host, "0.0.0.0", "Deploy routes public traffic, so auth is required");
});

Deno.test("DENO_DEPLOY=false keeps the local defaults", () => {
  const config = resolve({ DENO_DEPLOY: "false" });
  assert.equal(config.imageStore, "fs");
  assert.match(config.kvPath!, /kv\.sqlite3$/);
  assert.equal(config.host, "127.0.0.1");
  assert.equal(config.denoDeploy, false);
});

Deno.test(".env files parse quotes, comments and export prefixes", () => {
  const parsed = parseDotenv(
    [
      "# comment",
      "export OPENAI_API_KEY=sk-abc",
      'PROMPT="a \\"quoted\\" value"',
      "PORT=3001 # trailing",
      "EMPTY=",
      "SINGLE='x y'",
      "not a line",
    ].join("\n"),
  );
  assert.deepEqual(parsed, {
    OPENAI_API_KEY: "sk-abc",
    PROMPT: 'a "quoted" value',
    PORT: "3001",
    EMPTY: "",
    SINGLE: "x y",
  });
});

Deno.test("secrets are masked when the configuration is printed", () => {
  const printed = JSON.stringify(
    redactConfig(resolve({ OPENAI_API_KEY: "sk-live-secret", MCP_AUTH_TOKEN: "tok-secret" })),
  );
  assert.ok(!printed.includes("sk-live-secret"));
  assert.ok(!printed.includes("tok-secret"));
  assert.match(printed, /"OPENAI_API_KEY":"<redacted>"/);
});

Deno.test("flag names are the kebab-cased setting names", () => {
  assert.equal(flagName("OUTPUT_DIR"), "output-dir");
});

const configMd = new URL("../../../shared/notes/config.md", import.meta.url);
let configMdText: string | undefined;
try {
  configMdText = Deno.readTextFileSync(configMd);
} catch {
  configMdText = undefined;
}

Deno.test({
  name: "every setting named in shared/notes/config.md exists in the schema",
  ignore: configMdText === undefined,
  fn() {
    const names = new Set<string>();
    for (const line of configMdText!.split("\n")) {
      if (!line.startsWith("| `")) continue;
      for (const match of line.split("|")[1].matchAll(/`([A-Z][A-Z0-9_]+)`/g)) names.add(match[1]);
    }
    const ours = new Set(SETTING_NAMES);
    const external = new Set(["OTEL_DENO", "OTEL_EXPORTER_OTLP_ENDPOINT"]);
    const missing = [...names].filter((n) => !ours.has(n) && !external.has(n));
    assert.deepEqual(missing, []);
    assert.ok(names.size >= 50, `parsed only ${names.size} names from config.md`);
  },
});

Deno.test("a PUBLIC_BASE_URL with a path serves links, but OAUTH_ISSUER needs the root of a host", () => {
  const base = "https://host.example/images-svc";
  assert.equal(resolve({ PUBLIC_BASE_URL: base }).publicBaseUrl, base, "links may have a path");
  assert.equal(resolve({ PUBLIC_BASE_URL: `${base}/` }).publicBaseUrl, base);
  const problems = problemsOf({
    PUBLIC_BASE_URL: `${base}/`,
    OAUTH_ISSUER: "https://id.example.com",
  });
  assert.match(
    problems.get("OAUTH_ISSUER") ?? "",
    /^"https:\/\/id\.example\.com" needs PUBLIC_BASE_URL at the root of a host, but it has a path \(\/images-svc\): clients look for the resource metadata at \/\.well-known\/oauth-protected-resource\/images-svc\/mcp, outside that path/,
  );
});
