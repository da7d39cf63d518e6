/**
 * The model registry: the built-in table of `model_data.ts` merged with an optional `MODELS_FILE`,
 * plus the rules derived from it (lifecycle on a given day, accepted sizes and the nearest valid
 * size). Everything model-specific in the service is looked up here.
 *
 * @module
 */
import { z } from "zod";
import { ConfigError } from "../config.ts";
import {
  MODEL_ALIASES,
  MODEL_DATA,
  type ModelData,
  type PriceData,
  type SizeRuleData,
} from "./model_data.ts";

export type {
  EditData,
  ModelData,
  ModelStatus,
  PriceData,
  SizeRuleData,
  TokenPriceData,
} from "./model_data.ts";

/** A model record with its id. */
export interface ModelInfo extends ModelData {
  /** The model id sent to OpenAI. */
  readonly id: string;
}

/** Where a model stands on a given day. */
export interface Lifecycle {
  /** `retired` once the retirement or announced shutdown day has come. */
  readonly state: "current" | "shutdown_announced" | "retired";
  /** Retirement day (retired) or announced shutdown day. */
  readonly date?: string;
  /** The suggested replacement, if any. */
  readonly replacement?: string;
}

/** Outcome of checking a size against a model. */
export type SizeCheck =
  | {
    /** The size is accepted. */
    readonly valid: true;
    /** True above the model's experimental threshold. */
    readonly experimental: boolean;
  }
  | {
    /** The size is refused. */
    readonly valid: false;
    /** Why, in words, naming what is accepted. */
    readonly reason: string;
    /** The closest accepted sizes, best first (may be empty). */
    readonly nearest: readonly string[];
  };

const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;
const ISO_DAY_OR_MONTH = /^\d{4}-\d{2}(-\d{2})?$/;

const stringList = z.array(z.string().min(1)).readonly();
const price = z.number().nonnegative().nullable();

const TokenPriceSchema = z.object({
  textInput: price,
  imageInput: price,
  imageOutput: price,
  textOutput: price.optional(),
}).strict();

const PriceSchema = z.object({
  checkedOn: z.string().regex(ISO_DAY_OR_MONTH, "expected an ISO date such as 2026-11-24")
    .nullable(),
  source: z.string().optional(),
  estimated: z.boolean().optional(),
  tokens: TokenPriceSchema.nullable(),
  perImage: z.record(z.string(), z.record(z.string(), z.number().nonnegative())).nullable(),
}).strict();

const SizeRuleSchema = z.object({
  multipleOf: z.number().int().positive(),
  maxAspectRatio: z.number().min(1),
  maxLongSide: z.number().int().positive(),
  maxShortSide: z.number().int().positive(),
  experimentalAbovePixels: z.number().int().positive(),
}).strict();

/** zod schema of one complete model record (built-in or from `MODELS_FILE`). */
export const ModelDataSchema = z.object({
  family: z.string().min(1),
  status: z.enum(["current", "shutdown_announced", "retired"]),
  retiredOn: z.string().regex(ISO_DAY, "expected a day such as 2026-05-12").optional(),
  shutdownOn: z.string().regex(ISO_DAY, "expected a day such as 2026-12-01").optional(),
  replacement: z.string().min(1).optional(),
  sizes: stringList,
  sizeRule: SizeRuleSchema.nullable(),
  defaultSize: z.string().min(1),
  qualities: z.array(z.string().min(1)).min(1).readonly(),
  defaultQuality: z.string().min(1),
  outputFormats: z.array(z.enum(["png", "jpeg", "webp"])).readonly(),
  outputCompression: z.boolean(),
  backgrounds: z.array(z.enum(["transparent", "opaque", "auto"])).readonly(),
  styles: stringList,
  responseFormats: z.array(z.enum(["url", "b64_json"])).readonly(),
  moderation: z.boolean(),
  safetyIdentifier: z.boolean(),
  n: z.object({ min: z.number().int().min(1), max: z.number().int().min(1) }).strict(),
  promptMaxChars: z.number().int().positive(),
  maxPartialImages: z.number().int().min(0).max(3),
  revisedPrompt: z.boolean(),
  edits: z.object({
    supported: z.boolean(),
    maxImages: z.number().int().min(0),
    mask: z.boolean(),
    inputFidelity: stringList,
    markup: z.boolean(),
  }).strict(),
  prices: PriceSchema,
}).strict();

// The zod schema and the data table must describe the same shape.
const _shapeCheck: ModelData = {} as z.output<typeof ModelDataSchema>;

