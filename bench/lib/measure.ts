import { performance } from "node:perf_hooks";
import { cpuMs } from "./hub-process.ts";
import type { BenchPath, Session } from "./paths.ts";
import { latency, type Latency } from "./stats.ts";

export interface BenchConfig {
  warmup: number;
  sequential: number;
  lists: number;
  concurrency: number;
  /** Throughput time per path, summed over the rounds. */
  durationMs: number;
  /**
   * Every measurement is cut into this many rounds that visit the paths in turn, so a burst of
   * load from a neighbour on this shared machine lands on every path alike rather than on one.
   */
  rounds: number;
}

/**
 * Where the server side of a path runs: the all-in-one hub; in the cluster nginx, the gateway
 * replicas and the supervisor; and the MCP server (server-everything or the trivial reference server).
 */
export const CPU_ROLES = ["hub", "nginx", "gateway", "supervisor", "upstream"] as const;
export type CpuRole = (typeof CPU_ROLES)[number];

/** The processes whose CPU time a throughput run accounts for, besides this one (the client), by role. */
export type CpuSubjects = Partial<Record<CpuRole, number | number[]>>;

export interface PathResult {
  label: string;
  role: BenchPath["role"];
  concurrency: BenchPath["concurrency"];
  protocol: string;
  seq: Latency;
  list: Latency;
  callsPerSec: number;
  /** Calls that failed during the throughput run (not counted in calls/s). */
  errors: number;
  firstError?: string;
  /** CPU time per successful call during the throughput run, in µs: the client's, and each role's that was measured. */
  cpuPerCall: { client: number } & Partial<Record<CpuRole, number>>;
}

interface Prepared {
  path: BenchPath;
  subjects: Partial<Record<CpuRole, number[]>>;
  first: Session;
  /** The callers of the throughput run: `concurrency` sessions, or the first one `concurrency` times. */
  callers: Session[];
  sessions: Session[];
  seq: number[];
  list: number[];
  ok: number;
  errors: number;
  firstError?: string;
  elapsedMs: number;
  /** CPU ms summed over the recorded rounds, by role. */
  cpu: { client: number } & Partial<Record<CpuRole, number>>;
}

/**
 * Opens and warms every path, then measures them side by side: sequential calls, tools/list,
 * and throughput with `concurrency` callers, each cut into rounds that visit the paths in turn.
 */
export async function measureAll(
  paths: { path: BenchPath; subjects?: CpuSubjects }[],
  cfg: BenchConfig,
  progress: (msg: string) => void,
): Promise<PathResult[]> {
  const prepared: Prepared[] = [];
  try {
    for (const { path, subjects = {} } of paths) {
      progress(`opening ${path.label}`);
      prepared.push(await prepare(path, subjects, cfg));
    }
    // An untimed throughput round first: a few hundred sequential calls leave the JIT of the hub
    // and of the client code unfinished, and the first path measured would pay for it.
    progress("untimed warm-up round over every path…");
    for (const p of prepared) await throughputRound(p, Math.min(1000, cfg.durationMs / 2), false);

    progress(`sequential calls and tools/list, ${cfg.rounds} rounds…`);
    for (let round = 0; round < cfg.rounds; round++) {
      for (const p of prepared) {
        const n = share(cfg.sequential, cfg.rounds, round);
        for (let i = 0; i < n; i++) p.seq.push(await timed(() => p.first.call()));
        const l = share(cfg.lists, cfg.rounds, round);
        for (let i = 0; i < l; i++) p.list.push(await timed(() => p.first.list()));
      }
    }
    progress(`throughput with ${cfg.concurrency} callers, ${cfg.rounds} rounds of ${(cfg.durationMs / cfg.rounds / 1000).toFixed(2)} s per path…`);
    for (let round = 0; round < cfg.rounds; round++) {
      for (const p of prepared) await throughputRound(p, cfg.durationMs / cfg.rounds, true);
    }
    return prepared.map(result);
  } finally {
    for (const p of prepared) {
      await Promise.all(p.sessions.map((s) => s.close().catch(() => {})));
      p.path.dispose?.();
    }
  }
}

