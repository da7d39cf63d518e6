/**
 * The Connected apps page: the OAuth grants the viewer may see (their own; everyone's for an
 * admin), each with the client's name, whether it is active (it is not once the API key that
 * allowed it was revoked), the host it returns to, the scopes, when it was allowed and last used,
 * and a Revoke button.
 *
 * @module
 */
import type { FC } from "hono/jsx";
import type { ListedGrant } from "../../oauth/mod.ts";
import { Notice } from "./components.tsx";
import { formatAge, formatTime } from "./format.ts";
import { type Frame, Layout } from "./layout.tsx";

/** What the Connected apps page shows. */
export interface ConnectedAppsPageProps {
  /** Shared frame. */
  readonly frame: Frame;
  /** The grants, newest first. */
  readonly grants: readonly ListedGrant[];
  /** Whether the viewer sees everyone's grants (an admin). */
  readonly everyone: boolean;
  /** A notice to show (e.g. after a revoke). */
  readonly notice?: string | undefined;
  /** The clock, for ages. */
  readonly now: number;
}

function scopeChip(scope: string) {
  return <span class="chip">{scope}</span>;
}

const When: FC<{ at: number; now: number }> = ({ at, now }) => (
  <time datetime={new Date(at).toISOString()} title={formatTime(at)}>{formatAge(at, now)}</time>
);

const GrantCard: FC<{ grant: ListedGrant; everyone: boolean; csrf: string; now: number }> = (
  { grant, everyone, csrf, now },
) => {
  const heading = `app-${grant.id}`;
  const name = grant.clientName ?? grant.redirectHost;
  return (
    <section
      class="panel"
      aria-labelledby={heading}
      data-grant-id={grant.id}
      data-grant-status={grant.keyRevoked ? "key-revoked" : "active"}
    >
      <h2 id={heading}>{name}</h2>
      <dl class="props">
        <dt>Status</dt>
        <dd>
          {grant.keyRevoked
            ? "Inactive (key revoked): the API key that allowed it was revoked, so its tokens are refused"
            : "Active"}
        </dd>
        <dt>Returns to</dt>
        <dd>{grant.redirectHost}</dd>
        <dt>Client id</dt>
        <dd class="mono">{grant.clientId}</dd>
        {everyone
          ? (
            <>
              <dt>Allowed by</dt>
              <dd>{grant.principalName} ({grant.principalId})</dd>
            </>
          )
          : null}
        <dt>Scopes</dt>
        <dd class="chips">
          {grant.scopes.map(scopeChip)}
        </dd>
        <dt>Allowed</dt>
        <dd>
          <When at={grant.createdAt} now={now} />
        </dd>
        <dt>Last used</dt>
        <dd>{grant.lastUsedAt === null ? "never" : <When at={grant.lastUsedAt} now={now} />}</dd>
      </dl>
      <form method="post" action={`/connected-apps/${encodeURIComponent(grant.id)}/revoke`}>
        <input type="hidden" name="_csrf" value={csrf} />
        <button class="button danger small" type="submit" aria-describedby={heading}>
          Revoke
        </button>
      </form>
    </section>
  );
};

/** The page listing connected apps. */
export const ConnectedAppsPage: FC<ConnectedAppsPageProps> = (props) => (
  <Layout title="Connected apps" frame={props.frame} current="apps">
    <div class="page-head">
      <div>
        <h1>Connected apps</h1>
        <p>
          {props.everyone
            ? "Apps anyone allowed to use this service over OAuth (claude.ai, ChatGPT, …)."
            : "Apps you allowed to use this service on your behalf over OAuth (claude.ai, ChatGPT, …)."}
          {" "}
          Revoking one signs it out at once; it has to ask for your consent again.
        </p>
      </div>
    </div>
    {props.notice ? <Notice text={props.notice} /> : null}
    {props.grants.length === 0
      ? (
        <div class="empty">
          <h2>No connected apps</h2>
          <p>
            An app appears here once it is allowed on this service's consent page, for example after
            adding <code>/mcp</code> as a custom connector in claude.ai or ChatGPT.
          </p>
        </div>
      )
      : (
        <div class="apps">
          {props.grants.map((grant) => (
            <GrantCard
              grant={grant}
              everyone={props.everyone}
              csrf={props.frame.csrf}
              now={props.now}
            />
          ))}
        </div>
      )}
  </Layout>
);
