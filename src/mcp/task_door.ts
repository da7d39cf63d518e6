/**
 * Generations as MCP tasks, wired into one server instance of the SDK: which `tools/call` becomes a
 * task (2026-07-28: the request declares the `io.modelcontextprotocol/tasks` extension; 2025-11-25:
 * the request carries `params.task`), the `tasks/*` methods of the instance's era, the 2025-era
 * `execution.taskSupport` of the generation tools, and `notifications/tasks/status` where the
 * connection outlives the request (stdio, stateful sessions). The era-neutral work is
 * `tasks/`'s {@link TaskService}; every instance sharing the KV answers for every task.
 *
 * @module
 */
import { z } from "zod";
import { systemClock } from "../clock.ts";
import type { McpContext, McpTasks } from "./context.ts";
import { createProgressReporter, type ToolExtra } from "./progress.ts";
import { type CallToolResult, CLIENT_CAPABILITIES_META_KEY, type McpServer } from "./sdk.ts";
import { answering, type ToolHandlers } from "./tool_handlers.ts";
import type {
  ExtensionTaskMethods,
  LegacyTaskMethods,
  TaskDrain,
  TaskRequest,
  TaskService,
  TaskSupport,
} from "./tasks/mod.ts";

/**
 * The task modules, loaded with the first tool call or `tasks/*` request: they reach the KV
 * helpers, which the stdio door must not load before its first tool call.
 */
const taskModules = () => import("./tasks/mod.ts");

/** The tools that may run as tasks: the generations (minutes long, paid for). */
const TASK_TOOLS: ReadonlySet<string> = new Set(["generate_image", "edit_image"]);

/** How a tool takes task augmentation on the 2025 era (`execution.taskSupport`). */
function taskSupportOf(tool: string): TaskSupport {
  return TASK_TOOLS.has(tool) ? "optional" : "forbidden";
}

/** What a door gives the servers it builds so they serve tasks (one per process). */
export interface TaskSetup {
  /** The KV every instance shares (the stdio door opens it on first use). */
  kv(): Promise<Deno.Kv>;
  /** Where task ends still being recorded are tracked (made with the first task). */
  drainer(): Promise<TaskDrain>;
  /** Waits until the ends of the tasks started in this process are recorded (before the KV closes). */
  drain(): Promise<void>;
}

/** The task setup of a door whose KV is `kv()`. */
export function createTaskSetup(kv: () => Promise<Deno.Kv>): TaskSetup {
  let drainer: Promise<TaskDrain> | undefined;
  return {
    kv,
    drainer: () => drainer ??= taskModules().then(({ TaskDrain }) => new TaskDrain()),
    drain: async () => await (await drainer)?.drain(),
  };
}

/** What the `tools/call` wrapper learnt of one call (keyed by the request's handler context). */
interface ToolCall {
  readonly tool: string;
  /** The 2025-era `params.task`, parsed; null for a plain call. */
  readonly task: TaskRequest | null;
}

/**
 * Wires tasks into `server` (tools already registered; their SDK handlers in `handlers`) and returns
 * what the generation tools call. `ctx` is the instance's context (era, caller, client).
 */
