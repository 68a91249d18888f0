import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Client } from "@modelcontextprotocol/client";
import type { UpstreamStatus } from "@mcphub/contracts";
import { alive, connect, startHub, text, waitUntil, type TestHub } from "./helpers/hub.ts";
import { upstream } from "./helpers/servers.ts";

async function health(t: TestHub): Promise<Record<string, UpstreamStatus>> {
  const body = (await (await fetch(`${t.base}/api/health`)).json()) as { servers: UpstreamStatus[] };
  return Object.fromEntries(body.servers.map((s) => [s.name, s]));
}

/** The value of one labelled series in the Prometheus text at /metrics (undefined when absent). */
async function metric(t: TestHub, name: string, server: string): Promise<number | undefined> {
  const body = await (await fetch(`${t.base}/metrics`)).text();
  const line = body.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(`server="${server}"`));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
}

/** Calls a tool and returns the JSON-RPC error it failed with, and how long that took. */
async function failedCall(c: Client, name: string, args: Record<string, unknown> = {}): Promise<{ message: string; code: number; ms: number }> {
  const started = Date.now();
  try {
    await c.callTool({ name, arguments: args });
  } catch (err) {
    return { message: (err as Error).message, code: (err as { code: number }).code, ms: Date.now() - started };
  }
  throw new Error(`${name} succeeded but was expected to fail`);
}

describe("a crashed stdio server", () => {
  let t: TestHub;
  let c: Client;

  beforeAll(async () => {
    t = await startHub(
      { mcpServers: { crashy: upstream.probe(), steady: upstream.probe(["--name", "steady"]) } },
      // The first retry waits two seconds so the test can look at the outage; a call
      // during the outage must not wait for REQUEST_TIMEOUT (30 s here).
      { minBackoffMs: 2000, maxBackoffMs: 4000, env: { REQUEST_TIMEOUT: "30000" } },
    );
    c = await connect(`${t.base}/mcp`);
  });
  afterAll(async () => {
    await c?.close();
    await t?.close();
  });

  it("is shown restarting, fails calls fast during the outage, and comes back with a new process", async () => {
    const before = (await health(t)).crashy!;
    expect(before.state).toBe("ready");
    const oldPid = before.pid!;
    expect(Number(text(await c.callTool({ name: "crashy-pid", arguments: {} })))).toBe(oldPid);
    expect(await metric(t, "mcphub_upstream_up", "crashy")).toBe(1);

    process.kill(oldPid, "SIGKILL");
    await waitUntil(async () => (await health(t)).crashy!.state !== "ready", 5000, "crashy to leave ready");
    const down = (await health(t)).crashy!;
    expect(down.state).toBe("restarting");
    expect(down.lastError).toMatch(/process exited/);
    expect(await metric(t, "mcphub_upstream_up", "crashy")).toBe(0);

    // A call during the outage is answered at once with an error naming the server and its state.
    const err = await failedCall(c, "crashy-pid");
    expect(err.message).toMatch(/server "crashy" is restarting/);
    expect(err.code).toBe(-32001);
    expect(err.ms).toBeLessThan(5000);

    // The other server does not notice.
    expect(text(await c.callTool({ name: "steady-sleep", arguments: { ms: 1 } }))).toBe("slept 1");
    expect((await health(t)).steady!.state).toBe("ready");

    await waitUntil(async () => (await health(t)).crashy!.state === "ready", 20_000, "crashy to come back");
    const after = (await health(t)).crashy!;
    expect(after.pid).toBeDefined();
    expect(after.pid).not.toBe(oldPid);
    expect(alive(oldPid)).toBe(false);
    expect(after.lastError).toBeUndefined();
    expect(after.restarts).toBeGreaterThanOrEqual(1);
    // The tool list comes back with the server, and calls reach the new process.
    await waitUntil(async () => (await c.listTools()).tools.some((x) => x.name === "crashy-pid"), 5000, "crashy tools listed again");
    expect(Number(text(await c.callTool({ name: "crashy-pid", arguments: {} })))).toBe(after.pid);

    expect(await metric(t, "mcphub_upstream_restarts_total", "crashy")).toBeGreaterThanOrEqual(1);
    expect(await metric(t, "mcphub_upstream_up", "crashy")).toBe(1);
    expect(await metric(t, "mcphub_upstream_up", "steady")).toBe(1);
    expect(await metric(t, "mcphub_upstream_restarts_total", "steady")).toBeUndefined();
  });
});

