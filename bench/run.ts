// `pnpm bench`: server-everything's echo, called straight over stdio (the floor) and through the
// hub over Streamable HTTP, side by side in one run. Targets are printed, never asserted: the
// machine is shared and noisy, so a missed target must not fail a pipeline.
import { cpus } from "node:os";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  alive,
  freePort,
  rssKb,
  run,
  settledRss,
  startEchoServer,
  startHubProcess,
  waitDatabase,
  waitReady,
  type EchoServer,
  type HubProcess,
} from "./lib/hub-process.ts";
import { measureAll, type BenchConfig, type PathResult } from "./lib/measure.ts";
import { rawHttp, rawStdio, sdkHttp, sdkStdio } from "./lib/paths.ts";
import { mb, ms, rate, table } from "./lib/stats.ts";

const TARGET_ADDED_P50_MS = 0.5;
const TARGET_CALLS_PER_SEC = 1000;
const TARGET_IDLE_RSS_KB = 100 * 1024;

const quick = process.env.BENCH_QUICK === "1";
const cfg: BenchConfig = quick
  ? { warmup: 100, sequential: 500, lists: 50, concurrency: 16, durationMs: 2000, rounds: 4 }
  : { warmup: 300, sequential: 2000, lists: 200, concurrency: 16, durationMs: 5000, rounds: 10 };
// BENCH_HUB_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" profiles the hub process.
const hubNodeArgs = (process.env.BENCH_HUB_NODE_ARGS ?? "").split(" ").filter(Boolean);

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(join(root, "package.json"));
const everythingJs = join(dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")), "dist/index.js");

const log = (msg: string) => process.stderr.write(`${msg}\n`);
const hubs: HubProcess[] = [];
const echoServers: EchoServer[] = [];
const leftovers: number[] = [];

// The SDK's Streamable HTTP client hands undici's fetch its transport-wide AbortSignal on every
// POST; undici drops each abort listener only when the request is collected, so a fast loop
// passes its limit of 1500 between two GCs and Node prints a warning per call. That is the
// client's, not the hub's: count it once instead of drowning the report.
let abortListenerWarnings = 0;
process.removeAllListeners("warning");
process.on("warning", (w) => {
  if (w.name === "MaxListenersExceededWarning" && w.message.includes("abort listeners added to [AbortSignal]")) abortListenerWarnings++;
  else log(`(warning) ${w.name}: ${w.message}`);
});

for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
  process.once(signal, () => {
    void Promise.all([...hubs.map((h) => h.stop()), ...echoServers.map((e) => e.stop())]).finally(() => process.exit(130));
  });
}
// Last resort when the bench dies some other way (an uncaught error, a closed pipe): nothing it
// started may outlive it. SIGTERM lets the hub end its own upstreams.
process.on("exit", () => {
  for (const pid of [...hubs.map((h) => h.pid), ...echoServers.map((e) => e.pid)]) if (alive(pid)) process.kill(pid, "SIGTERM");
});
// `pnpm bench | head` closes our pipes early; that must not kill the bench before it stops the hub.
process.stdout.on("error", () => {});
process.stderr.on("error", () => {});

async function stopHub(hub: HubProcess): Promise<void> {
  const { leftovers: left } = await hub.stop();
  leftovers.push(...left);
  hubs.splice(hubs.indexOf(hub), 1);
}

/** The hub's last output lines, without stack frames, for a one-glance cause. */
function lastWords(hub: HubProcess): string {
  return hub
    .output()
    .split("\n")
    .filter((l) => !/^\s+at /.test(l))
    .slice(-6)
    .map((l) => `    ${l.length > 240 ? `${l.slice(0, 240)}…` : l}`)
    .join("\n");
}

interface StartedHub {
  hub: HubProcess;
  /** server-everything as the hub spawned it. */
  upstreamPid?: number;
  database: "pglite" | "none";
  idleRss?: number;
  notes: string[];
}

/**
 * Starts the hub as `pnpm start` runs it (settings database in PGlite under DATA_DIR). If that
 * hub dies, starts it again without a database, the way it runs when its Postgres is
 * unreachable, so the MCP path can still be measured; the output says so.
 */
