/**
 * A byte-for-byte TCP relay in front of the fake's `Deno.serve` backend. `Deno.serve` always
 * sends a status line once a handler returns, so it cannot drop a connection without answering;
 * the relay can: {@link TcpFront.reset} closes the client's socket before any response byte,
 * which is what makes an HTTP client (and the openai SDK) see a connection error.
 *
 * @module
 */

/** The relay's handle. */
export interface TcpFront {
  /** The address clients connect to. */
  readonly addr: Deno.NetAddr;
  /**
   * Drops the client connection whose relay socket has `backendLocalPort` (what the backend sees
   * as the remote port). Returns whether such a connection was open.
   */
  reset(backendLocalPort: number): boolean;
  /** Stops accepting, drops every connection and waits for the relay loops to end. */
  close(): Promise<void>;
}

interface Pair {
  readonly client: Deno.Conn;
  backend: Deno.Conn | null;
  backendPort: number | null;
  closed: boolean;
}

const CHUNK = 64 * 1024;

/** Options of {@link startTcpFront}. */
export interface TcpFrontOptions {
  /** Interface to listen on. */
  hostname: string;
  /** Port to listen on (0 = any free port). */
  port: number;
  /**
   * Called when a client closes its connection (or it breaks) before the relay or the backend
   * closed it, with the relay socket's local port as the backend sees it.
   */
  onClientClosed?: (backendLocalPort: number) => void;
}

/** Starts a relay on `hostname:port` forwarding to `127.0.0.1:backendPort`. */
export function startTcpFront(backendPort: number, options: TcpFrontOptions): TcpFront {
  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  const pairs = new Set<Pair>();
  const byBackendPort = new Map<number, Pair>();
  const tasks = new Set<Promise<void>>();
  let closing = false;

  function closePair(pair: Pair, byClient = false): void {
    if (pair.closed) return;
    pair.closed = true;
    pairs.delete(pair);
    if (byClient && !closing && pair.backendPort !== null) {
      options.onClientClosed?.(pair.backendPort);
    }
    for (const conn of [pair.client, pair.backend]) {
      try {
        conn?.close();
      } catch {
        // Already closed by the other side.
      }
    }
  }

  async function pump(from: Deno.Conn, to: Deno.Conn, pair: Pair): Promise<void> {
    const buffer = new Uint8Array(CHUNK);
    const fromClient = from === pair.client;
    // Who ended the relay: the client when its side was read to the end or could not be
    // written; otherwise the backend (or the relay itself, via closePair).
    let byClient = false;
    try {
      while (!pair.closed) {
        let read: number | null;
        try {
          read = await from.read(buffer);
        } catch {
          byClient = fromClient && !pair.closed;
          break;
        }
        if (read === null) {
          byClient = fromClient && !pair.closed;
          break;
        }
        let offset = 0;
        while (offset < read) offset += await to.write(buffer.subarray(offset, read));
      }
    } catch {
      byClient = !fromClient && !pair.closed;
    } finally {
      closePair(pair, byClient);
    }
  }

  async function relay(client: Deno.Conn): Promise<void> {
    const pair: Pair = { client, backend: null, backendPort: null, closed: false };
    pairs.add(pair);
    try {
      const backend = await Deno.connect({ hostname: "127.0.0.1", port: backendPort });
      if (pair.closed) {
        backend.close();
        return;
      }
      pair.backend = backend;
      const port = (backend.localAddr as Deno.NetAddr).port;
      pair.backendPort = port;
      byBackendPort.set(port, pair);
      await Promise.all([pump(client, backend, pair), pump(backend, client, pair)]);
      byBackendPort.delete(port);
    } catch {
      closePair(pair);
    }
  }

  function track(task: Promise<void>): void {
    tasks.add(task);
    task.finally(() => tasks.delete(task));
  }

  async function acceptLoop(): Promise<void> {
    while (!closing) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        break;
      }
      if (closing) {
        conn.close();
        break;
      }
      track(relay(conn));
    }
  }
  track(acceptLoop());

  return {
    addr: listener.addr as Deno.NetAddr,
    reset(backendLocalPort) {
      const pair = byBackendPort.get(backendLocalPort);
      if (!pair || pair.closed) return false;
      closePair(pair);
      return true;
    },
    async close() {
      if (!closing) {
        closing = true;
        try {
          listener.close();
        } catch {
          // Already closed.
        }
      }
      for (const pair of [...pairs]) closePair(pair);
      while (tasks.size > 0) await Promise.allSettled([...tasks]);
    },
  };
}
