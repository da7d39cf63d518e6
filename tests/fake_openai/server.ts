/**
 * The fake OpenAI Images API: routing, auth, validation, image answers (JSON and SSE), fault
 * injection and introspection. Public entry point: `tests/fake_openai.ts`.
 *
 * @module
 */

import {
  ABSURD_USAGE,
  answerShape,
  type Fault,
  faultAnswer,
  faultsInText,
  isTimingFault,
  latencyOf,
  parseFault,
  slowOf,
  UNDECODABLE_BYTES,
} from "./faults.ts";
import { startTcpFront, type TcpFront } from "./front.ts";
import { probeImage } from "./image_probe.ts";
import {
  type ApiError,
  FAKE_IMAGE_MODELS,
  type FakeModel,
  type ImagePlan,
  invalidRequest,
  isApiError,
  OTHER_MODELS,
  planImageRequest,
  resolveModel,
  type UploadedImage,
  usageFor,
} from "./models.ts";
import { renderImage } from "./render.ts";
import { systemClock } from "../../src/clock.ts";

/** Options of `startFakeOpenAI`. */
export interface FakeOpenAIOptions {
  /** Port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Interface to listen on; defaults to `127.0.0.1`. */
  hostname?: string;
  /** Fixed delay before every API answer, in milliseconds; defaults to 0. */
  latencyMs?: number;
  /** Delay announced by 429 answers (`retry-after-ms`; `retry-after` rounds up); default 1000. */
  retryAfterMs?: number;
  /** Pause between server-sent events of a stream, in milliseconds; defaults to 0. */
  streamIntervalMs?: number;
  /** Clock in epoch milliseconds, for `created` / `created_at`; defaults to the system clock. */
  now?: () => number;
}

/** Counters of the fake since start or the last `reset()`. */
export interface FakeOpenAIStats {
  /** API requests answered (successes and error answers; not hung, reset or abandoned ones). */
  readonly requestsServed: number;
  /** Final images delivered (partial images not counted). */
  readonly imagesProduced: number;
  /** Requests whose client went away before the answer was complete. */
  readonly connectionsClosedByClient: number;
  /** API requests received whose answer is not complete yet. */
  readonly inFlight: number;
}

/** A file of a multipart request, as recorded. */
export interface RecordedFile {
  /** File name sent by the client. */
  readonly filename: string;
  /** Size in bytes. */
  readonly size: number;
  /** Content type sent by the client. */
  readonly type: string;
}

/** How a recorded request ended. */
export type RequestOutcome = "pending" | "answered" | "client_closed" | "reset" | "server_closed";

/** One API request as the fake saw it. */
export interface RecordedRequest {
  /** Sequence number from 1. */
  readonly seq: number;
  /** The `x-request-id` the fake answered with. */
  readonly requestId: string;
  /** HTTP method. */
  readonly method: string;
  /** URL path (no query). */
  readonly path: string;
  /** Query parameters. */
  readonly query: Readonly<Record<string, string>>;
  /** Lower-cased headers; `authorization` and `api-key` reduced to `"[present]"`. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * JSON body members, or multipart fields (files as {@link RecordedFile}; `image[]` always an
   * array); null when there was no parseable body.
   */
  fields: Record<string, unknown> | null;
  /** Epoch milliseconds when the request arrived. */
  readonly receivedAt: number;
  /** Status answered, or null while pending / when no answer was sent. */
  status: number | null;
  /** How the request ended. */
  outcome: RequestOutcome;
  /** The fault applied, as text (e.g. `rate_limit`, `latency=1500`), or null. */
  fault: string | null;
}

/** A fault to apply to the next API requests: a fault text or a fault text with a count. */
export type FaultSetting = string | { readonly fault: string; readonly count?: number };

/** A running fake OpenAI Images API. */
export interface FakeOpenAI extends AsyncDisposable {
  /** OpenAI base URL, e.g. `http://127.0.0.1:PORT/v1`. */
  readonly baseUrl: string;
  /** Azure OpenAI endpoint, e.g. `http://127.0.0.1:PORT`. */
  readonly azureEndpoint: string;
  /** The port listened on. */
  readonly port: number;
  /** Counters (a snapshot). */
  readonly stats: FakeOpenAIStats;
  /** The most recent API request, or null. */
  readonly lastRequest: RecordedRequest | null;
  /** Every API request since start or the last `reset()`, oldest first (a copy of the list). */
  readonly requests: readonly RecordedRequest[];
  /** Clears history, counters (except in-flight), the fault and `rate_limit_once` memory. */
  reset(): void;
  /** Applies a fault to the next `count` API requests (all when no count); null clears it. */
  setFault(fault: FaultSetting | null): void;
  /** Ends hung requests, drops connections and stops listening. */
  close(): Promise<void>;
}

