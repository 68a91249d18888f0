import type { ServerToClientRequest } from "@mcphub/contracts";
import type { ClientSession } from "../core/mcp-dispatcher.ts";
import { passesLogLevel, type ClientRequests } from "./client-requests.ts";
import type { ResourceSubscriptions } from "./resource-subscriptions.ts";
import type { SessionRecord, SessionStore } from "./session.store.ts";

/** ClientSession for one request of a session: one object per request, its methods on the prototype. */
export class SessionChannel implements ClientSession {
  /**
   * Withdraws the upstream's questions when the request ends. Made only when one is asked: an
   * AbortController per request, and the DOMException its abort() builds, cost measurable CPU.
   */
  private asking: AbortController | undefined;

  constructor(
    private readonly session: SessionRecord,
    private readonly send: (json: string) => void,
    private readonly asks: ClientRequests,
    private readonly subscriptions: ResourceSubscriptions,
    private readonly store: SessionStore,
  ) {}

  get origin(): string {
    return this.session.id;
  }

  ask(request: ServerToClientRequest): Promise<Record<string, unknown>> {
    return this.asks.ask(this.session, request, this.send, (this.asking ??= new AbortController()).signal);
  }

  notify(n: { method: string; params?: Record<string, unknown> }): void {
    if (n.method === "notifications/message" && !passesLogLevel(String(n.params?.level), this.session.logLevel)) return;
    this.send(JSON.stringify({ jsonrpc: "2.0", method: n.method, ...(n.params ? { params: n.params } : {}) }));
  }

  end(): void {
    this.asking?.abort();
  }

  async setLogLevel(level: string): Promise<void> {
    this.session.logLevel = level;
    await this.store.save(this.session);
  }

  subscribe(server: string, uri: string): void {
    this.subscriptions.add(this.session.id, server, uri);
  }

  unsubscribe(server: string, uri: string): void {
    this.subscriptions.remove(this.session.id, server, uri);
  }
}