async function startMeasuredHub(): Promise<StartedHub> {
  const notes: string[] = [];
  const hub = await startHubProcess({ root, everythingJs, nodeArgs: hubNodeArgs });
  hubs.push(hub);
  try {
    const upstream = await waitReady(hub, "everything", 60_000);
    const attached = await waitDatabase(hub, 60_000);
    if (!attached) notes.push("the settings database (PGlite) did not attach within 60 s; measured the hub as it was");
    return { hub, upstreamPid: upstream.pid, database: attached ? "pglite" : "none", idleRss: await settledRss(hub.pid), notes };
  } catch (err) {
    notes.push(`the hub as \`pnpm start\` runs it (PGlite under DATA_DIR) failed: ${(err as Error).message}`, `  its last output:\n${lastWords(hub)}`);
    await stopHub(hub);
  }
  const fallback = await startFileOnlyHub();
  notes.push("  measured instead: the same build with DATABASE_URL pointing at a closed port (the hub logs it and runs from the settings file alone)");
  return { ...fallback, notes };
}

async function startFileOnlyHub(): Promise<StartedHub> {
  const closedPort = await freePort();
  const hub = await startHubProcess({ root, everythingJs, nodeArgs: hubNodeArgs, env: { DATABASE_URL: `postgres://bench@127.0.0.1:${closedPort}/none` } });
  hubs.push(hub);
  const upstream = await waitReady(hub, "everything", 60_000);
  return { hub, upstreamPid: upstream.pid, database: "none", idleRss: await settledRss(hub.pid), notes: [] };
}

const LABEL = {
  sdkFloor: "floor: SDK client → stdio",
  rawFloor: "floor: raw JSON-RPC → stdio",
  sdkRef: "reference: SDK client → trivial HTTP server",
  rawRef: "reference: raw HTTP → trivial HTTP server",
  sdkGlobal: "hub: SDK client → /mcp",
  sdkServer: "hub: SDK client → /mcp/everything",
  rawGlobal: "hub: raw keep-alive HTTP → /mcp",
  rawServer: "hub: raw keep-alive HTTP → /mcp/everything",
} as const;

interface RssReport {
  afterLoad?: number;
  afterLoadSettled?: number;
  peak: number;
  fileOnlyIdle?: number;
}

async function main(): Promise<void> {
  const started = Date.now();
  log(`mcphub bench${quick ? " (BENCH_QUICK)" : ""}: building the hub…`);
  await run("pnpm", ["--filter", "@mcphub/hub", "build"], root);

  log("starting the hub (node apps/hub/dist/server.js)…");
  const measured = await startMeasuredHub();
  const { hub } = measured;
  log(`  hub pid ${hub.pid} at ${hub.base}, idle RSS ${mb(measured.idleRss)}`);
  const echo = await startEchoServer(root);
  echoServers.push(echo);

  const floorPaths = [sdkStdio(everythingJs), rawStdio(everythingJs)];
  const refPaths = [
    sdkHttp(LABEL.sdkRef, `${echo.base}/mcp`, "echo", "reference"),
    rawHttp(LABEL.rawRef, `${echo.base}/mcp`, "echo", "reference"),
  ];
  const hubPaths = [
    sdkHttp(LABEL.sdkGlobal, `${hub.base}/mcp`, "everything-echo"),
    sdkHttp(LABEL.sdkServer, `${hub.base}/mcp/everything`, "echo"),
    rawHttp(LABEL.rawGlobal, `${hub.base}/mcp`, "everything-echo"),
    rawHttp(LABEL.rawServer, `${hub.base}/mcp/everything`, "echo"),
  ];
  let peak = rssKb(hub.pid) ?? 0;
  const sampler = setInterval(() => (peak = Math.max(peak, rssKb(hub.pid) ?? 0)), 100);
  const results = await measureAll(
    [
      ...floorPaths.map((path) => ({ path })),
      ...refPaths.map((path) => ({ path, subjects: { upstream: echo.pid } })),
      ...hubPaths.map((path) => ({ path, subjects: { hub: hub.pid, upstream: measured.upstreamPid } })),
    ],
    cfg,
    log,
  );
  clearInterval(sampler);
  await echo.stop();
  echoServers.length = 0;
  const rss: RssReport = { peak, afterLoad: rssKb(hub.pid), afterLoadSettled: await settledRss(hub.pid, 5000) };
  await stopHub(hub);

  // With a database in the measured hub, also show what the hub itself costs without it.
  if (measured.database === "pglite") {
    log("starting a second hub without a settings database, for its idle RSS…");
    const bare = await startFileOnlyHub();
    rss.fileOnlyIdle = bare.idleRss;
    await stopHub(bare.hub);
  }

  process.stdout.write(`${report(results, measured, rss, Date.now() - started).join("\n")}\n`);
}

