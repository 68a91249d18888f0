// `pnpm bench`: server-everything's echo, called straight over stdio (the floor), through the
// all-in-one hub and through the distributed cluster (nginx → gateway replicas → supervisor) over
// Streamable HTTP, side by side in one run; then smart routing's retrieval quality (BM25F, the
// semantic signal and the hybrid on MetaTool and catalog-tasks) and its latency at 10,000 tools. Targets are printed, never asserted: the machine is
// shared and noisy, so a missed target must not fail a pipeline.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { cpus } from "node:os";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  alive,
  createApiKey,
  rssKb,
  run,
  settledRss,
  startEchoServer,
  startHubProcess,
  waitReady,
  type EchoServer,
  type HubProcess,
} from "./lib/hub-process.ts";
import { launchCluster, type ClusterProcess, type ClusterStopReport, type ClusterTopology } from "./lib/cluster-process.ts";
import { CPU_ROLES, measureAll, type BenchConfig, type CpuRole, type PathResult } from "./lib/measure.ts";
import { rawHttp, rawStdio, sdkHttp, sdkStdio, type HttpHeaders } from "./lib/paths.ts";
import { mb, ms, rate, table } from "./lib/stats.ts";

const TARGET_ADDED_P50_MS = 0.5;
const TARGET_CALLS_PER_SEC = 1000;
const TARGET_IDLE_RSS_KB = 100 * 1024;
/** What the distributed path may add over all-in-one: two more HTTP hops (nginx, gateway → supervisor). */
const TARGET_CLUSTER_ADDED_P50_MS = 2;
const CLUSTER_GATEWAYS = 2;
// The local Postgres and Redis `pnpm cluster` expects; the cluster gets a database of its own there.
const POSTGRES_SERVER = process.env.BENCH_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432";
const REDIS_URL = process.env.BENCH_REDIS_URL ?? "redis://127.0.0.1:6379";

const quick = process.env.BENCH_QUICK === "1";
const cfg: BenchConfig = quick
  ? { warmup: 100, sequential: 500, lists: 50, concurrency: 16, durationMs: 2000, rounds: 4 }
  : { warmup: 300, sequential: 2000, lists: 200, concurrency: 16, durationMs: 5000, rounds: 10 };
// BENCH_HUB_NODE_ARGS="--cpu-prof --cpu-prof-dir=bench-profiles" profiles the hub process.
const hubNodeArgs = (process.env.BENCH_HUB_NODE_ARGS ?? "").split(" ").filter(Boolean);

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(join(root, "package.json"));
const everythingJs = join(dirname(require.resolve("@modelcontextprotocol/server-everything/package.json")), "dist/index.js");

const log = (msg: string) => process.stderr.write(`${msg}\n`);
// The first admin of the hub and of the cluster, to create the API key every HTTP path sends.
const adminPassword = randomBytes(18).toString("base64url");
const bearer = (key: string): HttpHeaders => ({ authorization: `Bearer ${key}` });
const hubs: HubProcess[] = [];
const echoServers: EchoServer[] = [];
const clusters: ClusterProcess[] = [];
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
    void Promise.all([...hubs.map((h) => h.stop()), ...echoServers.map((e) => e.stop()), ...clusters.map((c) => c.stop())]).finally(() => process.exit(130));
  });
}
// Last resort when the bench dies some other way (an uncaught error, a closed pipe): nothing it
// started may outlive it. SIGTERM lets the hub end its own upstreams; SIGINT is what the cluster
// script stops its services on (its database stays: dropping it cannot be done synchronously).
process.on("exit", () => {
  for (const pid of [...hubs.map((h) => h.pid), ...echoServers.map((e) => e.pid)]) if (alive(pid)) process.kill(pid, "SIGTERM");
  for (const c of clusters) if (alive(c.pid)) process.kill(c.pid, "SIGINT");
});
// `pnpm bench | head` closes our pipes early; that must not kill the bench before it stops the hub.
process.stdout.on("error", () => {});
process.stderr.on("error", () => {});

async function stopHub(hub: HubProcess): Promise<void> {
  const { leftovers: left } = await hub.stop();
  leftovers.push(...left);
  hubs.splice(hubs.indexOf(hub), 1);
}

