/**
 * The worker thread of `sha256_thread.ts`: keeps one running SHA-256 per id, adds the bytes it is
 * given (then gives their buffer back), and answers each digest request with the hex digest. Posts `{ ready: true }` once
 * listening, so the other side knows the thread started before it hands over any bytes.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { parentPort } from "node:worker_threads";
import type { HashReply, HashRequest } from "./sha256_messages.ts";

const port = parentPort;
if (port === null) throw new Error("sha256_worker.ts runs only as a worker thread");
const running = new Map<number, Hash>();

port.on("message", (message: HashRequest) => {
  const { id } = message;
  if (message.kind === "update") {
    let hash = running.get(id);
    if (hash === undefined) running.set(id, hash = createHash("sha256"));
    hash.update(new Uint8Array(message.buffer, message.offset, message.length));
    // Given back for the next batch: bytes left to this thread's garbage collector pile up.
    port.postMessage({ returned: message.buffer } satisfies HashReply, [message.buffer]);
    return;
  }
  const hash = running.get(id) ?? createHash("sha256");
  running.delete(id);
  if (message.kind === "digest") {
    port.postMessage({ id, hex: hash.digest("hex") } satisfies HashReply);
  }
});
port.postMessage({ ready: true } satisfies HashReply);
