/**
 * The sign-in form and the page for messages and errors (not found, not allowed, …).
 *
 * @module
 */
import type { FC } from "hono/jsx";
import { describeError } from "./format.ts";
import { FormAlert, KeyField } from "./components.tsx";
import { type Frame, Layout } from "./layout.tsx";

/** What the sign-in page shows. */
export interface LoginPageProps {
  /** Shared frame. */
  readonly frame: Frame;
  /** Where to go after signing in. */
  readonly next: string;
  /** Why the last attempt failed. */
  readonly error?: string | undefined;
}

/** The sign-in page: exchanges an API key for a session cookie. */
export const LoginPage: FC<LoginPageProps> = (props) => (
  <Layout title="Sign in" frame={props.frame} current="login">
    <div class="narrow">
      <div class="panel">
        <h1>Sign in</h1>
        <p class="lead">
          Use an API key from your administrator, or the service's access token.
        </p>
        <FormAlert message={props.error} />
        <form method="post" action="/login">
          <input type="hidden" name="_csrf" value={props.frame.csrf} />
          <input type="hidden" name="next" value={props.next} />
          <KeyField
            required
            hint="The key is checked once and exchanged for a session cookie; it is not kept in the browser."
          />
          <button class="button primary" type="submit">Sign in</button>
        </form>
      </div>
    </div>
  </Layout>
);

/** What a message page shows. */
export interface MessagePageProps {
  /** Shared frame. */
  readonly frame: Frame;
  /** Error kind (decides title and advice) unless `title` is given. */
  readonly kind: string;
  /** The detailed message. */
  readonly message: string;
  /** Overrides the title. */
  readonly title?: string | undefined;
}

/** A page that says what went wrong and offers a way back. */
export const MessagePage: FC<MessagePageProps> = (props) => {
  const described = describeError(props.kind);
  const title = props.title ?? described.title;
  return (
    <Layout title={title} frame={props.frame}>
      <div class="narrow">
        <div class="panel" data-error-kind={props.kind}>
          <h1>{title}</h1>
          <p class="lead">{described.hint}</p>
          <p>{props.message}</p>
          <div class="actions">
            <a class="button primary" href="/">Go to the gallery</a>
            {props.kind === "unauthorized" ? <a class="button" href="/login">Sign in</a> : null}
          </div>
        </div>
      </div>
    </Layout>
  );
};