/** A process's last output lines, without stack frames, for a one-glance cause. */
function lastWords(proc: { output(): string }): string {
  return proc
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
  /** "pglite": as `pnpm start` runs it, credentials checked; "none": SKIP_AUTH=true, which opens no database. */
  database: "pglite" | "none";
  /** The API key's header; none with SKIP_AUTH=true. */
  headers: HttpHeaders;
  idleRss?: number;
  notes: string[];
}

/**
 * Starts the hub as `pnpm start` runs it (PGlite under DATA_DIR, credentials checked on the MCP
 * endpoints) and makes an API key. If that fails, starts it again with SKIP_AUTH=true (no
 * database, no credentials) so the MCP path can still be measured; the output says so.
 */
async function startMeasuredHub(): Promise<StartedHub> {
  const notes: string[] = [];
  const hub = await startHubProcess({ root, everythingJs, nodeArgs: hubNodeArgs, env: { ADMIN_PASSWORD: adminPassword } });
  hubs.push(hub);
  try {
    const upstream = await waitReady(hub, "everything", 60_000);
    // With credentials checked the hub opens its database before it listens, so the key can be made at once.
    const key = await createApiKey(hub.base, adminPassword);
    return { hub, upstreamPid: upstream.pid, database: "pglite", headers: bearer(key), idleRss: await settledRss(hub.pid), notes };
  } catch (err) {
    notes.push(`the hub as \`pnpm start\` runs it (PGlite under DATA_DIR) failed: ${(err as Error).message}`, `  its last output:\n${lastWords(hub)}`);
    await stopHub(hub);
  }
  const fallback = await startOpenHub();
  notes.push("  measured instead: the same build with SKIP_AUTH=true (no credentials checked, no database opened)");
  return { ...fallback, notes };
}

/** The hub with SKIP_AUTH=true: no credentials, and no database until the settings API is used. */
async function startOpenHub(): Promise<StartedHub> {
  const hub = await startHubProcess({ root, everythingJs, nodeArgs: hubNodeArgs, env: { SKIP_AUTH: "true" } });
  hubs.push(hub);
  const upstream = await waitReady(hub, "everything", 60_000);
  return { hub, upstreamPid: upstream.pid, database: "none", headers: {}, idleRss: await settledRss(hub.pid), notes: [] };
}

/** Process RSS (kB) of one cluster service over the run. */
interface ServiceRss {
  id: string;
  idle?: number;
  peak: number;
  afterLoad?: number;
  afterLoadSettled?: number;
}

interface ClusterReport {
  /** Running until stopCluster; undefined when it could not be started or measured. */
  proc?: ClusterProcess;
  topology?: ClusterTopology;
  /** The API key's header, made through nginx on the cluster's auth service. */
  headers: HttpHeaders;
  rss: ServiceRss[];
  stopped?: ClusterStopReport;
  database: string;
  notes: string[];
}

/**
 * Starts the cluster as `pnpm cluster` runs it, on a fresh database. A cluster that cannot
 * start (no nginx, no Postgres or Redis here) leaves the rest of the bench to run; the output says why.
 */
async function startMeasuredCluster(): Promise<ClusterReport> {
  const database = `mcphub_bench_${process.pid}`;
  let cluster: ClusterProcess;
  try {
    cluster = await launchCluster({ root, everythingJs, gateways: CLUSTER_GATEWAYS, postgresUrl: POSTGRES_SERVER, database, redisUrl: REDIS_URL, adminPassword });
  } catch (err) {
    return { rss: [], headers: {}, database, notes: [`the cluster was not started: ${(err as Error).message}`] };
  }
  clusters.push(cluster);
  try {
    const topology = await cluster.ready(90_000, "everything");
    const key = await createApiKey(topology.url, adminPassword);
    const services = [...topology.gateways, topology.supervisor];
    const idle = await Promise.all(services.map((s) => settledRss(s.pid)));
    return { proc: cluster, topology, headers: bearer(key), database, notes: [], rss: services.map((s, i) => ({ id: s.id, idle: idle[i], peak: rssKb(s.pid) ?? 0 })) };
  } catch (err) {
    const notes = [`the cluster was not measured: ${(err as Error).message}`, `  its last output:\n${lastWords(cluster)}`];
    const stopped = await stopCluster(cluster);
    return { rss: [], headers: {}, database, stopped, notes };
  }
}

