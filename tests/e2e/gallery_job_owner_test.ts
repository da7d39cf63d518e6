/**
 * A generation's page and event stream show its prompt, partial images and outcome only to callers
 * who may read its images: another user key's session gets the same refusal from a job started in
 * this process (the gallery's tracker) as from one looked up in the core's records. The real HTTP
 * service in this process, two user keys, the gallery's forms over real HTTP.
 */
import assert from "node:assert/strict";
import { signedInBrowser } from "./support/gallery_browser.ts";
import { startInProcessService } from "./support/in_process.ts";

Deno.test("another user key's session cannot follow a generation started here", async () => {
  await using service = await startInProcessService({ MCP_HTTP_SESSIONS: "stateless" });
  const alice = await signedInBrowser(service.url, service.keys.alice);
  const bob = await signedInBrowser(service.url, service.keys.bob);

  const started = await alice.post("/generate", {
    prompt: "alice's private lighthouse",
    _csrf: await alice.csrfOf("/generate"),
  });
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