function report(results: PathResult[], measured: StartedHub, rss: RssReport, elapsedMs: number): string[] {
  const out: string[] = [];
  const cores = cpus();
  const get = (label: string) => results.find((r) => r.label === label)!;
  const added = (a: string, b: string) => get(a).seq.p50 - get(b).seq.p50;
  const signed = (v: number) => `${v >= 0 ? "+" : "−"}${Math.abs(v).toFixed(3)} ms`;
  const us = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? "—" : `${Math.round(v)} µs`);
  const verdict = (ok: boolean) => (ok ? "met" : "NOT met");

  out.push("");
  out.push(`mcphub bench — server-everything echo — ${cores.length} × ${cores[0]?.model.trim() ?? "cpu"}, Node ${process.version}${quick ? " — BENCH_QUICK" : ""}`);
  out.push(
    `per path: warm-up ${cfg.warmup} calls + an untimed throughput round; sequential ${cfg.sequential} calls, tools/list ${cfg.lists} calls, throughput ${cfg.concurrency} callers × ${cfg.durationMs / 1000} s;`,
  );
  out.push(`each cut into ${cfg.rounds} rounds that visit the paths in turn (a neighbour's load burst hits every path alike)`);
  out.push("");
  out.push(
    table(
      ["path", "seq p50", "seq p99", `calls/s (${cfg.concurrency})`, "tools/list p50"],
      results.map((r) => [`${r.label}${r.concurrency === "inflight" ? " *" : ""}`, ms(r.seq.p50), ms(r.seq.p99), rate(r.callsPerSec), ms(r.list.p50)]),
    ),
  );
  out.push(`* one stdio client with ${cfg.concurrency} calls in flight (a stdio server serves one client; ${cfg.concurrency} SDK clients over one stdio process cannot exist)`);
  out.push(`  HTTP paths: ${cfg.concurrency} sessions, each calling in a loop. Protocol: ${[...new Set(results.map((r) => r.protocol))].join(", ")}`);
  out.push("  reference: a 40-line node:http server answering echo with canned JSON (bench/lib/echo-http-server.ts), no hub, no upstream");
  if (abortListenerWarnings) out.push(`  (the SDK HTTP client raised ${abortListenerWarnings} MaxListenersExceededWarning on its AbortSignal under load; client-side, not the hub's)`);
  for (const r of results.filter((x) => x.errors)) out.push(`! ${r.label}: ${r.errors} failed calls during the throughput run, first: ${r.firstError}`);

  out.push("");
  out.push(`CPU time per call during the ${cfg.concurrency}-way run (${cores.length} cores; the client runs in the bench process; server = server-everything or the trivial server):`);
  out.push(
    table(
      ["path", "client", "hub", "server", "all", "calls/s bound by CPU"],
      results.map((r) => {
        const all = r.cpuPerCall.client + (r.cpuPerCall.hub ?? 0) + (r.cpuPerCall.upstream ?? 0);
        return [r.label, us(r.cpuPerCall.client), us(r.cpuPerCall.hub), us(r.cpuPerCall.upstream), us(all), rate((cores.length * 1e6) / all)];
      }),
    ),
  );

  out.push("");
  out.push("added p50 over the floor:");
  out.push(`  SDK client, hub /mcp            vs SDK client over stdio: ${signed(added(LABEL.sdkGlobal, LABEL.sdkFloor))}`);
  out.push(`  SDK client, hub /mcp/everything vs SDK client over stdio: ${signed(added(LABEL.sdkServer, LABEL.sdkFloor))}`);
  out.push(`  raw HTTP,   hub /mcp            vs raw stdio:             ${signed(added(LABEL.rawGlobal, LABEL.rawFloor))}   (the hub's own cost)`);
  out.push(`  raw HTTP,   hub /mcp/everything vs raw stdio:             ${signed(added(LABEL.rawServer, LABEL.rawFloor))}`);
  out.push(`  SDK client, trivial HTTP server vs SDK client over stdio: ${signed(added(LABEL.sdkRef, LABEL.sdkFloor))}   (HTTP + the SDK's HTTP transport alone, no hub)`);
  out.push(`  raw HTTP,   trivial HTTP server vs raw stdio:             ${signed(added(LABEL.rawRef, LABEL.rawFloor))}`);

  out.push("");
  const db = measured.database === "pglite" ? "with its PGlite settings database, as `pnpm start`" : "without a settings database";
  out.push(`hub RSS (hub process only, not its children; ${db}):`);
  out.push(`  idle after start:                ${mb(measured.idleRss)}   (once stable for 1 s, at most 8 s after ready)`);
  out.push(`  peak during load:                ${mb(rss.peak)}`);
  out.push(`  right after load:                ${mb(rss.afterLoad)}`);
  out.push(`  after load, settled:             ${mb(rss.afterLoadSettled)}`);
  if (rss.fileOnlyIdle !== undefined) out.push(`  idle, second hub without any DB: ${mb(rss.fileOnlyIdle)}`);
  if (measured.database === "pglite") out.push("  (PGlite's first start leaves initdb memory that only a major GC returns, hence idle > after load)");
  for (const n of measured.notes) out.push(`! ${n}`);

  const addedSdk = added(LABEL.sdkGlobal, LABEL.sdkFloor);
  const addedRaw = added(LABEL.rawGlobal, LABEL.rawFloor);
  const sdkRate = get(LABEL.sdkGlobal).callsPerSec;
  const rawRate = get(LABEL.rawGlobal).callsPerSec;
  out.push("");
  out.push("targets (printed, not asserted; samanhappy/mcphub measured here: +4.8 ms p50, 315 calls/s):");
  out.push(`  added p50 ≤ ${TARGET_ADDED_P50_MS} ms, SDK client (/mcp vs stdio):    ${signed(addedSdk)} — ${verdict(addedSdk <= TARGET_ADDED_P50_MS)}`);
  out.push(`  added p50 ≤ ${TARGET_ADDED_P50_MS} ms, raw client (hub's own cost):   ${signed(addedRaw)} — ${verdict(addedRaw <= TARGET_ADDED_P50_MS)}`);
  out.push(`  ≥ ${rate(TARGET_CALLS_PER_SEC)} calls/s, ${cfg.concurrency} sessions, SDK client (/mcp): ${rate(sdkRate)} — ${verdict(sdkRate >= TARGET_CALLS_PER_SEC)}`);
  out.push(`  ≥ ${rate(TARGET_CALLS_PER_SEC)} calls/s, ${cfg.concurrency} sessions, raw client (/mcp): ${rate(rawRate)} — ${verdict(rawRate >= TARGET_CALLS_PER_SEC)}`);
  const idle = measured.idleRss ?? Number.POSITIVE_INFINITY;
  out.push(`  hub RSS idle ≤ 100 MB (${measured.database === "pglite" ? "with PGlite, as pnpm start" : "no settings DB"}): ${mb(measured.idleRss)} — ${verdict(idle <= TARGET_IDLE_RSS_KB)}`);
  if (rss.fileOnlyIdle !== undefined) out.push(`  hub RSS idle ≤ 100 MB (no settings DB):       ${mb(rss.fileOnlyIdle)} — ${verdict(rss.fileOnlyIdle <= TARGET_IDLE_RSS_KB)}`);

  out.push("");
  out.push(leftovers.length ? `! processes left behind by the hub (killed now): ${leftovers.join(", ")}` : "hub stopped with SIGTERM; no process left behind");
  out.push(`total ${(elapsedMs / 1000).toFixed(1)} s`);
  return out;
}

main().then(
  () => process.exit(0),
  async (err) => {
    log(`bench failed: ${(err as Error).stack ?? err}`);
    for (const h of [...hubs]) {
      log(`hub ${h.pid} output:\n${lastWords(h)}`);
      await stopHub(h).catch(() => {});
    }
    await Promise.all(echoServers.map((e) => e.stop()));
    process.exit(1);
  },
);