async function stopCluster(cluster: ClusterProcess): Promise<ClusterStopReport> {
  const report = await cluster.stop();
  clusters.splice(clusters.indexOf(cluster), 1);
  return report;
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
  rawStateless: "hub: raw keep-alive HTTP → /mcp, 2026-07-28 stateless",
  rawOpen: "open hub (SKIP_AUTH): raw keep-alive HTTP → /mcp",
  sdkCluster: "cluster: SDK client → nginx /mcp",
  rawCluster: "cluster: raw keep-alive HTTP → nginx /mcp",
  rawGateway: "cluster: raw keep-alive HTTP → one gateway directly /mcp",
} as const;

interface RssReport {
  afterLoad?: number;
  afterLoadSettled?: number;
  peak: number;
  /** A second hub with SKIP_AUTH=true, which opens no database. */
  openIdle?: number;
}

async function main(): Promise<void> {
  const started = Date.now();
  log(`mcphub bench${quick ? " (BENCH_QUICK)" : ""}: building the hub…`);
  await run("pnpm", ["--filter", "@mcphub/hub", "build"], root);

  log("starting the hub (node apps/hub/dist/server.js)…");
  const measured = await startMeasuredHub();
  const { hub } = measured;
  log(`  hub pid ${hub.pid} at ${hub.base}, idle RSS ${mb(measured.idleRss)}`);
  log(`starting the cluster (infra/scripts/cluster.ts: nginx → ${CLUSTER_GATEWAYS} gateways → supervisor)…`);
  const cluster = await startMeasuredCluster();
  const topo = cluster.topology;
  if (topo) {
    log(`  cluster at ${topo.url}: ${topo.gateways.map((g) => `${g.id} pid ${g.pid}`).join(", ")}, supervisor pid ${topo.supervisor.pid}`);
  } else {
    for (const n of cluster.notes) log(`  ${n}`);
  }
  const echo = await startEchoServer(root);
  echoServers.push(echo);
  // The open path beside the default one, in the same rounds: what credentials and audit cost.
  const open = measured.database === "pglite" ? await startOpenHub() : undefined;

  const floorPaths = [sdkStdio(everythingJs), rawStdio(everythingJs)];
  const refPaths = [
    sdkHttp(LABEL.sdkRef, `${echo.base}/mcp`, "echo", "reference"),
    rawHttp(LABEL.rawRef, `${echo.base}/mcp`, "echo", "reference"),
  ];
  const auth = measured.headers;
  const hubPaths = [
    sdkHttp(LABEL.sdkGlobal, `${hub.base}/mcp`, "everything-echo", "hub", auth),
    sdkHttp(LABEL.sdkServer, `${hub.base}/mcp/everything`, "echo", "hub", auth),
    rawHttp(LABEL.rawGlobal, `${hub.base}/mcp`, "everything-echo", "hub", auth),
    rawHttp(LABEL.rawServer, `${hub.base}/mcp/everything`, "echo", "hub", auth),
    rawHttp(LABEL.rawStateless, `${hub.base}/mcp`, "everything-echo", "hub", auth, "stateless"),
  ];
  const clusterPaths = topo ? clusterPathsOf(topo, cluster.headers) : [];
  const clusterServices = topo ? [...topo.gateways, topo.supervisor] : [];
  let peak = rssKb(hub.pid) ?? 0;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssKb(hub.pid) ?? 0);
    clusterServices.forEach((s, i) => (cluster.rss[i]!.peak = Math.max(cluster.rss[i]!.peak, rssKb(s.pid) ?? 0)));
  }, 100);
  const results = await measureAll(
    [
      ...floorPaths.map((path) => ({ path })),
      ...refPaths.map((path) => ({ path, subjects: { upstream: echo.pid } })),
      ...hubPaths.map((path) => ({ path, subjects: { hub: hub.pid, upstream: measured.upstreamPid } })),
      ...(open ? [{ path: rawHttp(LABEL.rawOpen, `${open.hub.base}/mcp`, "everything-echo", "hub", {}), subjects: { hub: open.hub.pid, upstream: open.upstreamPid } }] : []),
      ...clusterPaths,
    ],
    cfg,
    log,
  );
  clearInterval(sampler);
  await echo.stop();
  echoServers.length = 0;
  const rss: RssReport = { peak, afterLoad: rssKb(hub.pid) };
  clusterServices.forEach((s, i) => (cluster.rss[i]!.afterLoad = rssKb(s.pid)));
  const [hubSettled, ...clusterSettled] = await Promise.all([hub.pid, ...clusterServices.map((s) => s.pid)].map((pid) => settledRss(pid, 5000)));
  rss.afterLoadSettled = hubSettled;
  clusterSettled.forEach((kb, i) => (cluster.rss[i]!.afterLoadSettled = kb));
  if (cluster.proc) {
    log("stopping the cluster (SIGINT)…");
    cluster.stopped = await stopCluster(cluster.proc);
  }
  await stopHub(hub);

  // With a database in the measured hub, also show what the hub itself costs without it.
  if (open) {
    rss.openIdle = open.idleRss;
    await stopHub(open.hub);
  }

  process.stdout.write(`${report(results, measured, rss, cluster, Date.now() - started).join("\n")}\n`);

  // Smart routing's retrieval quality and its cost at 10,000 tools, in a process of its own so
  // its RSS is the router's alone (bench/router/retrieval.ts; BENCH_RETRIEVAL=0 skips it).
  if (process.env.BENCH_RETRIEVAL !== "0") {
    log("tool retrieval (bench/router/retrieval.ts)…");
    process.stdout.write(`\n${await retrievalReport()}\n`);
  }
}

