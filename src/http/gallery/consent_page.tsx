/**
 * The OAuth consent page: which application asks, where it will send the person back, what it
 * may do — and the sign-in (an API key or the service's access token) that approves it.
 *
 * @module
 */
import type { FC } from "hono/jsx";
import { type AuthorizationRequest, type OAuthScope, SCOPE_WORDS } from "../../oauth/mod.ts";
import { FormAlert, KeyField } from "./components.tsx";
import { type Frame, Layout } from "./layout.tsx";

/** What the consent page shows. */
export interface ConsentPageProps {
  /** Shared frame. */
  readonly frame: Frame;
  /** The pending request's id (a hidden field). */
  readonly requestId: string;
  /** The request. */
  readonly request: AuthorizationRequest;
  /** Why the last approval failed. */
  readonly error?: string | undefined;
}

const ScopeList: FC<{ scopes: readonly OAuthScope[] }> = ({ scopes }) => (
  <ul class="scopes">
    {scopes.map((scope) => (
      <li>
        <code>{scope}</code> — {SCOPE_WORDS[scope]}
      </li>
    ))}
  </ul>
);

/** The consent page. */
export const ConsentPage: FC<ConsentPageProps> = (props) => {
  const { request, frame } = props;
  const redirect = new URL(request.redirectUri);
  // A native app's private-use scheme (`com.example.app:/callback`) has no host: name the scheme.
  const host = redirect.host === "" ? redirect.protocol : redirect.host;
  const name = request.clientName ?? host;
  const session = frame.viewer.signedIn ? frame.viewer.principal : null;
  return (
    <Layout title="Allow access" frame={frame} current="login">
      <div class="narrow">
        <div class="panel" data-consent>
          <h1>Allow {name} to use this service?</h1>
          <p class="lead">
            <strong>{name}</strong>{" "}
            asks to act on your behalf. After you decide, you are sent back to{" "}
            <strong data-redirect-host>{host}</strong>.
          </p>
          <p class="hint">
            Client id: <code>{request.clientId}</code>
          </p>
          <h2>It asks to</h2>
          <ScopeList scopes={request.scopes} />
          <FormAlert message={props.error} />
          <form method="post" action="/oauth/authorize">
            <input type="hidden" name="_csrf" value={frame.csrf} />
            <input type="hidden" name="request" value={props.requestId} />
            <KeyField
              required={false}
              hint={session
                ? `Signed in as ${session.name}: leave this empty to approve as yourself.`
                : "The key says who you are; it is not given to the application."}
            />
            <div class="actions">
              <button class="button primary" type="submit" name="decision" value="approve">
                Allow
              </button>
              <button class="button" type="submit" name="decision" value="deny" formnovalidate>
                Deny
              </button>
            </div>
          </form>
        </div>
      </div>
    </Layout>
  );
};
