/**
 * Spans around the expensive steps of a generation (upstream call, storage, catalog, rate limits)
 * through the standard `@opentelemetry/api`. Deno registers its own tracer provider behind that
 * API when started with `OTEL_DENO=true` and exports over OTLP (`OTEL_EXPORTER_OTLP_ENDPOINT`,
 * `OTEL_EXPORTER_OTLP_PROTOCOL`); otherwise the API's no-op tracer makes every span free.
 *
 * Attributes describe the work (model, size, quality, counts, outcome, error kind), never its
 * content: no prompts, keys, tokens or principal ids.
 *
 * @module
 */
import { type Span, SpanStatusCode, trace } from "@opentelemetry/api";
import { VERSION } from "./version.ts";

/** Name of the tracer (the instrumentation scope of every span made here). */
export const TRACER_NAME = "openai-image-generation";

/** Values a span attribute may take; `undefined` members are left out. */
export type SpanAttributes = Record<string, string | number | boolean | undefined>;

/** What the traced function may add to its span while it runs. */
export interface SpanHandle {
  /** Adds or replaces attributes (e.g. counts known only at the end). */
  setAttributes(attributes: SpanAttributes): void;
}

/** Options of {@link withSpan}. */
export interface WithSpanOptions {
  /** Attributes known when the span starts. */
  attributes?: SpanAttributes;
}

function defined(attributes: SpanAttributes): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined) out[key] = value;
  }
  return out;
}

/** The error kind of a thrown value: an AppError's `kind`, else its name (bounded, no message). */
function errorType(error: unknown): string {
  const kind = (error as { kind?: unknown } | null)?.kind;
  if (typeof kind === "string") return kind;
  if (error instanceof DOMException && error.name === "AbortError") return "cancelled";
  return error instanceof Error ? error.name : "unknown";
}

/**
 * Runs `fn` inside an active span called `name` and ends the span when `fn` settles. The span
 * gets `outcome` = `ok`, or `error` (`cancelled` for a cancellation) with `error.type` set to the
 * error kind; the error message is not recorded, as it may quote the request.
 */
export async function withSpan<T>(
  name: string,
  fn: (span: SpanHandle) => Promise<T>,
  options: WithSpanOptions = {},
): Promise<T> {
  const tracer = trace.getTracer(TRACER_NAME, VERSION);
  return await tracer.startActiveSpan(
    name,
    { attributes: defined(options.attributes ?? {}) },
    async (span: Span) => {
      const handle: SpanHandle = {
        setAttributes: (attributes) => void span.setAttributes(defined(attributes)),
      };
      try {
        const result = await fn(handle);
        span.setAttribute("outcome", "ok");
        return result;
      } catch (error) {
        const type = errorType(error);
        span.setAttributes({
          outcome: type === "cancelled" ? "cancelled" : "error",
          "error.type": type,
        });
        span.setStatus({ code: SpanStatusCode.ERROR, message: type });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}
