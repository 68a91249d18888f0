import { spawn, type ChildProcess } from "node:child_process";
import { readFile, rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { startHub, waitUntil, type TestHub } from "../../hub/test/helpers/hub.ts";
import { EVERYTHING_JS, upstream } from "../../hub/test/helpers/servers.ts";
import { freePort } from "../../../test/helpers/processes.ts";
import { buildDashboard, launchBrowser, type TestBrowser } from "./helpers/browser.ts";

// One build serves under any BASE_PATH: the hub writes the prefix into the page's <base href>,
// and every asset, API call and link is relative to it. Here without accounts (SKIP_AUTH's
// shape: no auth service), where the dashboard opens without a sign-in and says so.

let hub: TestHub;
let browser: TestBrowser;
let page: Page;
let dist: string;
let remote: ChildProcess | undefined;

beforeAll(async () => {
  dist = await buildDashboard();
  // A settings database (for API writes), but no accounts.
  hub = await startHub({ mcpServers: { everything: upstream.everything() } }, { env: { BASE_PATH: "/hub" }, database: true, dashboardDir: dist });
  browser = await launchBrowser();
  page = browser.page;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await hub?.close();
  if (remote && remote.exitCode === null) {
    const exited = new Promise((r) => remote!.once("exit", r));
    remote.kill("SIGKILL");
    await exited;
  }
  if (dist) await rm(dist, { recursive: true, force: true });
});

describe.sequential("the dashboard under BASE_PATH, without accounts", () => {
  it("is served under the prefix with the prefix as its base; the root outside it is not the hub's", async () => {
    expect(hub.base).toMatch(/\/hub$/);
    const html = await (await fetch(`${hub.base}/`)).text();
    expect(html).toContain('<base href="/hub/">');
    expect(await (await fetch(`${hub.base}/groups`)).text()).toBe(html);
    const root = hub.base.replace(/\/hub$/, "");
    expect((await fetch(`${root}/`)).status).toBe(404);
    expect((await fetch(`${root}/assets/x.js`)).status).toBe(404);
  });

  it("opens at a deep link without signing in, loads everything under the prefix, and navigates within it", async () => {
    const requested: string[] = [];
    page.on("request", (r) => requested.push(new URL(r.url()).pathname));
    await page.goto(`${hub.base}/servers/everything`);
    await page.getByRole("heading", { name: "everything", exact: true }).waitFor();
    await page.getByText("open: no sign-in").waitFor();
    expect(await page.getByRole("button", { name: "Sign out" }).count()).toBe(0);
    // Pages that need accounts are not offered.
    expect(await page.getByRole("link", { name: "API keys" }).count()).toBe(0);
    expect(requested.length).toBeGreaterThan(2);
    expect(requested.filter((p) => !p.startsWith("/hub/"))).toEqual([]);

    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Servers" }).click();
    await page.locator('tr[data-server="everything"]').getByText("ready").waitFor();
    expect(new URL(page.url()).pathname).toBe("/hub/servers");
    // The new page gets the focus and the title.
    expect(await page.title()).toBe("Servers · MCPHub");
    expect(await page.locator("#main:focus").count()).toBe(1);
    await page.goBack();
    await page.getByRole("heading", { name: "everything", exact: true }).waitFor();
    await page.reload();
    await page.getByRole("heading", { name: "everything", exact: true }).waitFor();
    const overview = page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Overview" });
    expect(await overview.getAttribute("href")).toBe("/hub/");
  });

  it("shows a change made elsewhere (the settings file edited) without a reload", async () => {
    await page.goto(`${hub.base}/servers`);
    const everything = page.locator('tr[data-server="everything"]');
    await everything.getByText("ready").waitFor();
    await hub.writeSettings({ mcpServers: { everything: { ...upstream.everything(), enabled: false } } });
    await everything.getByText("disabled").waitFor({ timeout: 15_000 });
    await hub.writeSettings({ mcpServers: { everything: upstream.everything() } });
    await everything.getByText("ready").waitFor({ timeout: 20_000 });
  });

  it("adds a Streamable HTTP server through its form (a bad URL refused at its field) and it connects", async () => {
    const port = await freePort();
    remote = spawn(process.execPath, [EVERYTHING_JS, "streamableHttp"], { env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "ignore", "ignore"] });
    await waitUntil(() => fetch(`http://127.0.0.1:${port}/mcp`).then(() => true, () => false), 20_000, "server-everything over HTTP");
    await page.goto(`${hub.base}/servers/new`);
    await page.getByLabel("Name").fill("remote");
    await page.getByLabel("Transport").selectOption("streamable-http");
    await page.getByLabel("URL").fill("not a url");
    await page.getByLabel(/^Headers/).fill("X-Dashboard-Test: yes");
    await page.getByRole("button", { name: "Add server" }).click();
    await page.locator("#url-error").waitFor();
    expect(await page.getByLabel(/^Headers/).inputValue()).toBe("X-Dashboard-Test: yes");
    await page.getByLabel("URL").fill(`http://127.0.0.1:${port}/mcp`);
    await page.getByRole("button", { name: "Add server" }).click();
    await page.getByRole("heading", { name: "remote", exact: true }).waitFor();
    await page.locator(".title-row .badge").filter({ hasText: "ready" }).waitFor({ timeout: 20_000 });
    await page.locator('li[data-tool="echo"]').waitFor();
    const stored = JSON.parse(await readFile(hub.settingsPath, "utf8")).mcpServers.remote;
    expect(stored).toEqual({ type: "streamable-http", enabled: true, url: `http://127.0.0.1:${port}/mcp`, headers: { "X-Dashboard-Test": "yes" } });
  });

  it("is usable from the keyboard: the skip link moves focus to the page, links open with Enter", async () => {
    await page.goto(`${hub.base}/servers`);
    await page.locator('tr[data-server="everything"]').waitFor();
    // The skip link comes before everything else.
    expect(await page.locator("body *:is(a, button, input, select, textarea)").first().getAttribute("class")).toBe("skip");
    await page.locator("a.skip").focus();
    await page.keyboard.press("Enter");
    expect(await page.locator("#main:focus").count()).toBe(1);
    expect(new URL(page.url()).pathname).toBe("/hub/servers");
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Groups" }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Groups" }).waitFor();
    expect(await page.locator("#main:focus").count()).toBe(1);
  });
});
