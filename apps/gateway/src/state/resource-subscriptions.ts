/**
 * Which sessions subscribed to which upstream resource, on this replica. The supervisor
 * subscribes upstream and publishes every `notifications/resources/updated` on the bus;
 * each replica tells the sessions it recorded (their streams may be on another replica:
 * `deliver` relays).
 *
 * Unsubscribing is not forwarded upstream: the upstream connection is shared, and another
 * session (here or on another replica) may still want the resource. Updates nobody wants
 * are dropped here.
 */
export class ResourceSubscriptions {
  private readonly byResource = new Map<string, Set<string>>();

  constructor(private readonly deliver: (sessionId: string, json: string) => void) {}

  add(sessionId: string, server: string, uri: string): void {
    const key = keyOf(server, uri);
    let sessions = this.byResource.get(key);
    if (!sessions) this.byResource.set(key, (sessions = new Set()));
    sessions.add(sessionId);
  }

  remove(sessionId: string, server: string, uri: string): void {
    const key = keyOf(server, uri);
    const sessions = this.byResource.get(key);
    sessions?.delete(sessionId);
    if (sessions?.size === 0) this.byResource.delete(key);
  }

  dropSession(sessionId: string): void {
    for (const [key, sessions] of this.byResource) {
      sessions.delete(sessionId);
      if (sessions.size === 0) this.byResource.delete(key);
    }
  }

  updated(server: string, uri: string): void {
    const sessions = this.byResource.get(keyOf(server, uri));
    if (!sessions) return;
    const json = JSON.stringify({ jsonrpc: "2.0", method: "notifications/resources/updated", params: { uri } });
    for (const id of sessions) this.deliver(id, json);
  }
}

const keyOf = (server: string, uri: string) => `${server}\n${uri}`;
