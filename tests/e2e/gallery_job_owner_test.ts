/**
 * A generation's page and event stream show its prompt, partial images and outcome only to callers
 * who may read its images: another user key's session gets the same refusal from a job started in
 * this process (the gallery's tracker) as from one looked up in the core's records. The real HTTP
 * service in this process, two user keys, the gallery's forms over real HTTP.
 */
import assert from "node:assert/strict";
import { startInProcessService } from "./support/in_process.ts";

/** A browser of the gallery signed in with `key`: keeps its cookies, follows no redirects. */
async function signedIn(base: string, key: string) {
  const cookies = new Map<string, string>();
  const request = async (path: string, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set("cookie", [...cookies].map(([k, v]) => `${k}=${v}`).join("; "));
    const res = await fetch(`${base}${path}`, { ...init, headers, redirect: "manual" });
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(";");
      const at = pair.indexOf("=");
      cookies.set(pair.slice(0, at), pair.slice(at + 1));
    }
    return res;
  };
  const post = async (path: string, fields: Record<string, string>) => {
    const form = await (await request(path === "/login" ? "/login" : "/generate")).text();
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form)?.[1] ?? "";
    return await request(path, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ ...fields, _csrf: csrf }).toString(),
    });
  };
  const login = await post("/login", { key, next: "/" });
  await login.body?.cancel();
  assert.equal(login.status, 303, "signed in");
  return { request, post };
}

Deno.test("another user key's session cannot follow a generation started here", async () => {
  await using service = await startInProcessService({ MCP_HTTP_SESSIONS: "stateless" });
  const alice = await signedIn(service.url, service.keys.alice);
  const bob = await signedIn(service.url, service.keys.bob);

  const started = await alice.post("/generate", { prompt: "alice's private lighthouse" });
  await started.body?.cancel();
  const jobPath = started.headers.get("location") ?? "";
  assert.match(jobPath, /^\/jobs\//, "the form started a job");
  // Alice follows it to the end: the job is settled and still tracked by this process.
  const own = await (await alice.request(`${jobPath}/events`)).text();
  assert.match(own, /event: done/);

  const page = await bob.request(jobPath);
  const html = await page.text();
  assert.equal(page.status, 403, "bob's session is refused the job page");
  assert.doesNotMatch(html, /private lighthouse/, "and does not see alice's prompt");

  const events = await (await bob.request(`${jobPath}/events`)).text();
  assert.doesNotMatch(events, /event: (done|partial|progress)/, "nor her job's events");
  assert.match(events, /event: failure\ndata: .*"kind":"forbidden"/);
});