/** The API key the fake rejects with 401 `invalid_api_key` (every other non-empty key works). */
export const FAKE_INVALID_API_KEY = "sk-fake-invalid";

/** Header naming a fault for one request, like a prompt marker (useful for `GET /v1/models`). */
export const FAULT_HEADER = "x-fake-openai-fault";

interface Exchange {
  readonly record: RecordedRequest;
  /** Aborted when the client goes away or the fake closes. */
  readonly signal: AbortSignal;
  /** Aborts {@link Exchange.signal} for a client that went away. */
  readonly clientGone: AbortController;
  /** Remote port of the relay connection the request came through. */
  readonly backendPort: number;
  done: boolean;
}

interface ActiveFault {
  readonly fault: Fault;
  readonly text: string;
  remaining: number;
}

type ParsedBody =
  | { ok: true; fields: Record<string, unknown>; uploads: UploadedImage[] }
  | { ok: false; error: ApiError };

const encoder = new TextEncoder();

/** Starts the fake; see `tests/fake_openai.ts`. */
export async function startFakeOpenAIServer(options: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const fake = new FakeOpenAIServer(options);
  await fake.ready;
  return fake;
}

class FakeOpenAIServer implements FakeOpenAI {
  readonly ready: Promise<void>;
  #server: Deno.HttpServer<Deno.NetAddr>;
  #front: TcpFront;
  #hostname: string;
  #options: Required<Omit<FakeOpenAIOptions, "port" | "hostname">>;
  #closing = new AbortController();
  #closed: Promise<void> | null = null;
  #history: RecordedRequest[] = [];
  #seq = 0;
  #counters = { requestsServed: 0, imagesProduced: 0, connectionsClosedByClient: 0, inFlight: 0 };
  #fault: ActiveFault | null = null;
  #seenOnce = new Set<string>();
  #byBackendPort = new Map<number, Set<Exchange>>();

