import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply } from "fastify";

/** Where the dashboard's build lands, from src/ and from the bundled dist/ alike (both sit two levels below apps/). */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL("../../dashboard/dist/", import.meta.url));

export interface DashboardStaticOptions {
  /** The built dashboard (index.html and assets/); false serves none. */
  dir: string | false;
  /** The prefix the hub is mounted under: the page's `<base href>` so its relative asset and API URLs resolve under it. */
  basePath: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".woff2": "font/woff2",
  ".map": "application/json",
  ".txt": "text/plain; charset=utf-8",
};

/** Paths that belong to the API and MCP endpoints: an unknown one there is a 404, never the page. */
const RESERVED = /^\/(api|mcp|sse|messages|metrics|internal|\.well-known)(\/|$)/;

/**
 * The dashboard at the hub's root: files of the Vite build, hashed assets cached for good,
 * index.html never cached (it names the current assets), and every other path that is not
 * a file answered with index.html, so deep links and reloads land in the app.
 */
export async function dashboardStatic(app: FastifyInstance, opts: DashboardStaticOptions): Promise<void> {
  if (opts.dir === false) return;
  const root = normalize(opts.dir.endsWith(sep) ? opts.dir : opts.dir + sep);
  const base = `${opts.basePath}/`.replace(/"/g, "&quot;");
  // Read per request (a few kB): a rebuilt dashboard is served without restarting the hub.
  const page = async (): Promise<string | undefined> => {
    const html = await readFile(join(root, "index.html"), "utf8").catch(() => undefined);
    return html?.replace(/<base href="[^"]*"\s*\/?>/, `<base href="${base}">`);
  };
  const sendPage = async (reply: FastifyReply) => {
    const html = await page();
    if (html === undefined) {
      return reply
        .code(404)
        .type("text/plain; charset=utf-8")
        .send("The dashboard is not built. Run `pnpm start` (it builds it), or `pnpm --filter @mcphub/dashboard build`.");
    }
    return reply.header("cache-control", "no-cache").type(TYPES[".html"]!).send(html);
  };

  app.get("/", async (_req, reply) => sendPage(reply));
  app.get("/*", async (req, reply) => {
    const path = decodeURIComponent((req.params as { "*": string })["*"] ?? "");
    if (RESERVED.test(`/${path}`)) return reply.callNotFound();
    const file = normalize(join(root, path));
    if (file.startsWith(root) && file !== join(root, "index.html")) {
      const info = await stat(file).catch(() => undefined);
      if (info?.isFile()) {
        // Vite names built assets by their content hash: a changed file gets a new name.
        const immutable = path.startsWith("assets/");
        reply.header("cache-control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
        return reply.type(TYPES[extname(file)] ?? "application/octet-stream").send(await readFile(file));
      }
    }
    // A missing asset is a 404, not the page (a browser would try to run HTML as a script).
    if (path.startsWith("assets/") || TYPES[extname(path)]) return reply.callNotFound();
    return sendPage(reply);
  });
}
