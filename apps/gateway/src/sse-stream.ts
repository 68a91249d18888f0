import type { ServerResponse } from "node:http";

/**
 * One server-sent-events stream on a hijacked response. Writes never throw: a client
 * that went away just makes `closed` true and `onClose` listeners run once.
 */
export class SseStream {
  closed = false;
  private readonly closeListeners: (() => void)[] = [];
  private keepAlive: NodeJS.Timeout | undefined;

  constructor(
    private readonly res: ServerResponse,
    headers: Record<string, string>,
    keepAliveMs = 25_000,
  ) {
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      // nginx: do not buffer this response.
      "x-accel-buffering": "no",
      ...headers,
    });
    res.flushHeaders();
    res.on("close", () => this.markClosed());
    if (keepAliveMs > 0) {
      // A comment line keeps proxies and load balancers from dropping an idle stream.
      this.keepAlive = setInterval(() => this.write(": keep-alive\n\n"), keepAliveMs);
      this.keepAlive.unref();
    }
  }

  /** Sends one event; `data` is JSON text. */
  send(data: string, event = "message"): void {
    this.write(`event: ${event}\ndata: ${data}\n\n`);
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  end(): void {
    if (!this.closed) this.res.end();
    this.markClosed();
  }

  private write(chunk: string): void {
    if (this.closed) return;
    this.res.write(chunk);
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepAlive);
    for (const l of this.closeListeners.splice(0)) l();
  }
}