  constructor(options: FakeOpenAIOptions) {
    this.#options = {
      latencyMs: options.latencyMs ?? 0,
      retryAfterMs: options.retryAfterMs ?? 1000,
      streamIntervalMs: options.streamIntervalMs ?? 0,
      now: options.now ?? systemClock,
    };
    const hostname = options.hostname ?? "127.0.0.1";
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {}, onError: () => this.#onError() },
      (request, info) => this.#handle(request, info),
    );
    try {
      this.#front = startTcpFront(this.#server.addr.port, {
        hostname,
        port: options.port ?? 0,
        onClientClosed: (port) => {
          for (const exchange of this.#byBackendPort.get(port) ?? []) exchange.clientGone.abort();
        },
      });
    } catch (error) {
      this.ready = this.#server.shutdown().then(() => Promise.reject(error));
      this.#front = null as unknown as TcpFront;
      this.#hostname = hostname;
      return;
    }
    this.#hostname = hostname === "0.0.0.0" || hostname === "::" ? "127.0.0.1" : hostname;
    this.ready = Promise.resolve();
  }

  get port(): number {
    return this.#front.addr.port;
  }

  get azureEndpoint(): string {
    const host = this.#hostname.includes(":") ? `[${this.#hostname}]` : this.#hostname;
    return `http://${host}:${this.port}`;
  }

  get baseUrl(): string {
    return `${this.azureEndpoint}/v1`;
  }

  get stats(): FakeOpenAIStats {
    return Object.freeze({ ...this.#counters });
  }

  get lastRequest(): RecordedRequest | null {
    return this.#history.at(-1) ?? null;
  }

  get requests(): readonly RecordedRequest[] {
    return [...this.#history];
  }

  reset(): void {
    this.#history = [];
    this.#fault = null;
    this.#seenOnce.clear();
    const inFlight = this.#counters.inFlight;
    this.#counters = {
      requestsServed: 0,
      imagesProduced: 0,
      connectionsClosedByClient: 0,
      inFlight,
    };
  }

  setFault(setting: FaultSetting | null): void {
    if (setting === null) {
      this.#fault = null;
      return;
    }
    const text = typeof setting === "string" ? setting : setting.fault;
    const count = typeof setting === "string" ? undefined : setting.count;
    if (count !== undefined && (!Number.isInteger(count) || count < 1)) {
      throw new RangeError(`Cannot set fault: count must be a positive integer, got ${count}`);
    }
    this.#fault = { fault: parseFault(text), text, remaining: count ?? Infinity };
  }

  close(): Promise<void> {
    if (!this.#closed) {
      this.#closing.abort();
      this.#closed = (async () => {
        await this.#front.close();
        await this.#server.shutdown();
      })();
    }
    return this.#closed;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #onError(): Response {
    return apiError(invalidRequest("The fake failed internally.", { status: 500 }), "req_fake", {});
  }

  // ---- request life cycle -------------------------------------------------------------------

  async #handle(request: Request, info: Deno.ServeHandlerInfo<Deno.NetAddr>): Promise<Response> {
    const url = new URL(request.url);
    if (url.pathname.startsWith("/_control/")) return await this.#control(request, url);
    const record = this.#record(request, url);
    const clientGone = new AbortController();
    const exchange: Exchange = {
      record,
      signal: AbortSignal.any([clientGone.signal, this.#closing.signal]),
      clientGone,
      backendPort: info.remoteAddr.port,
      done: false,
    };
    this.#counters.inFlight++;
    const sameConnection = this.#byBackendPort.get(exchange.backendPort) ?? new Set();
    this.#byBackendPort.set(exchange.backendPort, sameConnection.add(exchange));
    // The client going away is seen by the TCP relay (while the handler still works) and by
    // `completed` rejecting (while the body is being sent). `request.signal` is not used: in
    // Deno 2.x it also aborts after successful answers and then prints a legacy warning.
    exchange.signal.addEventListener("abort", () => this.#finish(exchange, "client_closed"), {
      once: true,
    });
    info.completed.catch(() => clientGone.abort());
    try {
      const response = await this.#route(request, url, exchange);
      if (!(response instanceof StreamingResponse)) {
        this.#finish(exchange, "answered", response.status);
      }
      return response;
    } catch (error) {
      if (exchange.signal.aborted) return new Response(null, { status: 499 });
      this.#finish(exchange, "answered", 500);
      const message = error instanceof Error ? error.message : String(error);
      return apiError(
        invalidRequest(`The fake failed: ${message}`, { status: 500 }),
        record.requestId,
        {},
      );
    }
  }

  #record(request: Request, url: URL): RecordedRequest {
    const headers: Record<string, string> = {};
    for (const [name, value] of request.headers) {
      headers[name] = name === "authorization" || name === "api-key" ? "[present]" : value;
    }
    const seq = ++this.#seq;
    const record: RecordedRequest = {
      seq,
      requestId: `req_fake${seq.toString(16).padStart(8, "0")}`,
      method: request.method,
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      fields: null,
      receivedAt: Date.now(),
      status: null,
      outcome: "pending",
      fault: null,
    };
    this.#history.push(record);
    return record;
  }

  #finish(exchange: Exchange, outcome: RequestOutcome, status?: number): void {
    if (exchange.done) return;
    exchange.done = true;
    this.#counters.inFlight--;
    const sameConnection = this.#byBackendPort.get(exchange.backendPort);
    sameConnection?.delete(exchange);
    if (sameConnection?.size === 0) this.#byBackendPort.delete(exchange.backendPort);
    if (outcome === "client_closed" && this.#closing.signal.aborted) outcome = "server_closed";
    exchange.record.outcome = outcome;
    if (status !== undefined) exchange.record.status = status;
    if (outcome === "answered") this.#counters.requestsServed++;
    if (outcome === "client_closed") this.#counters.connectionsClosedByClient++;
  }

  async #route(request: Request, url: URL, exchange: Exchange): Promise<Response> {
    const { record } = exchange;
    const path = url.pathname.replace(/\/+$/, "");
    const azure = /^\/openai\/deployments\/([^/]+)\/images\/(generations|edits)$/.exec(path);
    const openai = /^\/v1\/images\/(generations|edits)$/.exec(path);
    const modelPath = /^\/v1\/models(?:\/([^/]+))?$/.exec(path);
    const verb = azure?.[2] ?? openai?.[1] ?? null;
    const isImages = request.method === "POST" && verb !== null;
    const isModels = request.method === "GET" && modelPath !== null;

    const body: ParsedBody | null = isImages
      ? await this.#readBody(request, verb === "edits")
      : null;
    if (body?.ok) record.fields = recordedFields(body.fields, body.uploads);
    const prompt = body?.ok && typeof body.fields.prompt === "string" ? body.fields.prompt : null;
    const faults = this.#takeFaults(prompt, request.headers, isImages || isModels);
    const stream = body?.ok === true &&
      (body.fields.stream === true || body.fields.stream === "true");
    // `slow` spreads its time over a stream's events; a JSON answer waits it all up front.
    const slowMs = faults.reduce((sum, f) => sum + slowOf(f), 0);
    const delay = this.#options.latencyMs + faults.reduce((sum, f) => sum + latencyOf(f), 0) +
      (stream ? 0 : slowMs);
    if (delay > 0) await sleep(delay, exchange.signal);
    if (exchange.signal.aborted) return new Response(null, { status: 499 });

    const denied = azure ? checkAzureAuth(request, url, record) : checkOpenAIAuth(request, record);
    if (denied) return denied;
    if (!isImages && !isModels) {
      return apiError(
        invalidRequest(`Invalid URL (${request.method} ${url.pathname})`, { status: 404 }),
        record.requestId,
        {},
      );
    }
    if (body && !body.ok) return apiError(body.error, record.requestId, {});

    const modelId = azure ? decodeURIComponent(azure[1]) : body?.ok ? body.fields.model : null;
    const fault = faults.find((f) => !isTimingFault(f)) ?? null;
    if (fault) {
      record.fault = fault.value === undefined ? fault.name : `${fault.name}=${fault.value}`;
      const special = await this.#applyFault(fault, exchange, {
        model: typeof modelId === "string" ? modelId : null,
        prompt,
        stream,
        kind: verb === "edits" ? "edit" : "generation",
      });
      if (special) return special;
    }
    if (isModels) return this.#models(modelPath![1], record);

    const model = resolveModel(modelId);
    if (isApiError(model)) {
      if (azure && model.status === 404) return azureDeploymentNotFound(record.requestId);
      return apiError(model, record.requestId, {});
    }
    const plan = planImageRequest(verb === "edits" ? "edit" : "generation", model, {
      fields: body?.ok ? body.fields : {},
      images: body?.ok ? body.uploads : [],
    });
    if (isApiError(plan)) return apiError(plan, record.requestId, {});
    if (plan.stream) return this.#streamImages(plan, exchange, slowMs);
    return await this.#jsonImages(plan, exchange);
  }

  #takeFaults(prompt: string | null, headers: Headers, applicable: boolean): Fault[] {
    if (!applicable) return [];
    const faults = prompt === null ? [] : faultsInText(prompt);
    const header = headers.get(FAULT_HEADER);
    if (header) {
      try {
        faults.push(parseFault(header));
      } catch {
        // An unknown fault in the header is ignored, like an unknown prompt marker.
      }
    }
    const active = this.#fault;
    if (active && active.remaining > 0) {
      faults.push(active.fault);
      active.remaining--;
      if (active.remaining <= 0) this.#fault = null;
    }
    return faults;
  }

  /** Answers a fault; null means "carry on normally" (e.g. `rate_limit_once` seen before). */
  async #applyFault(
    fault: Fault,
    exchange: Exchange,
    context: {
      model: string | null;
      prompt: string | null;
      stream: boolean;
      kind: "generation" | "edit";
    },
  ): Promise<Response | null> {
    const { record } = exchange;
    if (fault.name === "rate_limit_once") {
      const key = context.prompt ?? record.path;
      if (this.#seenOnce.has(key)) {
        record.fault = null;
        return null;
      }
      this.#seenOnce.add(key);
    }
    if (fault.name === "hang") {
      await untilAborted(exchange.signal);
      return new Response(null, { status: 499 });
    }
    if (fault.name === "reset" || (fault.name === "stream_cut" && !context.stream)) {
      this.#finish(exchange, "reset");
      this.#front.reset(exchange.backendPort);
      return new Response(null, { status: 499 });
    }
    if (fault.name === "malformed_json") {
      if (context.stream) return this.#brokenStream(exchange, context.kind);
      return headersFor(
        new Response(
          `{"created":${this.#nowSeconds()},"data":[{"b64_json":"iVBORw0KGgoAAAANSUhEUgAA`,
          {
            status: 200,
            headers: { "content-type": "application/json" },
          },
        ),
        record.requestId,
      );
    }
    if ((fault.name === "stream_error" || fault.name === "stream_cut") && context.stream) {
      return null;
    }
    const answer = faultAnswer(fault, {
      model: context.model,
      retryAfterMs: this.#options.retryAfterMs,
      requestId: record.requestId,
    });
    return answer ? apiError(answer.error, record.requestId, answer.headers) : null;
  }

  async #readBody(request: Request, multipart: boolean): Promise<ParsedBody> {
    const contentType = request.headers.get("content-type") ?? "";
    if (multipart) {
      if (!contentType.includes("multipart/form-data")) {
        return {
          ok: false,
          error: invalidRequest(
            `Invalid Content-Type header (${contentType || "none"}), expected multipart/form-data.`,
          ),
        };
      }
      let form: FormData;
      try {
        form = await request.formData();
      } catch {
        return {
          ok: false,
          error: invalidRequest("We could not parse the multipart body of your request."),
        };
      }
      const fields: Record<string, unknown> = {};
      const uploads: UploadedImage[] = [];
      for (const [name, value] of form) {
        if (typeof value === "string") {
          fields[name] = value;
          continue;
        }
        const bytes = new Uint8Array(await value.arrayBuffer());
        uploads.push({
          field: name,
          filename: value.name,
          size: value.size,
          type: value.type,
          probe: probeImage(bytes),
        });
        fields[name] = true;
      }
      return { ok: true, fields, uploads };
    }
    let text: string;
    try {
      text = await request.text();
    } catch {
      return { ok: false, error: invalidRequest("Could not read the request body.") };
    }
    try {
      const parsed = JSON.parse(text);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
        throw new SyntaxError();
      }
      // `null` members mean "not sent", as the real API treats them.
      const fields = Object.fromEntries(Object.entries(parsed).filter(([, v]) => v !== null));
      return { ok: true, fields, uploads: [] };
    } catch {
      return {
        ok: false,
        error: invalidRequest(
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)",
        ),
      };
    }
  }

  // ---- answers ------------------------------------------------------------------------------

  #models(id: string | undefined, record: RecordedRequest): Response {
    const entries = [
      ...[...FAKE_IMAGE_MODELS.values()].map((m: FakeModel) => ({ id: m.id, created: m.created })),
      ...OTHER_MODELS.map((id) => ({ id, created: 1_754_000_000 })),
    ].map((m) => ({ id: m.id, object: "model", created: m.created, owned_by: "system" }));
    if (id === undefined) return json({ object: "list", data: entries }, 200, record.requestId);
    const found = entries.find((m) => m.id === decodeURIComponent(id));
    if (found) return json(found, 200, record.requestId);
    return apiError(
      invalidRequest(`The model '${id}' does not exist`, {
        param: "model",
        code: "model_not_found",
        status: 404,
      }),
      record.requestId,
      {},
    );
  }

  #nowSeconds(): number {
    return Math.floor(this.#options.now() / 1000);
  }

  #render(plan: ImagePlan, index: number, detail: number): Promise<Uint8Array> {
    const inputs = plan.images.map((i) => `${i.probe?.width}x${i.probe?.height}`).join(",");
    return renderImage(`${plan.kind}|${plan.prompt}|${inputs}|${index}`, {
      width: plan.width,
      height: plan.height,
      format: plan.format,
      compression: plan.compression,
      transparent: plan.background === "transparent",
      detail,
    });
  }

  /** The final image `index` of `plan`, as the answer fault of the request shapes it. */
  async #finalImage(plan: ImagePlan, index: number, fault: string | null): Promise<Uint8Array> {
    const shape = answerShape(fault);
    if (shape.undecodable) return UNDECODABLE_BYTES;
    if (shape.hugeBytes > 0 && index === 0) return new Uint8Array(shape.hugeBytes);
    return await this.#render(plan, index, 1);
  }

  async #jsonImages(plan: ImagePlan, exchange: Exchange): Promise<Response> {
    const started = performance.now();
    const fault = exchange.record.fault;
    const shape = answerShape(fault);
    const images = await Promise.all(
      Array.from(
        { length: plan.n + shape.extraImages },
        (_, index) => this.#finalImage(plan, index, fault),
      ),
    );
    this.#counters.imagesProduced += images.length;
    const body = {
      created: this.#nowSeconds(),
      background: plan.background,
      data: images.map((bytes) => ({ b64_json: bytes.toBase64() })),
      output_format: plan.format,
      quality: plan.quality,
      size: `${plan.width}x${plan.height}`,
      usage: shape.absurdUsage ? ABSURD_USAGE : usageFor(plan),
    };
    const response = json(body, 200, exchange.record.requestId);
    response.headers.set("openai-processing-ms", String(Math.round(performance.now() - started)));
    return response;
  }

  /** The stream of `plan`; with `slowMs` above 0 its events are spread evenly over that time. */
  #streamImages(plan: ImagePlan, exchange: Exchange, slowMs = 0): Response {
    const prefix = plan.kind === "generation" ? "image_generation" : "image_edit";
    const fault = exchange.record.fault;
    const common = () => ({
      size: `${plan.width}x${plan.height}`,
      quality: plan.quality,
      background: plan.background,
      output_format: plan.format,
      created_at: this.#nowSeconds(),
    });
    type Step = () => Promise<string | "cut">;
    const steps: Step[] = [];
    const shape = answerShape(fault);
    for (let index = 0; index < plan.n + shape.extraImages; index++) {
      for (let p = 0; p < plan.partialImages; p++) {
        steps.push(async () => {
          const bytes = await this.#render(plan, index, (p + 1) / (plan.partialImages + 1));
          const type = `${prefix}.partial_image`;
          return sse(type, {
            type,
            b64_json: bytes.toBase64(),
            partial_image_index: p,
            ...common(),
          });
        });
      }
      steps.push(async () => {
        const bytes = await this.#finalImage(plan, index, fault);
        this.#counters.imagesProduced++;
        const type = `${prefix}.completed`;
        return sse(type, {
          type,
          b64_json: bytes.toBase64(),
          ...common(),
          usage: shape.absurdUsage ? ABSURD_USAGE : usageFor(plan, 1),
        });
      });
    }
    if (fault === "stream_error" || fault === "stream_cut") {
      const keep = Math.min(1, steps.length - 1);
      steps.length = keep;
      if (fault === "stream_error") {
        steps.push(() => {
          const error = faultAnswer({ name: "stream_error" }, {
            model: plan.model,
            retryAfterMs: this.#options.retryAfterMs,
            requestId: exchange.record.requestId,
          })!.error;
          return Promise.resolve(
            sse("error", {
              type: "error",
              error: {
                message: error.message,
                type: error.type,
                param: error.param,
                code: "server_error",
              },
            }),
          );
        });
      } else steps.push(() => Promise.resolve("cut" as const));
    }
    return this.#sseResponse(steps, exchange, slowMs > 0 ? slowMs / steps.length : undefined);
  }

  #brokenStream(exchange: Exchange, kind: "generation" | "edit"): Response {
    const type = kind === "generation" ? "image_generation.completed" : "image_edit.completed";
    return this.#sseResponse(
      [() => Promise.resolve(`event: ${type}\ndata: {"type":"${type}","b64_json":"iVBOR\n\n`)],
      exchange,
    );
  }

  /**
   * Sends `steps` as server-sent events: with `pauseMs`, after a pause before each one (the first
   * included); otherwise with the configured `streamIntervalMs` between them.
   */
  #sseResponse(
    steps: Array<() => Promise<string | "cut">>,
    exchange: Exchange,
    pauseMs?: number,
  ): Response {
    let next = 0;
    const interval = pauseMs ?? this.#options.streamIntervalMs;
    const body = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        const pause = pauseMs !== undefined ? next < steps.length : next > 0;
        if (pause && interval > 0) await sleep(interval, exchange.signal);
        if (exchange.signal.aborted || exchange.done) {
          controller.close();
          return;
        }
        if (next >= steps.length) {
          this.#finish(exchange, "answered", 200);
          controller.close();
          return;
        }
        const chunk = await steps[next++]();
        if (chunk === "cut") {
          // Give the events already queued time to leave, then drop the connection mid-stream.
          await sleep(50, exchange.signal);
          this.#finish(exchange, "reset", 200);
          this.#front.reset(exchange.backendPort);
          controller.close();
          return;
        }
        if (!exchange.done) controller.enqueue(encoder.encode(chunk));
      },
      cancel: () => this.#finish(exchange, "client_closed"),
    });
    const response = new StreamingResponse(body, {
      status: 200,
      headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" },
    });
    return headersFor(response, exchange.record.requestId);
  }

  // ---- control endpoints --------------------------------------------------------------------

  async #control(request: Request, url: URL): Promise<Response> {
    const route = `${request.method} ${url.pathname.replace(/\/+$/, "")}`;
    switch (route) {
      case "GET /_control/stats":
        return json({ stats: this.stats, lastRequest: this.lastRequest }, 200);
      case "GET /_control/requests":
        return json({ requests: this.#history }, 200);
      case "POST /_control/reset":
        this.reset();
        return json({ ok: true }, 200);
      case "POST /_control/fault": {
        let body: { fault?: unknown; count?: unknown };
        try {
          body = await request.json();
        } catch {
          return json({ error: { message: "Body must be JSON: {fault, count?}" } }, 400);
        }
        try {
          if (body.fault === null || body.fault === undefined) this.setFault(null);
          else if (typeof body.fault !== "string") {
            throw new TypeError("fault must be a string or null");
          } else {
            const count = body.count === undefined || body.count === null
              ? undefined
              : Number(body.count);
            this.setFault({ fault: body.fault, count });
          }
        } catch (error) {
          return json({ error: { message: (error as Error).message } }, 400);
        }
        const active = this.#fault;
        return json({
          fault: active?.text ?? null,
          remaining: active ? (Number.isFinite(active.remaining) ? active.remaining : null) : 0,
        }, 200);
      }
      default:
        return json({ error: { message: `Unknown control route: ${route}` } }, 404);
    }
  }
}

