import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { chromium, type BrowserContext, type Page } from "playwright-core";

const dashboardRoot = fileURLToPath(new URL("../../", import.meta.url));
const require = createRequire(import.meta.url);

/**
 * Builds the dashboard with Vite into a fresh folder, so a test never depends on an earlier
 * `pnpm start` and never races another build of apps/dashboard/dist.
 */
export async function buildDashboard(): Promise<string> {
  const outDir = await mkdtemp(join(tmpdir(), "mcphub-dashboard-build-"));
  const vite = join(require.resolve("vite/package.json").replace(/package\.json$/, ""), "bin/vite.js");
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [vite, "build", "--outDir", outDir, "--emptyOutDir", "--logLevel", "warn"], { cwd: dashboardRoot, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d));
    child.stderr.on("data", (d: Buffer) => (output += d));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`vite build failed (${code}):\n${output}`))));
  });
  return outDir;
}

/** The flags for Debian's Chromium on a machine without a display, GPU or network beyond loopback. */
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  close(): Promise<void>;
}

/** One headless Chromium with a fresh profile (its own --user-data-dir). */
export async function launchBrowser(): Promise<TestBrowser> {
  const profile = await mkdtemp(join(tmpdir(), "mcphub-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 800 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Screenshots at laptop and phone widths, into a folder a person can look at. */
export async function screenshotter(name: string) {
  const dir = join(tmpdir(), `mcphub-dashboard-screenshots-${name}`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  return {
    dir,
    async shoot(page: Page, what: string) {
      const size = page.viewportSize() ?? { width: 1280, height: 800 };
      for (const [label, width, height] of [["laptop", 1280, 800], ["phone", 390, 844]] as const) {
        await page.setViewportSize({ width, height });
        await page.screenshot({ path: join(dir, `${what}-${label}.png`), fullPage: true });
      }
      await page.setViewportSize(size);
    },
  };
}