/** bench/router/retrieval.ts's report, or why it failed; its progress goes to our stderr. */
async function retrievalReport(): Promise<string> {
  const child = spawn(process.execPath, ["--import", "tsx", join(root, "bench/router/retrieval.ts")], { cwd: root, stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", resolve);
  });
  return code === 0 ? out.trim() : `! the retrieval bench exited with ${code}\n${out.trim()}`;
}

/**
 * Through nginx (sessions spread round-robin over the replicas) with the SDK client and the raw
 * one, and the raw one straight at one replica, so nginx's share shows.
 */
function clusterPathsOf(topo: ClusterTopology, auth: HttpHeaders) {
  const gateway = topo.gateways[0]!;
  const upstream = topo.upstreamPid;
  const supervisor = topo.supervisor.pid;
  const viaNginx = { nginx: topo.nginxPids, gateway: topo.gateways.map((g) => g.pid), supervisor, upstream };
  return [
    { path: sdkHttp(LABEL.sdkCluster, `${topo.url}/mcp`, "everything-echo", "cluster", auth), subjects: viaNginx },
    { path: rawHttp(LABEL.rawCluster, `${topo.url}/mcp`, "everything-echo", "cluster", auth), subjects: viaNginx },
    { path: rawHttp(LABEL.rawGateway, `${gateway.base}/mcp`, "everything-echo", "cluster", auth), subjects: { gateway: gateway.pid, supervisor, upstream } },
  ];
}

