import type { ServerResponse } from "node:http";

/** How many unread bytes a stream may hold for its client by default (MAX_STREAM_BUFFER_BYTES). */
export const DEFAULT_STREAM_BUFFER_BYTES = 8 * 1024 * 1024;

/**
 * One server-sent-events stream on a hijacked response. Writes never throw: a client
 * that went away just makes `closed` true and `onClose` listeners run once.
 *
 * Bounded: a client that stops reading would otherwise make the hub hold every message it is
 * sent. While the bytes it has not read stay under the limit, the socket's buffer absorbs the
 * pause; once a message finds more than that still waiting, the client is dropped (the
 * connection closed, `dropped` set, the unread messages freed). A single large message to a
 * client that keeps up always goes through: the check is on what was already waiting.
 */
export class SseStream {
  /** Set once per process from the gateway's settings. */
  static bufferLimitBytes = DEFAULT_STREAM_BUFFER_BYTES;
  closed = false;
  /** The client was dropped for not reading (see the class comment). */
  dropped = false;
  /** What was waiting unread when it was dropped. */
  unreadBytes: number | undefined;
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
    if (this.res.writableLength > SseStream.bufferLimitBytes) {
      this.dropped = true;
      this.unreadBytes = this.res.writableLength;
      // destroy, not end: end would wait behind the unread bytes and keep them in memory.
      this.res.destroy();
      this.markClosed();
      return;
    }
    this.res.write(chunk);
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepAlive);
    for (const l of this.closeListeners.splice(0)) l();
  }
}
