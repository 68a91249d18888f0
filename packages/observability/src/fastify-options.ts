import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { LogController, type FastifyBaseLogger, type FastifyServerOptions } from "fastify";
import type { Logger } from "pino";
import { createServer, type IncomingMessage, type ServerOptions } from "node:http";
import { requestIdFrom, REQUEST_ID_HEADER, withRequestId } from "./request-context.ts";

const REQUEST_ID = Symbol("mcphub.requestId");
type WithId = IncomingMessage & { [REQUEST_ID]?: string };

/**
 * The Fastify options every MCPHub service starts with. Per-request log lines and per-request
 * child loggers (pino re-running its redaction setup each time) cost more than proxying a
 * call does; metrics time every request instead, and handlers log through the service logger.
 */
export function serviceFastifyOptions(logger: Logger, extra: FastifyServerOptions = {}): FastifyServerOptions & { loggerInstance: FastifyBaseLogger } {
  return {
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request: the logger's mixin adds the request id instead (logger.ts).
    childLoggerFactory: (parent) => parent,
    // Each request runs with its id current (the X-Request-Id nginx or a peer service sent, else a
    // new one), so everything it causes sees it; Fastify's req.id is the same id.
    serverFactory: (handler, fastifyOptions) => {
      const opts = fastifyOptions as { http?: ServerOptions; keepAliveTimeout?: number; requestTimeout?: number; connectionTimeout?: number; maxRequestsPerSocket?: number };
      const server = createServer(opts.http ?? {}, (req, res) => {
        const id = requestIdFrom(req.headers[REQUEST_ID_HEADER]);
        (req as WithId)[REQUEST_ID] = id;
        withRequestId(id, () => handler(req, res));
      });
      // What Fastify sets on a server it makes itself.
      server.keepAliveTimeout = opts.keepAliveTimeout ?? 72_000;
      server.requestTimeout = opts.requestTimeout ?? 0;
      server.setTimeout(opts.connectionTimeout ?? 0);
      if (opts.maxRequestsPerSocket) server.maxRequestsPerSocket = opts.maxRequestsPerSocket;
      return server;
    },
    // app.inject() bypasses the server: its requests are named the same way, without the context.
    genReqId: (req) => (req as WithId)[REQUEST_ID] ?? requestIdFrom(req.headers[REQUEST_ID_HEADER]),
    // Session ids and cursors are opaque; keep long ones intact in route parameters.
    routerOptions: { maxParamLength: 500 },
    clientErrorHandler,
    ...extra,
  };
}

const CLIENT_ERRORS: Record<string, [number, string, string]> = {
  HPE_HEADER_OVERFLOW: [431, "Request Header Fields Too Large", "the request's headers are too large"],
  ERR_HTTP_REQUEST_TIMEOUT: [408, "Request Timeout", "the request did not arrive in time"],
};

/**
 * Answers what Node's HTTP parser cannot read, saying that the connection ends. The usual
 * case is a body the headers do not declare (a GET or DELETE body without Content-Length):
 * it is read as a second request and fails. Fastify's own answer closes the socket without
 * `Connection: close`, so a keep-alive client sent its next request into a reset.
 *
 * A request read before the unreadable bytes keeps its answer, marked `Connection: close`,
 * and the connection ends after it; otherwise the answer is a 400 (431, 408) in the REST
 * error shape, with `Connection: close`.
 */
function clientErrorHandler(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const pending = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  if (pending && !pending.writableFinished) {
    if (!pending.headersSent) pending.shouldKeepAlive = false;
    pending.once("finish", () => socket.end());
    pending.once("close", () => socket.destroySoon());
    return;
  }
  const [status, reason, what] = CLIENT_ERRORS[err.code ?? ""] ?? [
    400,
    "Bad Request",
    "the request could not be read (a body its headers do not declare, such as a GET or DELETE body without Content-Length, reads as a second request)",
  ];
  const body = JSON.stringify({ error: { code: status === 400 ? "HUB_MALFORMED_REQUEST" : `HUB_HTTP_${status}`, message: `${what}; this connection is closed` } });
  if (!socket.writable) return void socket.destroy();
  // The answer to a HEAD has no body, even when the request line is all the parser could read.
  const head = (err as { rawPacket?: Buffer }).rawPacket?.subarray(0, 5).toString("latin1") === "HEAD ";
  const content = head ? "" : `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n`;
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\n${content}\r\n${head ? "" : body}`);
}
