import type { JSONRPCMessage, Transport } from "@modelcontextprotocol/client";
import { JsonRpcCode, McpCallError, RELAYED_SERVER_REQUESTS, relayErrorObject, type ServerToClientRequest, type UpstreamCall } from "@mcphub/contracts";
import type { Logger } from "@mcphub/observability";

/** The parts of a forwarded call that listen to what the upstream sends while it runs. */
export type CallListeners = Pick<UpstreamCall, "onProgress" | "client">;

type Inbound = { id?: string | number; method?: string; params?: Record<string, unknown> };

/** Which call in flight an upstream's request or log message belongs to, if that can be told. */
type Attribution = { call: CallListeners } | { none: true } | { ambiguous: number };

/**
 * The calls in flight on one upstream connection, and the routing of what the upstream sends
 * about them: progress by token, and its own requests (sampling, elicitation, roots) and log
 * messages to the client that caused them.
 *
 * Everything is caught on the transport, before the SDK client sees it: the client settles
 * responses at once but runs notification handlers a microtask later, so a progress or log
 * notification sent just before its result would reach the client after the result (seen with
 * server-everything). Requests are answered here too, so results pass through unvalidated.
 *
 * Attribution: MCP has no field tying a server's request to the client request it serves
 * (over stdio the line carries nothing else), so while exactly one client has calls in flight
 * on this upstream, that client is asked. With calls from several clients at once the hub
 * cannot know, and answers the upstream with an error rather than ask the wrong client.
 */
export class InflightCalls {
  private readonly calls = new Map<string, CallListeners>();
  private next = 0;

  constructor(
    private readonly prefix: string,
    private readonly opts: { log: Logger; onResourceUpdated: (uri: string) => void },
  ) {}

  /** Registers a call for its duration; returns its progress token (sent upstream only when the client wants progress). */
  register(listeners: CallListeners): string {
    const token = `${this.prefix}-${++this.next}`;
    this.calls.set(token, listeners);
    return token;
  }

  unregister(token: string): void {
    this.calls.delete(token);
  }

  /** Wraps a transport so that the upstream's traffic about calls goes to those calls' listeners. */
  wrap<T extends Transport>(transport: T): T {
    return new Proxy(transport, {
      set: (target, prop, value, receiver) => {
        if (prop !== "onmessage" || typeof value !== "function") return Reflect.set(target, prop, value, receiver);
        const deliver = value as (message: JSONRPCMessage, extra?: unknown) => void;
        target.onmessage = (message, extra) => {
          if (!this.intercept(target, message as Inbound)) deliver(message, extra);
        };
        return true;
      },
      get(target, prop) {
        const v = Reflect.get(target, prop, target);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
  }

  /** Handles the message if it is ours to route; false passes it on to the SDK client. */
  private intercept(transport: Transport, m: Inbound): boolean {
    if (m.method === undefined) return false; // a response to the hub's own request
    if (m.id !== undefined) {
      if (!(RELAYED_SERVER_REQUESTS as readonly string[]).includes(m.method)) return false; // ping and the unknown: the SDK answers
      void this.relayRequest(transport, m as Required<Pick<Inbound, "id" | "method">> & Inbound);
      return true;
    }
    switch (m.method) {
      case "notifications/progress": {
        const token = m.params?.progressToken;
        const call = typeof token === "string" ? this.calls.get(token) : undefined;
        if (!call?.onProgress) return false;
        const { progressToken: _t, ...progress } = m.params!;
        call.onProgress(progress as Parameters<NonNullable<UpstreamCall["onProgress"]>>[0]);
        return true;
      }
      // Log messages, and the end of a URL-mode elicitation the client was asked for, belong to the caller.
      case "notifications/message":
      case "notifications/elicitation/complete": {
        const who = this.attribute();
        if ("call" in who && who.call.client) who.call.client.notify({ method: m.method, ...(m.params ? { params: m.params } : {}) });
        else this.opts.log.debug({ method: m.method }, "upstream notification outside a single client's call: not relayed");
        return true;
      }
      case "notifications/resources/updated":
        if (typeof m.params?.uri === "string") this.opts.onResourceUpdated(m.params.uri);
        return true;
      default:
        return false;
    }
  }

  private attribute(): Attribution {
    let found: CallListeners | undefined;
    const origins = new Set<string | undefined>();
    for (const call of this.calls.values()) {
      found ??= call;
      origins.add(call.client?.origin);
    }
    if (!found) return { none: true };
    // Calls without an origin are the hub's own: each counts as a different client.
    if (origins.size > 1 || origins.has(undefined)) return this.calls.size === 1 ? { call: found } : { ambiguous: origins.size };
    return { call: found };
  }

  /**
   * Passes an upstream's request to the client whose call it belongs to; rejects with
   * McpCallError when that cannot be told or the client refuses. Used for the requests caught
   * on the transport (2025-era upstreams) and for the input_required rounds of 2026-07-28
   * upstreams, which the SDK client hands to its request handlers.
   */
  async ask(request: ServerToClientRequest): Promise<Record<string, unknown>> {
    const who = this.attribute();
    if ("ambiguous" in who) {
      throw new McpCallError(JsonRpcCode.InternalError, `${request.method} cannot be relayed: calls from ${who.ambiguous} clients are in flight on this server and MCP does not say which one this request is for`);
    }
    if ("none" in who || !who.call.client) {
      // The connection is shared by every client: outside a client's call there is nobody
      // to ask. No roots is the truthful answer; the rest need a client.
      if (request.method === "roots/list") return { roots: [] };
      throw new McpCallError(JsonRpcCode.MethodNotFound, `${request.method} is relayed to a client only during that client's request`);
    }
    return who.call.client.ask(request);
  }

  private async relayRequest(transport: Transport, m: Inbound & { id: string | number; method: string }): Promise<void> {
    let body: { result: Record<string, unknown> } | { error: { code: number; message: string; data?: unknown } };
    try {
      body = { result: await this.ask({ method: m.method, ...(m.params ? { params: m.params } : {}) }) };
    } catch (err) {
      body = { error: relayErrorObject(err, m.method) };
    }
    await transport.send({ jsonrpc: "2.0", id: m.id, ...body } as JSONRPCMessage).catch((err: unknown) =>
      this.opts.log.debug({ err: (err as Error).message, method: m.method }, "could not answer the upstream's request"),
    );
  }
}