function report(results: PathResult[], measured: StartedHub, rss: RssReport, cluster: ClusterReport, elapsedMs: number): string[] {
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
  const credential = (h: HttpHeaders) => (h.authorization ? "an API key (Authorization: Bearer), checked on every request" : "no credential (SKIP_AUTH=true)");
  out.push(`  hub paths send ${credential(measured.headers)}${cluster.topology ? `; cluster paths send ${credential(cluster.headers)}` : ""}; every tool call is audited`);
  out.push("  reference: a 40-line node:http server answering echo with canned JSON (bench/lib/echo-http-server.ts), no hub, no upstream");
  if (cluster.topology) {
    out.push(
      `  cluster: \`pnpm cluster\` as processes (infra/scripts/cluster.ts): nginx → ${cluster.topology.gateways.length} gateway replicas (round-robin, sessions in Redis) → supervisor over internal HTTP → server-everything over stdio`,
    );
  }
  if (abortListenerWarnings) out.push(`  (the SDK HTTP client raised ${abortListenerWarnings} MaxListenersExceededWarning on its AbortSignal under load; client-side, not the hub's)`);
  for (const r of results.filter((x) => x.errors)) out.push(`! ${r.label}: ${r.errors} failed calls during the throughput run, first: ${r.firstError}`);

  out.push("");
  out.push(`CPU time per call during the ${cfg.concurrency}-way run (${cores.length} cores; the client runs in the bench process; server = server-everything or the trivial server):`);
  // Only the roles some path measured: without a cluster, no empty nginx/gateway/supervisor columns.
  const roles = CPU_ROLES.filter((role) => results.some((r) => r.cpuPerCall[role] !== undefined));
  const roleHeader: Record<CpuRole, string> = { hub: "hub", nginx: "nginx", gateway: "gateway(s)", supervisor: "supervisor", upstream: "server" };
  out.push(
    table(
      ["path", "client", ...roles.map((role) => roleHeader[role]), "all", "calls/s bound by CPU"],
      results.map((r) => {
        const all = r.cpuPerCall.client + roles.reduce((sum, role) => sum + (r.cpuPerCall[role] ?? 0), 0);
        return [r.label, us(r.cpuPerCall.client), ...roles.map((role) => us(r.cpuPerCall[role])), us(all), rate((cores.length * 1e6) / all)];
      }),
    ),
  );
  if (cluster.topology) {
    out.push(`  cluster: nginx = its ${cluster.topology.nginxPids.length} processes (master and workers); gateway(s) = the replicas the path reaches; supervisor = its process, not its children;`);
    out.push("  not counted: the auth service (key checks, cached 5 s by each gateway; the audit consumer), Redis, Postgres. The hub's PGlite runs inside the hub and is counted");
  }

  out.push("");
  out.push("added p50 over the floor:");
  out.push(`  SDK client, hub /mcp            vs SDK client over stdio: ${signed(added(LABEL.sdkGlobal, LABEL.sdkFloor))}`);
  out.push(`  SDK client, hub /mcp/everything vs SDK client over stdio: ${signed(added(LABEL.sdkServer, LABEL.sdkFloor))}`);
  out.push(`  raw HTTP,   hub /mcp            vs raw stdio:             ${signed(added(LABEL.rawGlobal, LABEL.rawFloor))}   (the hub's own cost)`);
  out.push(`  raw HTTP,   hub /mcp/everything vs raw stdio:             ${signed(added(LABEL.rawServer, LABEL.rawFloor))}`);
  out.push(`  raw HTTP,   hub /mcp stateless  vs raw stdio:             ${signed(added(LABEL.rawStateless, LABEL.rawFloor))}   (2026-07-28; vs the session path: ${signed(added(LABEL.rawStateless, LABEL.rawGlobal))})`);
  out.push(`  SDK client, trivial HTTP server vs SDK client over stdio: ${signed(added(LABEL.sdkRef, LABEL.sdkFloor))}   (HTTP + the SDK's HTTP transport alone, no hub)`);
  out.push(`  raw HTTP,   trivial HTTP server vs raw stdio:             ${signed(added(LABEL.rawRef, LABEL.rawFloor))}`);

  const hubRaw = get(LABEL.rawGlobal).seq.p50;
  if (cluster.topology) {
    const overHub = (label: string, versus: string) => {
      const v = added(label, versus);
      return `${signed(v)} — ${verdict(v <= TARGET_CLUSTER_ADDED_P50_MS)}`;
    };
    out.push("");
    out.push(`added p50 over all-in-one (target ≤ ${TARGET_CLUSTER_ADDED_P50_MS} ms; printed, not asserted):`);
    out.push(`  SDK client, cluster via nginx /mcp   vs SDK client, hub /mcp: ${overHub(LABEL.sdkCluster, LABEL.sdkGlobal)}`);
    out.push(`  raw HTTP,   cluster via nginx /mcp   vs raw HTTP, hub /mcp:   ${overHub(LABEL.rawCluster, LABEL.rawGlobal)}`);
    out.push(`  raw HTTP,   one gateway directly     vs raw HTTP, hub /mcp:   ${overHub(LABEL.rawGateway, LABEL.rawGlobal)}   (gateway → supervisor hop, no nginx)`);
    out.push(`  nginx's share: raw HTTP via nginx vs one gateway directly:    ${signed(added(LABEL.rawCluster, LABEL.rawGateway))}`);
    out.push(`  (all-in-one raw /mcp p50 ${ms(hubRaw)}; cluster raw via nginx ${ms(get(LABEL.rawCluster).seq.p50)}, direct ${ms(get(LABEL.rawGateway).seq.p50)})`);
    out.push("");
    out.push("cluster RSS (each process only, not its children; the supervisor's upstream is not counted):");
    out.push(
      table(
        ["process", "idle after start", "peak during load", "right after load", "after load, settled"],
        cluster.rss.map((s) => [s.id, mb(s.idle), mb(s.peak), mb(s.afterLoad), mb(s.afterLoadSettled)]),
      ),
    );
  }
  for (const n of cluster.notes) out.push(`! ${n}`);

  out.push("");
  const db = measured.database === "pglite" ? "with its PGlite database and credentials checked, as `pnpm start`" : "SKIP_AUTH=true, no database";
  out.push(`hub RSS (hub process only, not its children; ${db}):`);
  out.push(`  idle after start:                ${mb(measured.idleRss)}   (once stable for 1 s, at most 8 s after ready)`);
  out.push(`  peak during load:                ${mb(rss.peak)}`);
  out.push(`  right after load:                ${mb(rss.afterLoad)}`);
  out.push(`  after load, settled:             ${mb(rss.afterLoadSettled)}`);
  if (rss.openIdle !== undefined) out.push(`  idle, second hub with SKIP_AUTH=true (no DB): ${mb(rss.openIdle)}`);
  if (measured.database === "pglite") out.push("  (PGlite runs inside the hub: its WebAssembly memory grows with use and never shrinks; initdb itself runs in a short-lived child)");
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
  out.push(`  hub RSS idle ≤ 100 MB (${measured.database === "pglite" ? "with PGlite, as pnpm start" : "SKIP_AUTH=true, no DB"}): ${mb(measured.idleRss)} — ${verdict(idle <= TARGET_IDLE_RSS_KB)}`);
  if (rss.openIdle !== undefined) out.push(`  hub RSS idle ≤ 100 MB (SKIP_AUTH=true, no DB): ${mb(rss.openIdle)} — ${verdict(rss.openIdle <= TARGET_IDLE_RSS_KB)}`);
  const openPath = results.find((r) => r.label === LABEL.rawOpen);
  if (openPath) {
    const share = rawRate / openPath.callsPerSec;
    out.push(`  default path (key + audit) ≥ 90 % of the open path's calls/s, raw client: ${rate(rawRate)} vs ${rate(openPath.callsPerSec)} = ${(100 * share).toFixed(0)} % — ${verdict(share >= 0.9)}`);
    const addedDefault = added(LABEL.rawGlobal, LABEL.rawFloor);
    out.push(`  default path adds ≤ 0.4 ms p50 over the stdio floor, raw client: ${signed(addedDefault)} (open path: ${signed(added(LABEL.rawOpen, LABEL.rawFloor))}) — ${verdict(addedDefault <= 0.4)}`);
  }
  if (cluster.topology) {
    const met = [LABEL.sdkCluster, LABEL.rawCluster, LABEL.rawGateway].filter((l) => added(l, l === LABEL.sdkCluster ? LABEL.sdkGlobal : LABEL.rawGlobal) <= TARGET_CLUSTER_ADDED_P50_MS);
    out.push(`  cluster added p50 ≤ ${TARGET_CLUSTER_ADDED_P50_MS} ms over all-in-one: met on ${met.length} of 3 paths (see above)`);
  }

  out.push("");
  out.push(leftovers.length ? `! processes left behind by the hub (killed now): ${leftovers.join(", ")}` : "hub stopped with SIGTERM; no process left behind");
  if (cluster.stopped) out.push(...clusterStopLines(cluster.stopped, cluster.database));
  out.push(`total ${(elapsedMs / 1000).toFixed(1)} s`);
  return out;
}

function clusterStopLines(stop: ClusterStopReport, database: string): string[] {
  const out: string[] = [];
  const clean = stop.exit === "code 0" && !stop.statePidsLeft.length && !stop.othersLeft.length;
  if (clean) out.push("cluster stopped with SIGINT; no pid from state.json survives, nor any other process of its tree");
  else {
    out.push(`! cluster script ended with ${stop.exit} after SIGINT`);
    if (stop.statePidsLeft.length) out.push(`! pids from state.json that survived it (killed now): ${stop.statePidsLeft.join(", ")}`);
    if (stop.othersLeft.length) out.push(`! other processes of its tree that survived it (killed now): ${stop.othersLeft.join(", ")}`);
  }
  out.push(stop.dropError ? `! database ${database} not dropped: ${stop.dropError}` : `database ${database} dropped`);
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
    for (const c of [...clusters]) {
      log(`cluster ${c.pid} output:\n${lastWords(c)}`);
      for (const line of clusterStopLines(await stopCluster(c), c.database)) log(line);
    }
    await Promise.all(echoServers.map((e) => e.stop()));
    process.exit(1);
  },
);
