import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startPrivatePostgres, type PrivatePostgres } from "../../../test/helpers/private-postgres.ts";
import { startHub, text, waitUntil, type TestHub } from "./helpers/hub.ts";
import { rest, signIn } from "./helpers/rest.ts";
import { upstream } from "./helpers/servers.ts";

/**
 * The all-in-one hub on a Postgres of the test's own, which is stopped under tool calls: the
 * calls are still answered (the key is cached), their audit events wait (journaled, retried)
 * and are stored once the database is back, without a restart of the hub; then the journal is
 * emptied again.
 */
const ADMIN_PASSWORD = "audit-outage-admin-password";
let pg: PrivatePostgres;
let t: TestHub;
let sql: ReturnType<typeof postgres>;

beforeAll(async () => {
  pg = await startPrivatePostgres();
  sql = postgres(pg.url, { max: 1, onnotice: () => {} });
  t = await startHub({ mcpServers: { everything: upstream.everything() }, systemConfig: { audit: { logArguments: true } } }, { database: pg.url, adminPassword: ADMIN_PASSWORD });
}, 90_000);
afterAll(async () => {
  await t?.close();
  await sql?.end({ timeout: 1 }).catch(() => {});
  await pg?.destroy();
});

async function storedMessages(): Promise<Map<string, number>> {
  const rows = await sql<{ message: string; n: number }[]>`
    select details->'arguments'->>'message' as message, count(*)::int as n from audit_logs
    where action = 'tool.call' and details->'arguments'->>'message' is not null group by 1`;
  return new Map(rows.map((r) => [r.message, r.n]));
}

describe("the hub's database stopped under tool calls", () => {
  it("stores every answered call's audit row once the database is back, and empties its journal", async () => {
    const admin = (await signIn(t.base, "admin", ADMIN_PASSWORD))!;
    const { key } = (await rest(t.base, "POST", "/api/keys", { token: admin, body: { name: "caller", accessType: "all" } })).body;
    const client = new Client({ name: "audit-outage", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${t.base}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
    const answered: string[] = [];
    const call = async (message: string) => {
      const result = await client.callTool({ name: "everything-echo", arguments: { message } });
      if (text(result).includes(message)) answered.push(message);
    };
    for (let i = 0; i < 20; i++) await call(`before-${i}`);
    await pg.stop("immediate");
    for (let i = 0; i < 20; i++) await call(`during-${i}`);
    // The batches of the outage failed: their events are in the journal.
    const journal = join(t.dir, "data", "audit.journal");
    await waitUntil(async () => (await readFile(journal, "utf8")).includes("during-19"), 5000, "the outage's events in the journal");
    await pg.start();
    await waitUntil(async () => {
      const stored = await storedMessages().catch(() => new Map<string, number>());
      return answered.every((m) => stored.has(m));
    }, 40_000, "every answered call's row after the database came back");
    const stored = await storedMessages();
    expect(answered.filter((m) => stored.get(m) !== 1)).toEqual([]);
    expect(answered.length).toBe(40);
    await waitUntil(async () => (await readFile(journal, "utf8")) === "", 5000, "the journal emptied once everything is stored");
    await client.close();
  }, 120_000);
});
