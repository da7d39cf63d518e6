/**
 * `generate` and `edit`: run a job through the core (same schema, limits and store as every other
 * door), show its progress on stderr when stderr is a terminal, and print where the images are —
 * one path per line on stdout, or one JSON document with `--json`. Ctrl+C cancels the job.
 *
 * @module
 */
import { basename, dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { GenerationJob, GenerationResult, ImageRecord, StartOptions } from "../core_types.ts";
import { sniffImage } from "../images/mod.ts";
import type { FieldName, Operation } from "../generation/vocabulary.ts";
import { intOption, isOptionName, type OptionValues, UsageError } from "./args.ts";
import type { Command, OptionDoc } from "./command.ts";
import type { CliSession } from "./context.ts";
import { printJson } from "./output.ts";
import { ProgressLine } from "./progress.ts";
import { requestFlagDocs, requestFromFlags } from "./request_flags.ts";

const EXT_OF_MIME: Record<string, string> = {
  "image/png": "png",
  "image/jpeg": "jpg",
  "image/webp": "webp",
  "image/gif": "gif",
};

const OUTPUT_OPTION: OptionDoc = {
  name: "output",
  synopsis: "-o, --output FILE",
  text: "Also write the image to FILE (FILE-1.png, FILE-2.png, … for several)",
};

/** The help lines of `operation`'s request flags (from the field table), then `--output`. */
function optionDocs(operation: Operation, positional: readonly FieldName[]): OptionDoc[] {
  const docs: OptionDoc[] = [];
  for (const doc of requestFlagDocs(operation, positional)) {
    if (isOptionName(doc.flag)) docs.push({ ...doc, name: doc.flag });
  }
  return [...docs, OUTPUT_OPTION];
}

const PROGRESS_NOTE =
  "While the job runs, a progress line (stage, elapsed time, partial images) is drawn on stderr " +
  "when stderr is a terminal. Ctrl+C cancels the job (exit code 130).";

/** `generate <prompt>`. */
export const generateCommand: Command = {
  path: ["generate"],
  args: "<prompt>",
  summary: "Generate images from a prompt; prints the saved paths, one per line",
  details: `${PROGRESS_NOTE}\n\nThe predecessor's short flags -m, -s, -q and its --style and ` +
    "--no-save keep working. Several words are joined into one prompt.",
  options: optionDocs("generate", ["prompt"]),
  positionals: { min: 1, max: Infinity },
  async run(session, args) {
    const input = {
      ...requestInput("generate", args.values),
      prompt: args.positionals.join(" "),
    };
    return await runJob(session, args.values, (images, options) => images.generate(input, options));
  },
};

/** `edit <image...> --prompt TEXT`. */
export const editCommand: Command = {
  path: ["edit"],
  args: "<image...>",
  summary: "Edit images (files, image ids, image:// URIs or URLs); prints the saved paths",
  details: "Local files are read by the CLI itself, so any file you can read may be edited.\n\n" +
    PROGRESS_NOTE,
  options: optionDocs("edit", []),
  positionals: { min: 1, max: 16 },
  async run(session, args) {
    const prompt = args.values.prompt;
    if (prompt === undefined || prompt.trim() === "") {
      throw new UsageError('Missing --prompt: say what to change, e.g. --prompt "make it blue"');
    }
    const images = await Promise.all(args.positionals.map((ref) => localFileAsDataUrl(ref)));
    const mask = args.values.mask === undefined
      ? undefined
      : await localFileAsDataUrl(args.values.mask);
    const input = {
      ...requestInput("edit", args.values),
      images,
      ...(mask === undefined ? {} : { mask }),
    };
    return await runJob(session, args.values, (service, options) => service.edit(input, options));
  },
};

/** The request fields of `operation` given as flags. */
function requestInput(operation: Operation, values: OptionValues): Record<string, unknown> {
  return requestFromFlags(
    operation,
    (flag) => isOptionName(flag) ? values[flag] : undefined,
    (flag) => isOptionName(flag) ? intOption(values, flag) : undefined,
  );
}

/** A path to an existing local file becomes a data URL; anything else is passed on as is. */
async function localFileAsDataUrl(ref: string): Promise<string> {
  if (/^(data:|https?:\/\/|image:\/\/)/i.test(ref)) return ref;
  let bytes: Uint8Array;
  try {
    const path = ref.startsWith("file://") ? fileURLToPath(ref) : ref;
    const info = await Deno.stat(path);
    if (!info.isFile) return ref;
    bytes = await Deno.readFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound || error instanceof TypeError) return ref;
    throw error;
  }
  const mime = sniffImage(bytes)?.mime ?? "application/octet-stream";
  return `data:${mime};base64,${bytes.toBase64()}`;
}

