/**
 * `keys create|list|revoke|usage`: API keys of the HTTP service, kept hashed in the shared KV.
 * A new key is printed once, at creation; afterwards only its id and prefix are known.
 *
 * @module
 */
import { createApiKey, listApiKeys, revokeApiKey, ROLES } from "../auth/mod.ts";
import { usageReport } from "../ratelimit/mod.ts";
import { choiceOption, UsageError } from "./args.ts";
import type { Command } from "./command.ts";
import { printJson, renderTable, shortTime } from "./output.ts";

/** `keys create --name N --role admin|user`. */
export const keysCreateCommand: Command = {
  path: ["keys", "create"],
  args: "",
  summary: "Create an API key for the HTTP service; the key is shown once",
  details: "The key goes to stdout (alone on its line, or as `key` with --json); store it now, " +
    "only its SHA-256 digest is kept. `admin` keys may manage images and keys over HTTP.",
  options: [
    { name: "name", synopsis: "--name NAME", text: "Who or what the key is for (required)" },
    { name: "role", synopsis: "--role admin|user", text: "What the key may do (default user)" },
  ],
  positionals: { min: 0, max: 0 },
  async run(session, args) {
    const name = args.values.name;
    if (name === undefined) throw new UsageError("Missing --name: say who the key is for");
    const role = choiceOption(args.values, "role", ROLES) ?? "user";
    const kv = await session.kv();
    const { key, record } = await createApiKey(kv, { name, role, now: session.now });
    if (session.json) {
      printJson(session.io, { key, ...record });
    } else {
      session.io.out(`${key}\n`);
      session.io.err(
        `Created ${record.id} (${record.name}, role ${record.role}). ` +
          "Store the key now: it is not shown again.\n",
      );
    }
    return 0;
  },
};

/** `keys list [--all]`. */
export const keysListCommand: Command = {
  path: ["keys", "list"],
  args: "",
  summary: "List API keys (never the keys themselves)",
  options: [{ name: "all", synopsis: "--all", text: "Include revoked keys" }],
  positionals: { min: 0, max: 0 },
  async run(session, args) {
    const kv = await session.kv();
    const keys = await listApiKeys(kv, { includeRevoked: args.values.all === true });
    if (session.json) {
      printJson(session.io, { keys });
      return 0;
    }
    if (keys.length === 0) {
      session.io.err("No API keys yet: create one with `keys create --name NAME`\n");
      return 0;
    }
    session.io.out(renderTable(
      ["ID", "NAME", "ROLE", "PREFIX", "CREATED", "LAST USED", "STATUS"],
      keys.map((k) => [
        k.id,
        k.name,
        k.role,
        `${k.prefix}…`,
        shortTime(k.createdAt),
        shortTime(k.lastUsedAt),
        k.revokedAt === null ? "active" : `revoked ${shortTime(k.revokedAt)}`,
      ]),
    ));
    return 0;
  },
};

/** `keys revoke <id>`. */
export const keysRevokeCommand: Command = {
  path: ["keys", "revoke"],
  args: "<id>",
  summary: "Revoke an API key: every process sharing the KV refuses it from now on",
  options: [],
  positionals: { min: 1, max: 1 },
  async run(session, args) {
    const kv = await session.kv();
    const record = await revokeApiKey(kv, args.positionals[0], { now: session.now });
    if (session.json) printJson(session.io, { revoked: record });
    else session.io.out(`Revoked ${record.id} (${record.name})\n`);
    return 0;
  },
};

/** `keys usage [--month YYYY-MM] [--principal ID]`. */
export const keysUsageCommand: Command = {
  path: ["keys", "usage"],
  args: "",
  summary: "Images, upstream requests and spend per key for a month",
  options: [
    { name: "month", synopsis: "--month YYYY-MM", text: "The month (default: this month, UTC)" },
    {
      name: "principal",
      synopsis: "--principal ID",
      text: "Only this key id (or `token`, `local`, `ip:<address>`)",
    },
  ],
  positionals: { min: 0, max: 0 },
  async run(session, args) {
    const kv = await session.kv();
    let report;
    try {
      report = await usageReport(kv, {
        month: args.values.month,
        principal: args.values.principal,
        now: session.now,
      });
    } catch (error) {
      if (error instanceof RangeError) throw new UsageError(error.message);
      throw error;
    }
    if (session.json) {
      printJson(session.io, report);
      return 0;
    }
    const money = (usd: number) => `$${usd.toFixed(4)}`;
    session.io.out(renderTable(
      ["PRINCIPAL", "IMAGES", "REQUESTS", "SPEND"],
      [
        ...report.rows.map((
          r,
        ) => [r.principal, String(r.images), String(r.requests), money(r.spendUsd)]),
        [
          `total ${report.month}`,
          String(report.totals.images),
          String(report.totals.requests),
          money(report.totals.spendUsd),
        ],
      ],
    ));
    return 0;
  },
};
