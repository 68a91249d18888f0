import Fastify from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger, currentRequestId, serviceFastifyOptions, withRequestIdHeader } from "../src/index.ts";

/** One request id per request: taken from X-Request-Id or made, on every log line the request causes. */
const lines: Record<string, unknown>[] = [];
const logger = createLogger({ level: "info", service: "test", stream: { write: (l: string) => void lines.push(JSON.parse(l)) } });
const app = Fastify(serviceFastifyOptions(logger));
app.post("/work", async (req) => {
  const { tag, waitMs } = req.body as { tag: string; waitMs: number };
  // Work that outlives a tick, as a call to another service does.
  await new Promise((r) => setTimeout(r, waitMs));
  logger.info({ tag }, "working");
  return { id: req.id, current: currentRequestId(), outgoing: withRequestIdHeader({ authorization: "x" }) };
});

let base = "";
beforeAll(async () => {
  await app.listen({ host: "127.0.0.1", port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});
afterAll(() => app.close());

async function post(headers: Record<string, string>, body: unknown): Promise<any> {
  const res = await fetch(`${base}/work`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });
  return res.json();
}

describe("request ids", () => {
  it("keeps the X-Request-Id a client sent, on the request and on the log lines and calls it causes", async () => {
    expect(await post({ "x-request-id": "client-id-1" }, { tag: "a", waitMs: 5 })).toEqual({ id: "client-id-1", current: "client-id-1", outgoing: { authorization: "x", "x-request-id": "client-id-1" } });
    expect(lines.find((l) => l.tag === "a")).toMatchObject({ requestId: "client-id-1", msg: "working" });
  });

  it("makes an id when none or an unacceptable one is sent", async () => {
    for (const header of [undefined, "has spaces", "x".repeat(200), "a/b"]) {
      const answer = await post(header === undefined ? {} : { "x-request-id": header }, { tag: "b", waitMs: 0 });
      expect(answer.id).toMatch(/^[0-9a-f]{32}$/);
      expect(answer.current).toBe(answer.id);
    }
  });

  it("does not mix the ids of concurrent requests", async () => {
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => post({ "x-request-id": `c-${i}` }, { tag: `c-${i}`, waitMs: (i * 7) % 13 })));
    for (const [i, answer] of answers.entries()) expect(answer.current).toBe(`c-${i}`);
    for (let i = 0; i < 40; i++) expect(lines.find((l) => l.tag === `c-${i}`)?.requestId).toBe(`c-${i}`);
  });

  it("names requests made with app.inject (no server) the same way, and no request outside one", async () => {
    const res = await app.inject({ method: "POST", url: "/work", headers: { "x-request-id": "injected-1" }, payload: { tag: "i", waitMs: 0 } });
    expect(res.json().id).toBe("injected-1");
    logger.info({ tag: "outside" }, "no request");
    expect(lines.find((l) => l.tag === "outside")).not.toHaveProperty("requestId");
    expect(currentRequestId()).toBeUndefined();
    expect(withRequestIdHeader({ a: "1" })).toEqual({ a: "1" });
  });
});