/** Marks responses whose exchange ends when their body does. */
class StreamingResponse extends Response {}

// ---- helpers --------------------------------------------------------------------------------

function headersFor<R extends Response>(response: R, requestId: string): R {
  response.headers.set("x-request-id", requestId);
  response.headers.set("openai-version", "2020-10-01");
  response.headers.set("openai-organization", "org-fake");
  return response;
}

function json(body: unknown, status: number, requestId?: string): Response {
  const response = new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json" },
  });
  return requestId ? headersFor(response, requestId) : response;
}

function apiError(error: ApiError, requestId: string, headers: Record<string, string>): Response {
  const response = json(
    {
      error: {
        message: error.message,
        type: error.type,
        param: error.param,
        code: error.code,
        ...error.extra,
      },
    },
    error.status,
    requestId,
  );
  for (const [name, value] of Object.entries(headers)) response.headers.set(name, value);
  return response;
}

function sse(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

function recordedFields(
  fields: Record<string, unknown>,
  uploads: readonly UploadedImage[],
): Record<string, unknown> {
  const recorded: Record<string, unknown> = { ...fields };
  for (const name of new Set(uploads.map((u) => u.field))) {
    const files = uploads
      .filter((u) => u.field === name)
      .map((u): RecordedFile => ({ filename: u.filename, size: u.size, type: u.type }));
    recorded[name] = name.endsWith("[]") || files.length > 1 ? files : files[0];
  }
  return recorded;
}

function bearer(request: Request): string | null {
  const match = /^Bearer\s+(.*)$/i.exec(request.headers.get("authorization") ?? "");
  const token = match?.[1].trim();
  return token ? token : null;
}

function checkOpenAIAuth(request: Request, record: RecordedRequest): Response | null {
  const key = bearer(request);
  if (key === null) {
    return apiError(
      invalidRequest(
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
        { status: 401 },
      ),
      record.requestId,
      {},
    );
  }
  if (key === FAKE_INVALID_API_KEY) {
    return apiError(
      invalidRequest(
        `Incorrect API key provided: ${
          key.slice(0, 7)
        }***. You can find your API key at https://platform.openai.com/account/api-keys.`,
        { code: "invalid_api_key", status: 401 },
      ),
      record.requestId,
      {},
    );
  }
  return null;
}

function checkAzureAuth(request: Request, url: URL, record: RecordedRequest): Response | null {
  const key = request.headers.get("api-key")?.trim() || bearer(request);
  if (!key || key === FAKE_INVALID_API_KEY) {
    return json(
      {
        error: {
          code: "401",
          message:
            "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.",
        },
      },
      401,
      record.requestId,
    );
  }
  if (!url.searchParams.get("api-version")) {
    return json({ error: { code: "404", message: "Resource not found" } }, 404, record.requestId);
  }
  return null;
}

function azureDeploymentNotFound(requestId: string): Response {
  return json(
    {
      error: {
        code: "DeploymentNotFound",
        message:
          "The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.",
      },
    },
    404,
    requestId,
  );
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener("abort", () => resolve(), { once: true });
  });
}
