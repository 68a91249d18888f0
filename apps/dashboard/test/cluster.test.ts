import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import type { Page } from "playwright-core";
import { waitUntil } from "../../hub/test/helpers/hub.ts";
import { MEMORY_JS, upstream } from "../../hub/test/helpers/servers.ts";
import { freshDatabase } from "../../../test/helpers/postgres.ts";
import { freePort, repoRoot } from "../../../test/helpers/processes.ts";
import { buildDashboard, launchBrowser, screenshotter, type TestBrowser } from "./helpers/browser.ts";

// The dashboard behind nginx in `pnpm cluster` (which builds it): nginx serves the files, the
// split services answer the API, and the browser cannot tell the difference.

let dir: string;
let dist: string;
let bundleDir: string;
let cluster: ChildProcess;
let url: string;
let database: Awaited<ReturnType<typeof freshDatabase>>;
let browser: TestBrowser;
let page: Page;
const output: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mcphub-dashboard-cluster-"));
  // nginx's workers (nobody, when started as root) read the dashboard through the run folder.
  await chmod(dir, 0o755);
  database = await freshDatabase("dashboard_cluster");
  const settingsPath = join(dir, "mcp_settings.json");
  await writeFile(settingsPath, JSON.stringify({ mcpServers: { everything: upstream.everything() } }));
  // Builds of its own: other cluster tests rebuild apps/hub/dist and apps/dashboard/dist meanwhile.
  dist = await buildDashboard();
  await chmod(dist, 0o755);
  bundleDir = join(repoRoot, "apps/hub", `.bundle-dashboard-${process.pid}`);
  const port = await freePort();
  cluster = spawn(process.execPath, ["--import", "tsx", "infra/scripts/cluster.ts", "--gateways", "2", "--port", String(port), "--run-dir", join(dir, "run"), "--bundle-dir", bundleDir], {
    cwd: repoRoot,
    env: { ...process.env, MCPHUB_DASHBOARD_DIR: dist, DATABASE_URL: database.url, MCPHUB_SETTING_PATH: settingsPath, LOG_LEVEL: "warn", ADMIN_PASSWORD: "cluster-admin-password", AUDIT_STREAM: `mcphub:audit:dashboard:${process.pid}` },
    stdio: ["ignore", "pipe", "pipe"],
  });
  cluster.stdout!.on("data", (d: Buffer) => output.push(d.toString()));
  cluster.stderr!.on("data", (d: Buffer) => output.push(d.toString()));
  const stateFile = join(dir, "run", "state.json");
  await waitUntil(() => existsSync(stateFile) || cluster.exitCode !== null, 150_000, "the cluster to be ready");
  if (!existsSync(stateFile)) throw new Error(`cluster failed:\n${output.join("")}`);
  url = (JSON.parse(await readFile(stateFile, "utf8")) as { url: string }).url;
  browser = await launchBrowser();
  page = browser.page;
}, 180_000);

afterAll(async () => {
  await browser?.close();
  if (cluster && cluster.exitCode === null) {
    const exited = new Promise((r) => cluster.once("exit", r));
    cluster.kill("SIGINT");
    await exited;
  }
  await database?.drop();
  for (const d of [dir, dist, bundleDir]) if (d) await rm(d, { recursive: true, force: true });
}, 30_000);

describe.sequential("the dashboard behind nginx (pnpm cluster)", () => {
  it("nginx serves the page (revalidated), hashed assets (cached), deep links, and keeps the API's paths", async () => {
    const index = await fetch(`${url}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get("cache-control")).toBe("no-cache");
    const html = await index.text();
    const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
    const js = await fetch(`${url}/${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get("cache-control")).toMatch(/max-age=\d{8,}/);
    expect(js.headers.get("content-type")).toContain("javascript");
    expect(index.headers.get("content-type")).toContain("text/html");
    const deep = await fetch(`${url}/servers/everything`);
    expect(deep.status).toBe(200);
    expect(await deep.text()).toBe(html);
    const api = await fetch(`${url}/api/nowhere`);
    expect(api.status).toBe(404);
    expect(api.headers.get("content-type")).toContain("application/json");
  });

  it("signs in, adds server-memory through the form and watches it become ready; a tool disabled there is refused over MCP", async () => {
    const shots = await screenshotter("cluster");
    console.log(`dashboard screenshots (cluster): ${shots.dir}`);
    await page.goto(`${url}/servers`);
    await page.getByLabel("User name").fill("admin");
    await page.getByLabel("Password").fill("cluster-admin-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    // Signed in at the deep link it was opened on.
    await page.locator('tr[data-server="everything"]').getByText("ready").waitFor({ timeout: 30_000 });

    await page.getByRole("link", { name: "Add server" }).click();
    await page.getByLabel("Name").fill("memory");
    await page.getByLabel("Command").fill(process.execPath);
    await page.getByLabel("Arguments (one per line)").fill(MEMORY_JS);
    await page.getByLabel(/^Environment/).fill(`MEMORY_FILE_PATH=${join(dir, "memory.jsonl")}`);
    await page.getByRole("button", { name: "Add server" }).click();
    await page.locator(".title-row .badge").filter({ hasText: "ready" }).waitFor({ timeout: 30_000 });
    const readGraph = page.locator('li[data-tool="read_graph"]');
    await readGraph.getByLabel("Enable tool read_graph").click();
    await page.locator('li[data-tool="read_graph"].off').waitFor();
    await shots.shoot(page, "server-detail");

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "API keys" }).click();
    await page.getByLabel("Name").fill("cluster client");
    await page.getByRole("button", { name: "Create key" }).click();
    const key = (await page.getByTestId("new-key").textContent())!.trim();

    const client = new Client({ name: "dashboard-cluster", version: "1" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
    try {
      // The gateways hear of the change over the bus; the list follows it.
      await waitUntil(async () => {
        const { tools } = await client.listTools();
        return tools.some((t) => t.name === "memory-create_entities") && !tools.some((t) => t.name === "memory-read_graph");
      }, 15_000, "the gateways to list memory without read_graph");
      const refused = await client.callTool({ name: "memory-read_graph", arguments: {} }).then(
        (r) => JSON.stringify(r),
        (err: Error) => err.message,
      );
      expect(refused).toMatch(/disabled/);
    } finally {
      await client.close();
    }
  }, 120_000);
});