describe("a server that keeps failing to start, and request timeouts", () => {
  let t: TestHub;
  let c: Client;
  const exitNow = { type: "stdio", command: process.execPath, args: ["-e", "process.exit(1)"] };
  const noisy = {
    type: "stdio",
    command: process.execPath,
    args: ["-e", "console.error('starting'); process.stderr.write('fatal: NOISY_TOKEN is not set'); process.exit(3)"],
  };

  beforeAll(async () => {
    t = await startHub(
      {
        mcpServers: {
          exits: exitNow,
          noisy,
          quick: upstream.probe(["--name", "quick"], { options: { timeout: 300 } }),
          plain: upstream.probe(["--name", "plain"]),
        },
      },
      { minBackoffMs: 100, maxBackoffMs: 800, env: { REQUEST_TIMEOUT: "1000" }, waitFor: ["quick", "plain"] },
    );
    c = await connect(`${t.base}/mcp`);
  });
  afterAll(async () => {
    await c?.close();
    await t?.close();
  });

  it("retries with exponential backoff capped at maxBackoffMs, visible in status and metrics", async () => {
    const samples: UpstreamStatus[] = [];
    await waitUntil(
      async () => {
        const s = (await health(t)).exits!;
        samples.push(s);
        return s.restarts >= 6;
      },
      20_000,
      "six restarts of exits",
    );
    const failed = samples.filter((s) => s.state === "failed");
    expect(failed.length).toBeGreaterThan(0);
    expect(failed.every((s) => typeof s.retryInMs === "number" && s.retryInMs <= 800)).toBe(true);
    expect(failed.every((s) => typeof s.lastError === "string" && s.lastError.length > 0)).toBe(true);
    // The wait grows: after a few failures the status shows waits no first retry could have.
    expect(Math.max(...failed.filter((s) => s.restarts >= 3).map((s) => s.retryInMs!))).toBeGreaterThan(400);

    // Exactly: min * 2^n, capped. The log carries each scheduled wait.
    const waits = t.logs.filter((l) => l.server === "exits" && typeof l.retryInMs === "number").map((l) => l.retryInMs);
    expect(waits.slice(0, 6)).toEqual([100, 200, 400, 800, 800, 800]);

    const restarts = await metric(t, "mcphub_upstream_restarts_total", "exits");
    expect(restarts).toBeGreaterThanOrEqual(6);
    await waitUntil(async () => (await metric(t, "mcphub_upstream_restarts_total", "exits"))! > restarts!, 5000, "restarts counter to grow");
    expect(await metric(t, "mcphub_upstream_up", "exits")).toBe(0);
  });

  it("keeps the tail of the server's stderr in lastError", async () => {
    await waitUntil(async () => /NOISY_TOKEN is not set/.test((await health(t)).noisy!.lastError ?? ""), 10_000, "noisy's stderr in lastError");
    const s = (await health(t)).noisy!;
    expect(s.lastError).toContain("starting");
    expect(s.lastError).toContain("fatal: NOISY_TOKEN is not set");
  });

  it("fails a call to the failing server at once, naming it and its state", async () => {
    const err = await failedCall(c, "exits-anything");
    expect(err.message).toMatch(/server "exits" (failed to start|is restarting)/);
    expect(err.ms).toBeLessThan(5000);
  });

  it("ends a call after the server's options.timeout with a clear error, and keeps serving", async () => {
    const err = await failedCall(c, "quick-sleep", { ms: 5000, tag: "too-slow" });
    expect(err.message).toContain('server "quick" did not answer tools/call within 300 ms');
    expect(err.ms).toBeLessThan(4000);
    // The upstream was told to stop working on it.
    await waitUntil(async () => JSON.parse(text(await c.callTool({ name: "quick-cancelled", arguments: {} }))).includes("too-slow"), 5000, "quick to record the cancellation");
    expect(text(await c.callTool({ name: "quick-sleep", arguments: { ms: 10 } }))).toBe("slept 10");
    expect((await health(t)).quick!.state).toBe("ready");
  });

  it("applies REQUEST_TIMEOUT to a server without options.timeout", async () => {
    const err = await failedCall(c, "plain-sleep", { ms: 8000 });
    expect(err.message).toContain('server "plain" did not answer tools/call within 1000 ms');
    expect(err.ms).toBeLessThan(6000);
    // Below the timeout a call still succeeds, on this server and the others.
    expect(text(await c.callTool({ name: "plain-sleep", arguments: { ms: 200 } }))).toBe("slept 200");
    expect(text(await c.callTool({ name: "quick-sleep", arguments: { ms: 1 } }))).toBe("slept 1");
  });
});

describe("a server that dies soon after each start", () => {
  let t: TestHub;

  beforeAll(async () => {
    t = await startHub({ mcpServers: { flaky: upstream.probe(["--name", "flaky", "--exit-after", "300"]) } }, { minBackoffMs: 100, maxBackoffMs: 800, waitFor: [] });
  });
  afterAll(() => t?.close());

  it("is not restarted at the shortest wait forever: the backoff keeps growing until a connection stays up", async () => {
    const waits = () => t.logs.filter((l) => l.server === "flaky" && typeof l.retryInMs === "number").map((l) => l.retryInMs);
    await waitUntil(() => waits().length >= 4, 20_000, "four restarts of flaky");
    expect(waits().slice(0, 4)).toEqual([100, 200, 400, 800]);
    expect(t.logs.some((l) => l.server === "flaky" && l.msg === "upstream lost")).toBe(true);
  });
});

describe("INIT_TIMEOUT", () => {
  let t: TestHub;

  beforeAll(async () => {
    t = await startHub(
      { mcpServers: { hangs: upstream.probe(["--hang-on-init"]), everything: upstream.everything() } },
      { env: { INIT_TIMEOUT: "1500" }, minBackoffMs: 5000, maxBackoffMs: 5000, waitFor: ["everything"] },
    );
  });
  afterAll(() => t?.close());

  it("gives up on a server that never answers initialize; the rest keeps working", async () => {
    await waitUntil(async () => (await health(t)).hangs!.state === "failed", 15_000, "hangs to fail");
    const s = (await health(t)).hangs!;
    expect(s.lastError).toMatch(/initialize/);
    expect(s.lastError).toMatch(/1500 ms/);

    const c = await connect(`${t.base}/mcp`);
    expect(text(await c.callTool({ name: "everything-echo", arguments: { message: "still here" } }))).toBe("Echo: still here");
    const names = (await c.listTools()).tools.map((x) => x.name);
    expect(names.some((n) => n.startsWith("hangs-"))).toBe(false);
    const err = await failedCall(c, "hangs-sleep", { ms: 1 });
    expect(err.message).toMatch(/server "hangs" (failed to start|is restarting).*initialize/);
    await c.close();
    const ready = await fetch(`${t.base}/api/health/ready`);
    expect(ready.status).toBe(503);
  });
});