export function installTasks(
  server: McpServer,
  ctx: Omit<McpContext, "tasks">,
  setup: TaskSetup,
  handlers: ToolHandlers,
): McpTasks {
  const calls = new WeakMap<ToolExtra, ToolCall>();
  let service: Promise<TaskService> | undefined;
  const tasks = () =>
    service ??= (async () => {
      const { TaskService, createTaskResultRenderer } = await taskModules();
      return new TaskService({
        images: ctx.images,
        kv: await setup.kv(),
        now: systemClock,
        drain: await setup.drainer(),
        render: createTaskResultRenderer({
          images: ctx.images,
          config: ctx.config,
          client: () => ctx.client(),
          redact: ctx.redact,
        }),
      });
    })();
  const low = server.server;
  const { call, list } = handlers;
  if (call) {
    low.setRequestHandler("tools/call", (request, extra) =>
      answering(async () => {
        const params = request.params as Record<string, unknown>;
        const tool = String(params.name);
        const task = ctx.era === "legacy"
          ? (await taskModules()).requestedTask(tool, params, taskSupportOf(tool))
          : null;
        calls.set(extra, { tool, task });
        return await call(request, extra) as CallToolResult;
      }));
  }
  if (ctx.era === "legacy") {
    if (list) {
      low.setRequestHandler("tools/list", async (request, extra) => {
        const result = await list(request, extra) as { tools: { name: string }[] };
        return {
          ...result,
          tools: result.tools.map((tool) =>
            TASK_TOOLS.has(tool.name)
              ? { ...tool, execution: { taskSupport: taskSupportOf(tool.name) } }
              : tool
          ),
        } as never;
      });
    }
    registerLegacyMethods(
      server,
      ctx,
      async () => new (await taskModules()).LegacyTaskMethods(await tasks()),
    );
  } else {
    registerExtensionMethods(
      server,
      ctx,
      async () => new (await taskModules()).ExtensionTaskMethods(await tasks()),
    );
  }

  return {
    async start(extra, start) {
      const found = calls.get(extra);
      if (!found || !TASK_TOOLS.has(found.tool)) return undefined;
      const principal = ctx.principal(extra);
      const partialImages = ctx.config.mcpPartialImages;
      const {
        capabilitiesDeclareTasks,
        extensionCreateTaskResult,
        legacyCreateTaskResult,
        legacyStatusNotification,
      } = await taskModules();
      if (ctx.era === "modern") {
        if (!capabilitiesDeclareTasks(ctx.capabilities(extra))) return undefined;
        const view = await (await tasks()).start({
          tool: found.tool,
          principal,
          start,
          partialImages,
        });
        // The SDK adds `content: []` to every tools/call result; the schema allows extra fields.
        return extensionCreateTaskResult(view) as unknown as CallToolResult;
      }
      if (!found.task) return undefined;
      // The progress token stays valid for the task's life (2025-11-25 tasks).
      const progress = createProgressReporter(extra);
      try {
        const view = await (await tasks()).start({
          tool: found.tool,
          principal,
          start,
          partialImages,
          ...(found.task.ttlMs === undefined ? {} : { ttlMs: found.task.ttlMs }),
          onProgress: (event) =>
            progress.stage(
              event.stage,
              event.partialImage ? `partial image ${event.partialImage.index + 1}` : undefined,
            ),
          onStateChange: (view) => {
            progress.stop();
            // Best effort: a stateless HTTP request's server is gone by now; clients poll.
            low.notification(legacyStatusNotification(view) as never).catch(() => {});
          },
        });
        // The SDK's 2025 wire schema wants `content` beside `task`; the schema allows both.
        return { content: [], ...legacyCreateTaskResult(view) } as unknown as CallToolResult;
      } catch (error) {
        progress.stop();
        throw error;
      }
    },
  };
}

/** Any request's params: the methods check what they need themselves, with clear messages. */
const ANY_PARAMS = { params: z.looseObject({}) };

/** Registers the 2025-11-25 `tasks/get|result|list|cancel`. */
function registerLegacyMethods(
  server: McpServer,
  ctx: Omit<McpContext, "tasks">,
  methods: () => Promise<LegacyTaskMethods>,
): void {
  const low = server.server;
  low.setRequestHandler(
    "tasks/get",
    ANY_PARAMS,
    (params, extra) =>
      answering(async () => (await methods()).get(params, ctx.principal(extra))) as never,
  );
  low.setRequestHandler(
    "tasks/result",
    ANY_PARAMS,
    (params, extra) =>
      answering(async () =>
        (await methods()).result(params, ctx.principal(extra), { signal: extra.mcpReq.signal })
      ) as never,
  );
  low.setRequestHandler(
    "tasks/list",
    ANY_PARAMS,
    (params, extra) =>
      answering(async () => (await methods()).list(params, ctx.principal(extra))) as never,
  );
  low.setRequestHandler(
    "tasks/cancel",
    ANY_PARAMS,
    (params, extra) =>
      answering(async () => (await methods()).cancel(params, ctx.principal(extra))) as never,
  );
}

/** Registers the 2026-07-28 extension's `tasks/get|update|cancel`. */
function registerExtensionMethods(
  server: McpServer,
  ctx: Omit<McpContext, "tasks">,
  methods: () => Promise<ExtensionTaskMethods>,
): void {
  // The SDK lifts the request's capabilities out of `_meta`; the methods read them from there.
  const withCapabilities = (params: Record<string, unknown>, extra: ToolExtra) => ({
    ...params,
    _meta: {
      ...params._meta as Record<string, unknown> | undefined,
      [CLIENT_CAPABILITIES_META_KEY]: ctx.capabilities(extra),
    },
  });
  for (const method of ["get", "update", "cancel"] as const) {
    server.server.setRequestHandler(
      `tasks/${method}`,
      ANY_PARAMS,
      (params, extra) =>
        answering(async () =>
          (await methods())[method](withCapabilities(params, extra), ctx.principal(extra))
        ) as never,
    );
  }
}