async function prepare(path: BenchPath, subjects: CpuSubjects, cfg: BenchConfig): Promise<Prepared> {
  const first = await path.open();
  const sessions = [first];
  const p: Prepared = {
    path,
    subjects: pidsByRole({ ...subjects, upstream: subjects.upstream ?? first.serverPid }),
    first,
    callers: [],
    sessions,
    seq: [],
    list: [],
    ok: 0,
    errors: 0,
    elapsedMs: 0,
    cpu: { client: 0 },
  };
  try {
    for (let i = 0; i < cfg.warmup; i++) await first.call();
    for (let i = 0; i < Math.min(20, cfg.lists); i++) await first.list();
    if (path.concurrency === "sessions") {
      // Opened one after another: a burst of initializes is not what is measured here.
      for (let i = 1; i < cfg.concurrency; i++) {
        const s = await path.open();
        sessions.push(s);
        for (let j = 0; j < 20; j++) await s.call();
      }
    }
    p.callers = Array.from({ length: cfg.concurrency }, (_, i) => sessions[i % sessions.length]!);
    return p;
  } catch (err) {
    await Promise.all(sessions.map((s) => s.close().catch(() => {})));
    throw err;
  }
}

/** Every caller calls in a loop for `durationMs`; with `record`, the calls, time and CPU count. */
async function throughputRound(p: Prepared, durationMs: number, record: boolean): Promise<void> {
  const client0 = process.cpuUsage();
  const before = roleCpu(p.subjects);
  let ok = 0;
  let errors = 0;
  const start = performance.now();
  const end = start + durationMs;
  await Promise.all(
    p.callers.map(async (s) => {
      while (performance.now() < end && errors < 1000) {
        try {
          await s.call();
          ok++;
        } catch (err) {
          errors++;
          p.firstError ??= (err as Error).message;
        }
      }
    }),
  );
  if (!record) return;
  p.elapsedMs += performance.now() - start;
  p.ok += ok;
  p.errors += errors;
  const client = process.cpuUsage(client0);
  p.cpu.client += (client.user + client.system) / 1000;
  const after = roleCpu(p.subjects);
  for (const role of CPU_ROLES) {
    const b = before[role];
    if (b) p.cpu[role] = (p.cpu[role] ?? 0) + delta(b, after[role]!);
  }
}

function result(p: Prepared): PathResult {
  const perCall = (cpuMsTotal: number) => (p.ok ? (cpuMsTotal * 1000) / p.ok : Number.NaN);
  const cpuPerCall: PathResult["cpuPerCall"] = { client: perCall(p.cpu.client) };
  for (const role of CPU_ROLES) if (p.subjects[role]) cpuPerCall[role] = perCall(p.cpu[role] ?? 0);
  return {
    label: p.path.label,
    role: p.path.role,
    concurrency: p.path.concurrency,
    protocol: p.first.protocol,
    seq: latency(p.seq),
    list: latency(p.list),
    callsPerSec: p.ok / (p.elapsedMs / 1000),
    errors: p.errors,
    firstError: p.firstError,
    cpuPerCall,
  };
}

/** Round `round`'s part of `total`, so the parts add up to it exactly. */
function share(total: number, rounds: number, round: number): number {
  return Math.floor((total * (round + 1)) / rounds) - Math.floor((total * round) / rounds);
}

/** Roles without a pid are left out, so the report can tell "not measured" from "none". */
function pidsByRole(subjects: CpuSubjects): Partial<Record<CpuRole, number[]>> {
  const out: Partial<Record<CpuRole, number[]>> = {};
  for (const role of CPU_ROLES) {
    const pids = [subjects[role] ?? []].flat();
    if (pids.length) out[role] = pids;
  }
  return out;
}

/** CPU ms so far of every pid of every role (undefined for a process that is gone). */
function roleCpu(subjects: Partial<Record<CpuRole, number[]>>): Partial<Record<CpuRole, (number | undefined)[]>> {
  const out: Partial<Record<CpuRole, (number | undefined)[]>> = {};
  for (const role of CPU_ROLES) if (subjects[role]) out[role] = subjects[role]!.map(cpuMs);
  return out;
}

/** Summed per pid: a process that ended (or started) during the round counts for nothing. */
function delta(before: (number | undefined)[], after: (number | undefined)[]): number {
  let sum = 0;
  before.forEach((b, i) => {
    const a = after[i];
    if (b !== undefined && a !== undefined) sum += a - b;
  });
  return sum;
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}