const PriceOverrideSchema = PriceSchema.partial().extend({
  tokens: TokenPriceSchema.partial().nullable().optional(),
}).strict();

const ModelsFileSchema = z.object({
  $schema: z.string().optional(),
  models: z.record(
    z.string().min(1),
    z.object({ extends: z.string().min(1).optional() }).catchall(z.unknown()),
  ).optional(),
  aliases: z.record(z.string().min(1), z.string().min(1)).optional(),
  prices: z.record(z.string().min(1), PriceOverrideSchema).optional(),
}).strict();

/** The contents of a `MODELS_FILE`, as accepted. */
export type ModelsFile = z.input<typeof ModelsFileSchema>;

/** All known models and aliases. Build it with {@link createModelRegistry} or {@link loadModelRegistry}. */
export class ModelRegistry {
  #models: Map<string, ModelInfo>;
  #aliases: Map<string, string>;

  /** Creates a registry from complete, validated records (use the factories instead). */
  constructor(
    models: Readonly<Record<string, ModelData>>,
    aliases: Readonly<Record<string, string>>,
  ) {
    this.#models = new Map(
      Object.entries(models).map(([id, data]) => [id, Object.freeze({ ...data, id })]),
    );
    this.#aliases = new Map(Object.entries(aliases));
  }

  /** The model a name or alias refers to, or undefined. */
  get(name: string): ModelInfo | undefined {
    return this.#models.get(name) ?? this.#models.get(this.#aliases.get(name) ?? "");
  }

  /** Every model id, in table order. */
  ids(): string[] {
    return [...this.#models.keys()];
  }

  /** Every model record, in table order. */
  list(): ModelInfo[] {
    return [...this.#models.values()];
  }

  /** Aliases as a plain object (alias → model id). */
  aliases(): Record<string, string> {
    return Object.fromEntries(this.#aliases);
  }

  /** Ids of the models that are not retired on `now`. */
  availableIds(now: Date): string[] {
    return this.list().filter((m) => lifecycleOf(m, now).state !== "retired").map((m) => m.id);
  }

  /** The best replacement for `name`: its own suggestion when that is usable, else `fallback`. */
  replacementFor(name: string, options: { now: Date; fallback?: string }): string | undefined {
    const suggested = this.get(name)?.replacement;
    const candidate = suggested === undefined ? undefined : this.get(suggested);
    if (candidate && lifecycleOf(candidate, options.now).state !== "retired") return candidate.id;
    return options.fallback;
  }

  /** Known names closest to `name` (ids and aliases), for "did you mean" messages. */
  suggest(name: string, max = 2): string[] {
    const names = [...this.#models.keys(), ...this.#aliases.keys()];
    const lower = name.toLowerCase();
    return names
      .map((candidate) => ({ candidate, distance: editDistance(lower, candidate.toLowerCase()) }))
      .filter(({ candidate, distance }) =>
        distance <= Math.max(2, Math.floor(candidate.length / 3))
      )
      .sort((a, b) => a.distance - b.distance)
      .slice(0, max)
      .map(({ candidate }) => candidate);
  }
}

/** Levenshtein distance between `a` and `b` (for "did you mean" suggestions). */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

/** Where `model` stands on `now`: an announced shutdown day that has passed counts as retired. */
export function lifecycleOf(model: ModelData, now: Date): Lifecycle {
  const replacement = model.replacement === undefined ? {} : { replacement: model.replacement };
  if (model.status === "retired") {
    return {
      state: "retired",
      ...(model.retiredOn ? { date: model.retiredOn } : {}),
      ...replacement,
    };
  }
  if (model.status === "shutdown_announced") {
    const date = model.shutdownOn;
    if (date !== undefined && now.getTime() >= Date.parse(`${date}T00:00:00Z`)) {
      return { state: "retired", date, ...replacement };
    }
    return { state: "shutdown_announced", ...(date ? { date } : {}), ...replacement };
  }
  return { state: "current" };
}

/** Parses `"WxH"` into numbers, or returns null. */
export function parseSize(size: string): { width: number; height: number } | null {
  const match = /^(\d{1,9})x(\d{1,9})$/.exec(size);
  if (!match) return null;
  return { width: Number(match[1]), height: Number(match[2]) };
}

/** Checks `size` (`"WxH"` or `"auto"`) against what `model` accepts. */
export function checkSize(model: ModelData, size: string): SizeCheck {
  if (model.sizes.includes(size)) return { valid: true, experimental: isExperimental(model, size) };
  const parsed = parseSize(size);
  const rule = model.sizeRule;
  if (rule === null || parsed === null) {
    return {
      valid: false,
      reason: `accepted: ${model.sizes.join(", ")}${
        rule ? ", or WxH within the model's limits" : ""
      }`,
      nearest: parsed ? nearestListedSizes(model, parsed.width, parsed.height) : [],
    };
  }
  const problems = ruleProblems(rule, parsed.width, parsed.height);
  if (problems.length === 0) return { valid: true, experimental: isExperimental(model, size) };
  return {
    valid: false,
    reason: problems.join("; "),
    nearest: nearestRuleSizes(rule, parsed.width, parsed.height),
  };
}

function isExperimental(model: ModelData, size: string): boolean {
  const parsed = parseSize(size);
  const rule = model.sizeRule;
  return rule !== null && parsed !== null &&
    parsed.width * parsed.height > rule.experimentalAbovePixels;
}

function ruleProblems(rule: SizeRuleData, width: number, height: number): string[] {
  const problems: string[] = [];
  const long = Math.max(width, height);
  const short = Math.min(width, height);
  if (width === 0 || height === 0) problems.push("both sides must be greater than 0");
  if (width % rule.multipleOf !== 0 || height % rule.multipleOf !== 0) {
    problems.push(`both sides must be divisible by ${rule.multipleOf}`);
  }
  if (short > 0 && long / short > rule.maxAspectRatio) {
    problems.push(
      `the aspect ratio must be between 1:${rule.maxAspectRatio} and ${rule.maxAspectRatio}:1`,
    );
  }
  if (long > rule.maxLongSide || short > rule.maxShortSide) {
    problems.push(`the size must be at most ${rule.maxLongSide}x${rule.maxShortSide}`);
  }
  return problems;
}

function nearestRuleSizes(rule: SizeRuleData, width: number, height: number): string[] {
  const step = rule.multipleOf;
  let w = Math.max(width, step);
  let h = Math.max(height, step);
  const aspect = Math.min(Math.max(w / h, 1 / rule.maxAspectRatio), rule.maxAspectRatio);
  if (aspect !== w / h) {
    const area = w * h;
    w = Math.sqrt(area * aspect);
    h = w / aspect;
  }
  const scale = Math.min(
    1,
    rule.maxLongSide / Math.max(w, h),
    rule.maxShortSide / Math.min(w, h),
  );
  w *= scale;
  h *= scale;
  const widths = [...new Set([Math.floor(w / step) * step, Math.ceil(w / step) * step])];
  const heights = [...new Set([Math.floor(h / step) * step, Math.ceil(h / step) * step])];
  const candidates: { width: number; height: number }[] = [];
  for (const cw of widths) {
    for (const ch of heights) {
      if (cw >= step && ch >= step && ruleProblems(rule, cw, ch).length === 0) {
        candidates.push({ width: cw, height: ch });
      }
    }
  }
  return rankSizes(candidates, w, h).slice(0, 2);
}

function nearestListedSizes(model: ModelData, width: number, height: number): string[] {
  const listed = model.sizes.map(parseSize).filter((s) => s !== null);
  return rankSizes(listed, width, height).slice(0, 1);
}

/** Orders sizes by closeness of aspect ratio, then of dimensions, then by area. */
function rankSizes(
  sizes: readonly { width: number; height: number }[],
  width: number,
  height: number,
): string[] {
  const target = Math.log(Math.max(width, 1) / Math.max(height, 1));
  const score = (s: { width: number; height: number }) => ({
    aspect: Math.round(Math.abs(Math.log(s.width / s.height) - target) * 1e6),
    distance: Math.hypot(s.width - width, s.height - height),
    area: s.width * s.height,
  });
  return [...sizes]
    .map((s) => ({ s, ...score(s) }))
    .sort((a, b) => a.aspect - b.aspect || a.distance - b.distance || a.area - b.area)
    .map(({ s }) => `${s.width}x${s.height}`);
}

/** The size a retired model's request gets on `target`: kept when valid, else the nearest. */
export function translateSize(target: ModelData, size: string): string {
  if (size === "auto") return target.sizes.includes("auto") ? "auto" : target.defaultSize;
  const parsed = parseSize(size);
  if (parsed === null) return size;
  // The old 256/512 sizes were a cost choice GPT image models do not offer; their smallest
  // standard size is 1024x1024.
  const smallest = Math.min(
    ...target.sizes.map(parseSize).filter((s) => s !== null).map((s) => s.width * s.height),
  );
  if (checkSize(target, size).valid && parsed.width * parsed.height >= smallest) return size;
  return nearestListedSizes(target, parsed.width, parsed.height)[0] ?? target.defaultSize;
}

/** Options of {@link createModelRegistry}. */
export interface CreateRegistryOptions {
  /** Additions and overrides in the `MODELS_FILE` format. */
  overrides?: unknown;
  /** Name of the source of `overrides`, used in error messages. */
  source?: string;
}

/** Builds a registry from the built-in table plus optional overrides; throws ConfigError if invalid. */
export function createModelRegistry(options: CreateRegistryOptions = {}): ModelRegistry {
  const source = options.source ?? "MODELS_FILE";
  const models: Record<string, ModelData> = { ...MODEL_DATA };
  const aliases: Record<string, string> = { ...MODEL_ALIASES };
  if (options.overrides !== undefined) {
    applyOverrides(models, aliases, options.overrides, source);
  }
  return new ModelRegistry(models, aliases);
}

function fileError(source: string, message: string): ConfigError {
  return new ConfigError([{ name: "MODELS_FILE", message: `${source}: ${message}` }]);
}

function issuePath(prefix: string, path: readonly PropertyKey[]): string {
  let out = prefix;
  for (const key of path) {
    out += typeof key === "number"
      ? `[${key}]`
      : /^[A-Za-z_$][\w$]*$/.test(String(key))
      ? `${out ? "." : ""}${String(key)}`
      : `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

function describeIssues(prefix: string, error: z.ZodError): string {
  return error.issues.slice(0, 3)
    .map((issue) => `${issuePath(prefix, issue.path) || "(root)"}: ${issue.message}`)
    .join("; ");
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Merges `patch` into `base`, one level deep for nested records (edits, n, prices, …). */
function mergeRecord(
  base: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    out[key] = isRecord(value) && isRecord(base[key])
      ? mergeRecord(base[key] as Record<string, unknown>, value)
      : value;
  }
  return out;
}

function applyOverrides(
  models: Record<string, ModelData>,
  aliases: Record<string, string>,
  input: unknown,
  source: string,
): void {
  const parsed = ModelsFileSchema.safeParse(input);
  if (!parsed.success) throw fileError(source, describeIssues("", parsed.error));
  const file = parsed.data;
  for (const [id, entry] of Object.entries(file.models ?? {})) {
    const where = `models[${JSON.stringify(id)}]`;
    const { extends: parent, ...fields } = entry;
    let base: Record<string, unknown> = {};
    if (parent !== undefined) {
      const parentData = models[parent] ?? models[aliases[parent] ?? ""];
      if (!parentData) {
        throw fileError(source, `${where}.extends: unknown model ${JSON.stringify(parent)}`);
      }
      base = { ...parentData };
    } else if (models[id]) {
      base = { ...models[id] };
    }
    const result = ModelDataSchema.safeParse(mergeRecord(base, fields));
    if (!result.success) throw fileError(source, describeIssues(where, result.error));
    const problem = selfCheck(result.data);
    if (problem) throw fileError(source, `${where}: ${problem}`);
    models[id] = result.data;
  }
  for (const [id, patch] of Object.entries(file.prices ?? {})) {
    const model = models[id] ?? models[aliases[id] ?? ""];
    if (!model) throw fileError(source, `prices[${JSON.stringify(id)}]: unknown model`);
    const merged = mergeRecord(
      model.prices as unknown as Record<string, unknown>,
      patch as Record<string, unknown>,
    );
    const result = PriceSchema.safeParse(fillTokens(merged));
    if (!result.success) {
      throw fileError(source, describeIssues(`prices[${JSON.stringify(id)}]`, result.error));
    }
    models[models[id] ? id : aliases[id]] = { ...model, prices: result.data as PriceData };
  }
  for (const [alias, target] of Object.entries(file.aliases ?? {})) {
    const where = `aliases[${JSON.stringify(alias)}]`;
    if (models[alias]) throw fileError(source, `${where}: a model with this id exists`);
    if (!models[target]) {
      throw fileError(source, `${where}: unknown model ${JSON.stringify(target)}`);
    }
    aliases[alias] = target;
  }
}

/** Token prices given partly for a model that had none: the missing figures are unknown. */
function fillTokens(prices: Record<string, unknown>): Record<string, unknown> {
  if (!isRecord(prices.tokens)) return prices;
  return {
    ...prices,
    tokens: { textInput: null, imageInput: null, imageOutput: null, ...prices.tokens },
  };
}

function selfCheck(model: ModelData): string | undefined {
  if (!model.qualities.includes(model.defaultQuality)) {
    return `defaultQuality ${JSON.stringify(model.defaultQuality)} is not one of qualities (${
      model.qualities.join(", ")
    })`;
  }
  if (!checkSize(model, model.defaultSize).valid) {
    return `defaultSize ${JSON.stringify(model.defaultSize)} is not an accepted size`;
  }
  if (model.n.min > model.n.max) return "n.min is greater than n.max";
  if (model.status === "retired" && model.retiredOn === undefined) {
    return "a retired model needs retiredOn";
  }
  if (model.status === "shutdown_announced" && model.shutdownOn === undefined) {
    return "a model with a shutdown announced needs shutdownOn";
  }
  return undefined;
}

/** Options of {@link loadModelRegistry}. */
export interface LoadRegistryOptions {
  /** Path of a JSON file with additions and overrides (`MODELS_FILE`). */
  modelsFile?: string;
  /** Reads a text file (defaults to `Deno.readTextFile`). */
  readTextFile?: (path: string) => Promise<string>;
}

/** Loads the registry: built-in models plus `MODELS_FILE`; throws ConfigError naming the file. */
export async function loadModelRegistry(options: LoadRegistryOptions = {}): Promise<ModelRegistry> {
  if (options.modelsFile === undefined) return createModelRegistry();
  const read = options.readTextFile ?? ((path: string) => Deno.readTextFile(path));
  const path = options.modelsFile;
  let text: string;
  try {
    text = await read(path);
  } catch (error) {
    const reason = error instanceof Deno.errors.NotFound
      ? "file not found"
      : error instanceof Error
      ? error.message
      : String(error);
    throw fileError(path, `cannot read the file: ${reason}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw fileError(path, `not valid JSON: ${(error as Error).message}`);
  }
  return createModelRegistry({ overrides: json, source: path });
}

/** The settings {@link validateModelDefaults} looks at. */
export interface ModelDefaults {
  /** `DEFAULT_MODEL`. */
  readonly defaultModel: string;
  /** `DEFAULT_QUALITY`. */
  readonly defaultQuality: string;
  /** `LEGACY_MODELS`. */
  readonly legacyModels: "translate" | "reject" | "passthrough";
}

/**
 * Checks that `DEFAULT_MODEL` exists (and is not retired, unless LEGACY_MODELS=passthrough) and
 * that `DEFAULT_QUALITY` is one of its qualities. Throws ConfigError; returns warnings to log.
 */
export function validateModelDefaults(
  registry: ModelRegistry,
  defaults: ModelDefaults,
  options: { now: Date },
): string[] {
  const model = registry.get(defaults.defaultModel);
  if (!model) {
    const near = registry.suggest(defaults.defaultModel);
    throw new ConfigError([{
      name: "DEFAULT_MODEL",
      message: `${JSON.stringify(defaults.defaultModel)} is not a known model (accepted: ${
        registry.availableIds(options.now).join(", ")
      }${near.length ? `; nearest: ${near.join(" or ")}` : ""}; add models with MODELS_FILE)`,
    }]);
  }
  const life = lifecycleOf(model, options.now);
  const warnings: string[] = [];
  if (life.state === "retired") {
    const replacement = registry.replacementFor(model.id, options);
    if (defaults.legacyModels !== "passthrough") {
      throw new ConfigError([{
        name: "DEFAULT_MODEL",
        message: `${JSON.stringify(model.id)} was retired on ${
          life.date ?? "an earlier day"
        } (accepted: ${registry.availableIds(options.now).join(", ")}${
          replacement ? `; replacement: ${replacement}` : ""
        }; or set LEGACY_MODELS=passthrough for a server that still serves it)`,
      }]);
    }
    warnings.push(
      `DEFAULT_MODEL "${model.id}" was retired on ${life.date}: requests are sent unchanged because LEGACY_MODELS=passthrough`,
    );
  } else if (life.state === "shutdown_announced") {
    warnings.push(
      `DEFAULT_MODEL "${model.id}" will be shut down on ${life.date}${
        life.replacement ? `: switch to "${life.replacement}"` : ""
      }`,
    );
  }
  if (!model.qualities.includes(defaults.defaultQuality)) {
    throw new ConfigError([{
      name: "DEFAULT_QUALITY",
      message: `${
        JSON.stringify(defaults.defaultQuality)
      } is not a quality of ${model.id} (accepted: ${model.qualities.join(", ")})`,
    }]);
  }
  return warnings;
}