type Starter = (
  images: Awaited<ReturnType<CliSession["services"]>>["images"],
  options: StartOptions,
) => Promise<GenerationJob>;

/** One image as the CLI reports it. */
interface ImageOutput {
  id: string;
  path: string | null;
  saved: boolean;
  fileName: string | null;
  mime: string;
  width: number;
  height: number;
  bytes: number;
  sha256: string | null;
  revisedPrompt: string | null;
  costUsd: number | null;
}

async function runJob(session: CliSession, values: OptionValues, start: Starter): Promise<number> {
  const output = values.output === undefined ? undefined : resolve(values.output);
  const services = await session.services();
  const requested = intOption(values, "n") ?? 1;
  const partials = intOption(values, "partial-images") ?? 0;
  const progress = new ProgressLine(session.io, {
    enabled: session.io.stderrIsTerminal,
    partialImages: partials,
    label: requested === 1 ? "1 image" : `${requested} images`,
    now: session.now,
  });
  const controller = new AbortController();
  const onInterrupt = () => controller.abort();
  Deno.addSignalListener("SIGINT", onInterrupt);
  let result: GenerationResult;
  try {
    progress.start();
    const job = await start(services.images, {
      door: "cli",
      principal: session.principal,
      signal: controller.signal,
      onProgress: (event) => progress.update(event),
    });
    result = await job.done;
    progress.stop(
      `${countText(result.images.length)} with ${result.model} in ${
        (result.timings.totalMs / 1000).toFixed(1)
      } s${
        result.cost.usd === null
          ? ""
          : ` ($${result.cost.usd.toFixed(4)}${result.cost.estimated ? ", estimate" : ""})`
      }`,
    );
  } catch (error) {
    progress.stop();
    throw error;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
  const config = services.config;
  const images: ImageOutput[] = [];
  for (const [index, record] of result.images.entries()) {
    images.push(
      await placeImage(session, record, {
        index,
        count: result.images.length,
        output,
        storeDir: services.store.kind === "fs" ? config.outputDir : null,
      }),
    );
  }
  for (const warning of result.warnings) session.io.err(`warning: ${warning}\n`);
  if (session.json) {
    printJson(session.io, {
      jobId: result.jobId,
      model: result.model,
      images,
      warnings: result.warnings,
      usage: result.usage,
      cost: result.cost,
      timings: result.timings,
    });
  } else {
    for (const image of images) session.io.out(`${image.path ?? `image://${image.id}`}\n`);
    if (images.some((image) => image.path === null)) {
      session.io.err(
        "note: IMAGE_STORE=kv keeps images in KV; use -o FILE to write a file\n",
      );
    }
  }
  return 0;
}

function countText(count: number): string {
  return count === 1 ? "1 image" : `${count} images`;
}

/** Where the `index`th image goes: the store's file, `--output`, or the current directory. */
async function placeImage(
  session: CliSession,
  record: ImageRecord,
  where: { index: number; count: number; output: string | undefined; storeDir: string | null },
): Promise<ImageOutput> {
  const saved = record.fileName !== "";
  const ext = EXT_OF_MIME[record.mime] ?? "png";
  let path: string | null = null;
  if (where.output !== undefined) {
    path = numberedPath(where.output, where.index, where.count);
  } else if (!saved) {
    path = resolve(`${record.id}.${ext}`);
  } else if (where.storeDir !== null) {
    path = join(where.storeDir, record.fileName);
  }
  if (path !== null && (where.output !== undefined || !saved)) {
    const services = await session.services();
    const found = await services.images.read(record.id, session.caller);
    if (!found) {
      throw new Error(`Cannot write image ${record.id}: it is no longer available`);
    }
    await writeFileAtomic(path, found.bytes);
  }
  return {
    id: record.id,
    path,
    saved,
    fileName: saved ? record.fileName : null,
    mime: record.mime,
    width: record.width,
    height: record.height,
    bytes: record.bytes,
    sha256: record.sha256 === "" ? null : record.sha256,
    revisedPrompt: record.revisedPrompt,
    costUsd: record.costUsd,
  };
}

/** `out.png` for one image; `out-1.png`, `out-2.png`, … for several. */
function numberedPath(file: string, index: number, count: number): string {
  if (count <= 1) return file;
  const ext = extname(file);
  const stem = basename(file, ext);
  return join(dirname(file), `${stem}-${index + 1}${ext}`);
}

async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  await Deno.mkdir(dirname(path), { recursive: true });
  const temp = join(dirname(path), `.${basename(path)}.${crypto.randomUUID().slice(0, 8)}.part`);
  try {
    await Deno.writeFile(temp, bytes);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}
