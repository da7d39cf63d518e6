/**
 * `clients list|revoke`: the apps people connected over OAuth (claude.ai, ChatGPT, …), one grant
 * per consent, kept in the shared KV. The CLI is the local admin, so it sees and revokes everyone's.
 *
 * @module
 */
import { listGrantsAs, revokeGrantAs } from "../core/mod.ts";
import type { Command } from "./command.ts";
import { printJson, renderTable, shortTime } from "./output.ts";

/** `clients list [--all] [--principal ID]`. */
export const clientsListCommand: Command = {
  path: ["clients", "list"],
  args: "",
  summary: "List connected OAuth apps (grants): client, person, scopes, last use",
  details: "Each row is one consent: the app (client) a person allowed on the consent page, with " +
    "the host it returns to and the scopes it got. Tokens are never shown. An app whose " +
    "consenting API key was revoked is listed as inactive (key revoked): its tokens are refused.",
  options: [
    { name: "all", synopsis: "--all", text: "Include revoked grants" },
    { name: "principal", synopsis: "--principal ID", text: "Only the grants this key id allowed" },
  ],
  positionals: { min: 0, max: 0 },
  async run(session, args) {
    const kv = await session.kv();
    const grants = await listGrantsAs(kv, session.caller, {
      includeRevoked: args.values.all === true,
      authToken: (await session.config()).mcpAuthToken,
      ...(args.values.principal === undefined ? {} : { principalId: args.values.principal }),
    });
    if (session.json) {
      printJson(session.io, { grants });
      return 0;
    }
    if (grants.length === 0) {
      session.io.err(
        "No connected apps: they appear here once someone allows one on the consent page\n",
      );
      return 0;
    }
    session.io.out(renderTable(
      ["ID", "CLIENT", "REDIRECT HOST", "PERSON", "SCOPES", "CREATED", "LAST USED", "STATUS"],
      grants.map((g) => [
        g.id,
        g.clientName ?? g.clientId,
        g.redirectHost,
        `${g.principalName} (${g.principalId})`,
        g.scopes.join(" "),
        shortTime(g.createdAt),
        shortTime(g.lastUsedAt),
        g.revokedAt !== null
          ? `revoked ${shortTime(g.revokedAt)}`
          : g.keyRevoked
          ? "inactive (key revoked)"
          : "active",
      ]),
    ));
    return 0;
  },
};

/** `clients revoke <grant-id>`. */
export const clientsRevokeCommand: Command = {
  path: ["clients", "revoke"],
  args: "<grant-id>",
  summary: "Revoke a connected app: its access and refresh tokens are refused from now on",
  details: "Every process sharing the KV refuses the grant's tokens on their next use; the app " +
    "has to ask for consent again.",
  options: [],
  positionals: { min: 1, max: 1 },
  async run(session, args) {
    const kv = await session.kv();
    const before = session.now();
    const grant = await revokeGrantAs(kv, session.caller, args.positionals[0], {
      now: session.now,
    });
    if (session.json) {
      printJson(session.io, { revoked: grant });
      return 0;
    }
    const what = `${grant.id} (${
      grant.clientName ?? grant.clientId
    }, allowed by ${grant.principalName})`;
    session.io.out(
      grant.revokedAt !== null && grant.revokedAt < before
        ? `Already revoked ${what} on ${shortTime(grant.revokedAt)}\n`
        : `Revoked ${what}\n`,
    );
    return 0;
  },
};
