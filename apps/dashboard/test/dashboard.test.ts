import { join } from "node:path";
import { readFile, rm } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";
import type { Page } from "playwright-core";
import { startHub, text, type TestHub } from "../../hub/test/helpers/hub.ts";
import { FILESYSTEM_JS, MEMORY_JS, upstream } from "../../hub/test/helpers/servers.ts";
import { buildDashboard, launchBrowser, screenshotter, type TestBrowser } from "./helpers/browser.ts";

// The whole dashboard against a real all-in-one hub (auth, PGlite, real upstream servers)
// in real Chromium: every step waits for what the page shows, never for time.

const ADMIN_PASSWORD = "dashboard-admin-password";
let hub: TestHub;
let browser: TestBrowser;
let page: Page;
let dist: string;
let shots: Awaited<ReturnType<typeof screenshotter>>;

beforeAll(async () => {
  dist = await buildDashboard();
  hub = await startHub({ mcpServers: { everything: upstream.everything() } }, { database: true, adminPassword: ADMIN_PASSWORD, dashboardDir: dist });
  browser = await launchBrowser();
  page = browser.page;
  shots = await screenshotter("hub");
  console.log(`dashboard screenshots: ${shots.dir}`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await hub?.close();
  if (dist) await rm(dist, { recursive: true, force: true });
});

async function mcpClient(url: string, key: string): Promise<Client> {
  const client = new Client({ name: "dashboard-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { authorization: `Bearer ${key}` } } }));
  return client;
}

const nav = (name: string) => page.getByRole("navigation", { name: "Main" }).getByRole("link", { name, exact: true });
const row = (attr: string, value: string) => page.locator(`tr[${attr}="${value}"]`);
let apiKey = "";

describe.sequential("dashboard", () => {
  it("is served at the root: the page never cached, hashed assets for good, deep links land in the app, API paths stay the API's", async () => {
    const index = await fetch(`${hub.base}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get("cache-control")).toBe("no-cache");
    const html = await index.text();
    const asset = /src="\.\/(assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(asset).toBeTruthy();
    const js = await fetch(`${hub.base}/${asset}`);
    expect(js.status).toBe(200);
    expect(js.headers.get("cache-control")).toContain("immutable");
    expect(js.headers.get("content-type")).toContain("javascript");

    const deep = await fetch(`${hub.base}/servers/everything`);
    expect(deep.status).toBe(200);
    expect(deep.headers.get("cache-control")).toBe("no-cache");
    expect(await deep.text()).toBe(html);

    expect((await fetch(`${hub.base}/assets/missing-0000.js`)).status).toBe(404);
    const api = await fetch(`${hub.base}/api/no-such-route`);
    expect(api.status).toBe(404);
    expect(api.headers.get("content-type")).toContain("application/json");
    expect((await fetch(`${hub.base}/api/health`)).status).toBe(200);
    // /metrics stays the metrics endpoint (whatever it asks of the caller), never the page.
    expect((await fetch(`${hub.base}/metrics`)).headers.get("content-type")).not.toContain("text/html");
  });

  it("signs in (a wrong password is refused on the page), says how to find the first password, and survives a reload", async () => {
    await page.goto(`${hub.base}/`);
    await expect.poll(() => page.getByText("FIRST START").count()).toBeGreaterThan(0);
    await shots.shoot(page, "signin");
    await page.getByLabel("User name").fill("admin");
    await page.getByLabel("Password").fill("not-the-password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "wrong user name or password" }).waitFor();

    await page.getByLabel("Password").fill(ADMIN_PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await page.getByTestId("servers-total").filter({ hasText: "1" }).waitFor();

    await page.reload();
    await page.getByRole("button", { name: "Sign out" }).waitFor();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await shots.shoot(page, "overview");
    await page.emulateMedia({ colorScheme: "dark" });
    await shots.shoot(page, "overview-dark");
    await page.emulateMedia({ colorScheme: "light" });
  });

  it("lists the servers with their live state, tools and protocol revision", async () => {
    await nav("Servers").click();
    const everything = row("data-server", "everything");
    await everything.getByText("ready").waitFor();
    expect(Number(await everything.locator(".tool-count").textContent())).toBeGreaterThan(0);
    await everything.getByText(/^20\d\d-\d\d-\d\d$/).waitFor();
  });

  it("adds server-memory through the form: a bad timeout is shown at its field with nothing typed lost, then it connects", async () => {
    await page.getByRole("link", { name: "Add server" }).click();
    await page.getByLabel("Name").fill("memory");
    await page.getByLabel("Command").fill(process.execPath);
    await page.getByLabel("Arguments (one per line)").fill(MEMORY_JS);
    await page.getByLabel(/^Environment/).fill(`MEMORY_FILE_PATH=${join(hub.dir, "memory.jsonl")}`);
    await page.getByLabel(/^Timeout/).fill("-5");
    await page.getByRole("button", { name: "Add server" }).click();
    // The API's reason, at the field that caused it.
    await page.locator("#timeout-error").filter({ hasText: "Too small" }).waitFor();
    expect(await page.getByLabel("Name").inputValue()).toBe("memory");
    expect(await page.getByLabel("Command").inputValue()).toBe(process.execPath);

    await page.getByLabel(/^Timeout/).fill("20000");
    await page.getByRole("button", { name: "Add server" }).click();
    await page.getByRole("heading", { name: "memory", exact: true }).waitFor();
    // Live: it goes from connecting to ready without a reload, and its tools appear.
    await page.locator(".title-row .badge").filter({ hasText: "ready" }).waitFor();
    await page.locator('li[data-tool="read_graph"]').waitFor();
    await shots.shoot(page, "server-detail");
    expect(hub.hub.supervisor.status().find((s) => s.name === "memory")?.state).toBe("ready");
  });

  it("adds servers by pasting mcpServers JSON: a refused one is named with its reason, the text kept", async () => {
    await nav("Servers").click();
    await page.getByRole("link", { name: "Add server" }).click();
    await page.getByRole("tab", { name: "Paste JSON" }).click();
    const area = page.getByLabel("Servers in mcpServers format");
    const bad = JSON.stringify({ mcpServers: { files: { type: "sse", url: "not a url" } } });
    await area.fill(bad);
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.locator("#json-error").filter({ hasText: '"files" was refused' }).filter({ hasText: "url" }).waitFor();
    expect(await area.inputValue()).toBe(bad);
    await area.fill(JSON.stringify({ mcpServers: { files: { command: process.execPath, args: [FILESYSTEM_JS, hub.dir] } } }));
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.getByRole("heading", { name: "files", exact: true }).waitFor();
    await page.locator(".title-row .badge").filter({ hasText: "ready" }).waitFor();
    await page.locator('li[data-tool="list_directory"]').waitFor();
    await nav("Servers").click();
    const files = row("data-server", "files");
    await files.getByRole("button", { name: "Delete" }).click();
    await files.getByRole("button", { name: "Delete files" }).click();
    await expect.poll(() => files.count()).toBe(0);
    await page.getByRole("link", { name: "memory", exact: true }).click();
  });

  it("edits a server: its env values stay secret in the form and are kept when saved", async () => {
    await page.getByRole("link", { name: "Edit" }).click();
    await page.getByRole("heading", { name: "Edit memory" }).waitFor();
    expect(await page.getByLabel(/^Environment/).inputValue()).toBe("MEMORY_FILE_PATH=[secret]");
    await page.getByLabel(/^Timeout/).fill("30000");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByRole("heading", { name: "memory", exact: true }).waitFor();
    const stored = JSON.parse(await readFile(hub.settingsPath, "utf8")).mcpServers.memory;
    expect(stored.options.timeout).toBe(30000);
    expect(stored.env.MEMORY_FILE_PATH).toBe(join(hub.dir, "memory.jsonl"));
  });

  it("creates an API key shown once, with a copy button", async () => {
    await nav("API keys").click();
    await page.getByLabel("Name").fill("test client");
    await page.getByLabel("Expires (empty: never)").fill("2001-01-01T00:00");
    await page.getByRole("button", { name: "Create key" }).click();
    await page.locator("#key-expires-error").filter({ hasText: "must be in the future" }).waitFor();
    await page.getByLabel("Expires (empty: never)").fill("");
    await page.getByRole("button", { name: "Create key" }).click();
    const shown = page.getByTestId("new-key");
    await shown.waitFor();
    apiKey = (await shown.textContent())!.trim();
    expect(apiKey).toMatch(/^mcphub_/);
    await page.getByRole("button", { name: "Copy key" }).waitFor();
    await row("data-key", "test client").waitFor();
    await shots.shoot(page, "keys");
    // Once: a reload shows the key's prefix, never the key.
    await page.reload();
    await row("data-key", "test client").waitFor();
    expect(await page.getByText(apiKey).count()).toBe(0);
  });

  it("disables a tool and overrides a description: MCP clients see both", async () => {
    await nav("Servers").click();
    await page.getByRole("link", { name: "memory", exact: true }).click();
    const readGraph = page.locator('li[data-tool="read_graph"]');
    await readGraph.getByLabel("Enable tool read_graph").click();
    await page.locator('li[data-tool="read_graph"].off').waitFor();

    const createEntities = page.locator('li[data-tool="create_entities"]');
    await createEntities.getByRole("button", { name: "Edit description of create_entities" }).click();
    await createEntities.getByLabel("Description clients see for create_entities").fill("Adds people and things to the notes graph");
    await createEntities.getByRole("button", { name: "Save description" }).click();
    await createEntities.getByText("overridden").waitFor();

    const client = await mcpClient(`${hub.base}/mcp`, apiKey);
    try {
      const { tools } = await client.listTools();
      expect(tools.find((t) => t.name === "memory-read_graph")).toBeUndefined();
      expect(tools.find((t) => t.name === "memory-create_entities")?.description).toBe("Adds people and things to the notes graph");
      const refused = await client.callTool({ name: "memory-read_graph", arguments: {} }).then(
        (r) => JSON.stringify(r),
        (err: Error) => err.message,
      );
      expect(refused).toMatch(/disabled/);
    } finally {
      await client.close();
    }
  });

  it("tries a tool with a form made from its input schema and shows the result", async () => {
    await nav("Servers").click();
    await page.getByRole("link", { name: "everything", exact: true }).click();
    const echo = page.locator('li[data-tool="echo"]');
    await echo.getByRole("button", { name: "Try" }).click();
    await echo.getByRole("button", { name: "Call echo" }).click();
    // A required argument left empty is named at its field before anything is sent.
    await echo.getByRole("alert").filter({ hasText: "is required" }).waitFor();
    await echo.getByLabel("message (required)").fill("hello from the browser");
    await echo.getByRole("button", { name: "Call echo" }).click();
    await echo.locator(".result").getByText("hello from the browser").waitFor();

    // Numbers typed as numbers: one that is not is named at its field.
    const sum = page.locator('li[data-tool="get-sum"]');
    await sum.getByRole("button", { name: "Try" }).click();
    await sum.getByLabel("a (required)").fill("two");
    await sum.getByLabel("b (required)").fill("3");
    await sum.getByRole("button", { name: "Call get-sum" }).click();
    await sum.getByRole("alert").filter({ hasText: "must be a number" }).waitFor();
    await sum.getByLabel("a (required)").fill("2");
    await sum.getByRole("button", { name: "Call get-sum" }).click();
    await sum.locator(".result").getByText(/\b5\b/).waitFor();

    // An enum is a choice; structured content is shown beside the text.
    const weather = page.locator('li[data-tool="get-structured-content"]');
    await weather.getByRole("button", { name: "Try" }).click();
    await weather.getByLabel("location (required)").selectOption("Chicago");
    await weather.getByRole("button", { name: "Call get-structured-content" }).click();
    await weather.locator(".result").getByRole("heading", { name: "Structured content" }).waitFor();
    expect(await weather.locator(".result").textContent()).toContain("temperature");

    // Images are shown as images.
    const image = page.locator('li[data-tool="get-tiny-image"]');
    await image.getByRole("button", { name: "Try" }).click();
    await image.getByRole("button", { name: "Call get-tiny-image" }).click();
    await image.locator(".result img").waitFor();
    expect(await image.locator(".result img").getAttribute("src")).toMatch(/^data:image\/png;base64,/);
    await shots.shoot(page, "try-tool");
  });

  it("creates a group of picked tools: a key calls through its endpoint", async () => {
    await nav("Groups").click();
    await page.getByRole("button", { name: "New group" }).click();
    const form = page.getByRole("form", { name: "New group" });
    await form.getByLabel(/^Id/).fill("bad id");
    await form.getByLabel("Name").fill("Notes");
    await form.getByText("memory", { exact: true }).click();
    await form.getByRole("button", { name: "Create group" }).click();
    await form.locator(".field-error").filter({ hasText: "whitespace" }).waitFor();
    await form.getByLabel(/^Id/).fill("notes");
    await form.getByText("only some tools").click();
    await form.getByRole("group", { name: "Tools of memory" }).getByText("create_entities").click();
    await form.getByRole("button", { name: "Create group" }).click();
    const card = page.locator('li[data-group="notes"]');
    await card.getByText(`${hub.base}/mcp/notes`).waitFor();
    // Renamed: the id (and so the endpoint) stays.
    await card.getByRole("button", { name: "Edit group Notes" }).click();
    await page.getByRole("form", { name: "Edit group Notes" }).getByLabel("Name").fill("Team notes");
    await page.getByRole("button", { name: "Save group" }).click();
    await card.getByRole("heading", { name: "Team notes" }).waitFor();
    await shots.shoot(page, "groups");

    const client = await mcpClient(`${hub.base}/mcp/notes`, apiKey);
    try {
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(["memory-create_entities"]);
      const result = await client.callTool({ name: "memory-create_entities", arguments: { entities: [{ name: "Ada", entityType: "person", observations: ["wrote the first program"] }] } });
      expect(text(result)).toContain("Ada");
    } finally {
      await client.close();
    }

    // A key scoped to the group reaches its endpoint and nothing else.
    await nav("API keys").click();
    await page.getByLabel("Name").fill("notes only");
    await page.getByLabel("Access").selectOption("groups");
    await page.getByRole("group", { name: "Groups" }).getByText("Team notes").click();
    await page.getByRole("button", { name: "Create key" }).click();
    await row("data-key", "notes only").getByText("groups: notes").waitFor();
    const groupKey = (await page.getByTestId("new-key").textContent())!.trim();
    await (await mcpClient(`${hub.base}/mcp/notes`, groupKey)).close();
    await expect(mcpClient(`${hub.base}/mcp`, groupKey)).rejects.toThrow();
  });

  it("finds these actions on the audit page, filtered, and new entries appear without a reload", async () => {
    await nav("Audit log").click();
    await row("data-action", "server.create").first().waitFor();
    await row("data-action", "group.create").first().waitFor();
    await row("data-action", "apikey.create").first().waitFor();
    await page.getByLabel("Action").fill("tool.call");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await row("data-action", "tool.call").first().waitFor();
    await expect.poll(() => row("data-action", "server.create").count()).toBe(0);
    const before = await row("data-action", "tool.call").count();

    const client = await mcpClient(`${hub.base}/mcp`, apiKey);
    try {
      await client.callTool({ name: "everything-echo", arguments: { message: "live" } });
    } finally {
      await client.close();
    }
    await expect.poll(() => row("data-action", "tool.call").count(), { timeout: 15_000 }).toBe(before + 1);

    // Pages of 25, newest first: 30 more calls fill the first page and spill onto the next.
    const many = await mcpClient(`${hub.base}/mcp`, apiKey);
    try {
      for (let i = 0; i < 30; i++) await many.callTool({ name: "everything-echo", arguments: { message: `page ${i}` } });
    } finally {
      await many.close();
    }
    await expect.poll(() => row("data-action", "tool.call").count(), { timeout: 15_000 }).toBe(25);
    await page.getByRole("button", { name: "Older" }).click();
    await page.getByText("Page 2").waitFor();
    await expect.poll(() => row("data-action", "tool.call").count()).toBe(before + 1 + 30 - 25);
    await page.getByRole("button", { name: "Newer" }).click();
    await page.getByText("Page 1").waitFor();
    await expect.poll(() => row("data-action", "tool.call").count()).toBe(25);

    // By outcome and user: the wrong password at the start is admin's failed sign-in.
    await page.getByRole("button", { name: "Clear" }).click();
    await page.getByLabel("Outcome").selectOption("false");
    await page.getByLabel("User", { exact: true }).fill("admin");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await row("data-action", "auth.login").first().getByText("failed").waitFor();
    await expect.poll(() => page.locator("tbody tr").filter({ hasText: "ok" }).count()).toBe(0);

    await page.getByLabel("From").fill("2999-01-01T00:00");
    await page.getByRole("button", { name: "Apply filters" }).click();
    await page.getByText("No entries.").waitFor();
    await shots.shoot(page, "audit");
  });

  it("settings: a bad name separator is shown at its field; the whole settings as JSON, with refusals at their path and nothing typed lost", async () => {
    await nav("Settings").click();
    const routing = page.getByRole("form", { name: "Routing" });
    await routing.getByLabel("Name separator").fill("");
    await routing.getByRole("button", { name: "Save routing" }).click();
    await routing.locator("#separator-error").waitFor();
    await routing.getByLabel("Name separator").fill("-");
    await routing.getByLabel("Serve every server at /mcp (the global route)").uncheck();
    await routing.getByRole("button", { name: "Save routing" }).click();
    await routing.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    // The global route is off: a client cannot open /mcp until it is back on.
    await expect(mcpClient(`${hub.base}/mcp`, apiKey)).rejects.toThrow();
    await routing.getByLabel("Serve every server at /mcp (the global route)").check();
    await routing.getByRole("button", { name: "Save routing" }).click();
    await routing.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    await (await mcpClient(`${hub.base}/mcp`, apiKey)).close();

    const editor = page.getByLabel("Settings JSON");
    const broken = JSON.stringify({ mcpServers: { broken: { type: "stdio" } } }, null, 2);
    await editor.fill(broken);
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.getByRole("alert", { name: "Why the settings were refused" }).getByText("$.mcpServers.broken.command").waitFor();
    expect(await editor.inputValue()).toBe(broken);
    expect(hub.hub.supervisor.status().some((s) => s.name === "broken")).toBe(false);
    await shots.shoot(page, "settings");
  });

  it("smart routing: its settings (a bad threshold at its field), the index status and a search as search_tools answers", async () => {
    await nav("Smart routing").click();
    const settings = page.getByRole("form", { name: "Smart routing settings" });
    await settings.getByLabel("Threshold (0 to 1)").fill("1.5");
    await settings.getByRole("button", { name: "Save smart routing" }).click();
    await settings.locator("#sr-threshold-error").filter({ hasText: "between 0 and 1" }).waitFor();
    await settings.getByLabel("Threshold (0 to 1)").fill("0.05");
    await settings.getByRole("button", { name: "Save smart routing" }).click();
    await settings.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    const stored = hub.hub.settings.settings.parsed.systemConfig.smartRouting;
    expect(stored.threshold).toBe(0.05);

    const search = page.getByRole("form", { name: "Search tools" });
    await search.getByLabel("What should the tool do?").fill("echo a message back");
    await search.getByRole("button", { name: "Search" }).click();
    await search.locator('li[data-result="everything-echo"]').waitFor({ timeout: 60_000 });
    await page.getByTestId("index-tools").filter({ hasText: /^[1-9]/ }).waitFor({ timeout: 60_000 });
    await shots.shoot(page, "smart-routing");

    // A rebuild is asked for, and recorded as the admin's.
    await page.getByRole("button", { name: "Rebuild the index" }).click();
    const token = String(await page.evaluate("localStorage.getItem('mcphub.token')"));
    await expect
      .poll(async () => {
        const res = await fetch(`${hub.base}/api/audit?action=smart-routing.reindex`, { headers: { authorization: `Bearer ${token}` } });
        return ((await res.json()) as { entries: { username: string }[] }).entries.map((e) => e.username);
      }, { timeout: 15_000 })
      .toEqual(["admin"]);
    await page.getByTestId("index-state").filter({ hasText: "ready" }).waitFor({ timeout: 60_000 });
  }, 150_000);

  it("the overview counts the calls per server, with their charts, and has snippets for clients", async () => {
    await nav("Overview").click();
    const everything = row("data-stats", "everything");
    // The echo tried in the browser and the one over MCP, at least.
    await expect.poll(async () => Number(await everything.locator(".calls").textContent())).toBeGreaterThanOrEqual(2);
    expect(await everything.getByRole("img", { name: /calls per minute over the last hour/ }).count()).toBe(1);
    expect(Number(await row("data-stats", "memory").locator(".calls").textContent())).toBeGreaterThanOrEqual(1);
    await page.getByRole("tab", { name: "VS Code" }).click();
    const snippet = JSON.parse((await page.getByLabel("VS Code configuration").textContent())!);
    expect(snippet.servers.mcphub).toMatchObject({ type: "http", url: `${hub.base}/mcp` });
    await shots.shoot(page, "overview-stats");
  });

  it("restarts, disables, re-enables and deletes a server from the list", async () => {
    await nav("Servers").click();
    const memory = row("data-server", "memory");
    const pid = hub.hub.supervisor.status().find((s) => s.name === "memory")!.pid;
    await memory.getByRole("button", { name: "Restart memory" }).click();
    await memory.locator(".restarts").filter({ hasText: "1" }).waitFor();
    await memory.getByText("ready").waitFor();
    expect(hub.hub.supervisor.status().find((s) => s.name === "memory")!.pid).not.toBe(pid);
    await memory.getByLabel("Enable memory").click();
    await memory.getByText("disabled").waitFor();
    await memory.getByLabel("Enable memory").click();
    await memory.getByText("ready").waitFor();
    await shots.shoot(page, "servers");
    await memory.getByRole("button", { name: "Delete" }).click();
    await memory.getByRole("button", { name: "Delete memory" }).click();
    await expect.poll(() => memory.count()).toBe(0);
    expect(hub.hub.supervisor.status().some((s) => s.name === "memory")).toBe(false);
  });

  it("a user who is not an admin sees no admin pages, and the API refuses them", async () => {
    await nav("Users").click();
    const form = page.getByRole("form", { name: "New user" });
    await form.getByLabel("User name").fill("bob");
    await form.getByLabel("Password").fill("short");
    await form.getByRole("button", { name: "Create user" }).click();
    await form.locator("#new-password-error").filter({ hasText: "at least 8" }).waitFor();
    await form.getByLabel("Password").fill("bob-password-1");
    await form.getByRole("button", { name: "Create user" }).click();
    await row("data-user", "bob").waitFor();
    await shots.shoot(page, "users");

    // Another user: made admin, a too short reset refused at its field, then deleted after asking.
    await form.getByLabel("User name").fill("carol");
    await form.getByLabel("Password").fill("carol-password-1");
    await form.getByRole("button", { name: "Create user" }).click();
    const carol = row("data-user", "carol");
    await carol.getByLabel("Role of carol").selectOption("admin");
    await expect.poll(async () => (await carol.getByLabel("Role of carol").inputValue())).toBe("admin");
    await carol.getByRole("button", { name: "Reset password" }).click();
    await carol.getByLabel("New password for carol").fill("short");
    await carol.getByRole("button", { name: "Set password" }).click();
    await carol.getByRole("alert").filter({ hasText: "at least 8" }).waitFor();
    await carol.getByRole("button", { name: "Cancel" }).click();
    await carol.getByRole("button", { name: "Delete" }).click();
    await carol.getByRole("button", { name: "Delete carol" }).click();
    await expect.poll(() => carol.count()).toBe(0);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("User name").fill("bob");
    await page.getByLabel("Password").fill("bob-password-1");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Overview" }).waitFor();
    await nav("API keys").waitFor();
    for (const admin of ["Servers", "Groups", "Users"]) expect(await nav(admin).count()).toBe(0);
    // A deep link to an admin page is not there either.
    await page.goto(`${hub.base}/servers`);
    await page.getByRole("heading", { name: "Not found" }).waitFor();

    const login = await fetch(`${hub.base}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "bob", password: "bob-password-1" }) });
    const { token } = (await login.json()) as { token: string };
    const refused = await fetch(`${hub.base}/api/servers`, { headers: { authorization: `Bearer ${token}` } });
    expect(refused.status).toBe(403);
  });

  it("a user changes their own password (a wrong current one is named at its field) and stays signed in", async () => {
    await page.getByRole("link", { name: "bob (user)" }).click();
    const form = page.getByRole("form", { name: "Change password" });
    await form.getByLabel("Current password").fill("not-it");
    await form.getByLabel("New password").fill("bob-password-3");
    await form.getByRole("button", { name: "Change password" }).click();
    await form.locator("#current-password-error").waitFor();
    await form.getByLabel("Current password").fill("bob-password-1");
    await form.getByRole("button", { name: "Change password" }).click();
    await form.getByRole("status").filter({ hasText: "Password changed." }).waitFor();
    await page.reload();
    await page.getByRole("heading", { name: "Your account" }).waitFor();
    const old = await fetch(`${hub.base}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "bob", password: "bob-password-1" }) });
    expect(old.status).toBe(401);
  });

  it("a changed password ends the other sessions: the page asks to sign in again", async () => {
    const login = await fetch(`${hub.base}/api/auth/login`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ username: "bob", password: "bob-password-3" }) });
    const { token } = (await login.json()) as { token: string };
    const changed = await fetch(`${hub.base}/api/auth/password`, {
      method: "PUT",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ currentPassword: "bob-password-3", newPassword: "bob-password-2" }),
    });
    expect(changed.status).toBe(200);
    // The overview polls: its next request is refused and the page signs out.
    await nav("Overview").click();
    await page.getByRole("button", { name: "Sign in" }).waitFor({ timeout: 15_000 });
    await page.getByText("Your session ended").waitFor();
  });
});
