/**
 * The `requestState` of a price confirmation (2026-07-28 multi round-trip): it travels through
 * the client, so it is signed (HMAC-SHA-256 with a key every instance shares through KV) and
 * binds, as the specification asks, the principal, a short expiry and the request — the tool and
 * a digest of its arguments — besides the price the user is shown. A state that fails any check
 * is refused with `-32602`.
 *
 * Wire form: `v1.` base64url(JSON payload) `.` base64url(MAC). Signed, not encrypted: the
 * payload holds nothing secret (the principal appears only inside the argument-free digest).
 *
 * @module
 */
import { decodeBase64Url, encodeBase64Url } from "../../encoding.ts";
import type { Clock } from "../../clock.ts";
import { ERROR_CODES, ProtocolError } from "../protocol_error.ts";

/** What a confirmation state proves. */
export interface ConfirmationState {
  /** The price shown to the user, USD (null: unknown). */
  readonly priceUsd: number | null;
}

/** What the retried request must match. */
export interface StateBinding {
  /** The caller. */
  readonly principalId: string;
  /** The tool called. */
  readonly tool: string;
  /** The tool's arguments, without the confirmation fields. */
  readonly arguments: Record<string, unknown>;
}

interface Payload {
  /** Binding digest: principal, tool and arguments. */
  b: string;
  /** Expiry, epoch milliseconds. */
  e: number;
  /** Price shown. */
  u: number | null;
}

/** Default lifetime of a confirmation state: ten minutes for a person to decide. */
export const DEFAULT_STATE_TTL_MS = 600_000;

/** JSON with object keys sorted, so equal arguments give equal text whatever their order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

async function digest(binding: StateBinding): Promise<string> {
  const text = canonicalJson([binding.principalId, binding.tool, binding.arguments]);
  const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return encodeBase64Url(new Uint8Array(hash));
}

function refuse(reason: string): ProtocolError {
  return new ProtocolError(
    ERROR_CODES.invalidParams,
    `Invalid or expired requestState: ${reason}; call the tool again without requestState`,
  );
}

/** Mints and verifies confirmation states. */
export class ConfirmationStateCodec {
  #key: () => Promise<CryptoKey>;
  #now: Clock;
  #ttlMs: number;

  /** A codec signing with `key` (HMAC-SHA-256, shared by every instance), states valid `ttlMs`. */
  constructor(key: () => Promise<CryptoKey>, now: Clock, options: { ttlMs?: number } = {}) {
    this.#key = key;
    this.#now = now;
    this.#ttlMs = options.ttlMs ?? DEFAULT_STATE_TTL_MS;
  }

  /** The signed state for `state`, bound to `binding`. */
  async mint(state: ConfirmationState, binding: StateBinding): Promise<string> {
    const payload: Payload = {
      b: await digest(binding),
      e: this.#now() + this.#ttlMs,
      u: state.priceUsd,
    };
    const body = encodeBase64Url(new TextEncoder().encode(JSON.stringify(payload)));
    const mac = await crypto.subtle.sign("HMAC", await this.#key(), new TextEncoder().encode(body));
    return `v1.${body}.${encodeBase64Url(new Uint8Array(mac))}`;
  }

  /**
   * The state carried by `wire`, when it is genuine, unexpired and minted for `binding`; a
   * `-32602` ProtocolError saying which check failed otherwise.
   */
  async verify(wire: unknown, binding: StateBinding): Promise<ConfirmationState> {
    if (typeof wire !== "string") throw refuse("expected the string the server returned");
    const [version, body, mac, ...rest] = wire.split(".");
    if (version !== "v1" || !body || !mac || rest.length > 0) throw refuse("malformed");
    let macBytes: Uint8Array;
    try {
      macBytes = decodeBase64Url(mac);
    } catch {
      throw refuse("malformed");
    }
    const genuine = await crypto.subtle.verify(
      "HMAC",
      await this.#key(),
      macBytes as Uint8Array<ArrayBuffer>,
      new TextEncoder().encode(body),
    );
    if (!genuine) throw refuse("signature does not match");
    const payload = JSON.parse(new TextDecoder().decode(decodeBase64Url(body))) as Payload;
    if (this.#now() >= payload.e) throw refuse("expired");
    if (payload.b !== await digest(binding)) {
      throw refuse("minted for another caller, tool or arguments");
    }
    return { priceUsd: payload.u };
  }
}
