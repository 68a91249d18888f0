import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer, type Server } from "node:http";
import { request as httpsRequest } from "node:https";
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { waitUntil } from "../../apps/hub/test/helpers/hub.ts";
import { mainConfig, nginxDir, renderServerConfig, selfSignedCertificate, substitute, type NginxTopology } from "../../infra/scripts/nginx-config.ts";
import { environmentOf, loadCompose } from "../helpers/compose.ts";
import { freePort } from "../helpers/processes.ts";

/**
 * The nginx configuration compose and `pnpm cluster` use, run by the real nginx: `nginx -t`
 * on both modes, then requests through the TLS mode to stand-ins for the three services
 * (each answers with its name, the path and the X-Request-Id it received).
 */
let dir: string;
let cert: { cert: string; key: string };
let ca: Buffer;
const standIns: Server[] = [];
let nginx: ChildProcess | undefined;
let ports: { gateway: number; supervisor: number; auth: number; http: number; https: number };
const nginxOutput: string[] = [];

async function standIn(role: string): Promise<number> {
  const server = createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ role, path: req.url, requestId: req.headers["x-request-id"] ?? null, proto: req.headers["x-forwarded-proto"] ?? null }));
  });
  standIns.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as { port: number }).port;
}

async function writeConfig(name: string, topology: NginxTopology): Promise<string> {
  const runDir = join(dir, name);
  await mkdir(runDir, { recursive: true });
  await writeFile(join(runDir, "mcphub.conf"), await renderServerConfig(topology));
  const main = join(runDir, "nginx.conf");
  await writeFile(main, mainConfig(runDir, join(runDir, "mcphub.conf")));
  return main;
}

function nginxTest(main: string): { status: number | null; output: string } {
  const r = spawnSync("nginx", ["-t", "-p", dir, "-c", main], { encoding: "utf8" });
  return { status: r.status, output: r.stdout + r.stderr };
}

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: any;
}

function viaTls(path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: "127.0.0.1", port: ports.https, path, ca, headers, servername: "localhost" }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: text.startsWith("{") ? JSON.parse(text) : text }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** The protocol nginx agreed to, or the error when it refused. */
function handshake(version: "TLSv1.1" | "TLSv1.2" | "TLSv1.3"): Promise<string> {
  return new Promise((resolve) => {
    // Security level 0 lets this client offer TLS 1.1 at all, so a refusal is the server's.
    const socket = tlsConnect({ host: "127.0.0.1", port: ports.https, ca, servername: "localhost", minVersion: version, maxVersion: version, ciphers: "DEFAULT:@SECLEVEL=0" }, () => {
      resolve(socket.getProtocol() ?? "none");
      socket.end();
    });
    socket.on("error", (err) => resolve(`refused: ${err.message}`));
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mcphub-nginx-"));
  cert = selfSignedCertificate(dir);
  ca = await readFile(cert.cert);
  ports = {
    gateway: await standIn("gateway"),
    supervisor: await standIn("supervisor"),
    auth: await standIn("auth"),
    http: await freePort(),
    https: await freePort(),
  };
});

afterAll(async () => {
  if (nginx && nginx.exitCode === null) {
    const exited = new Promise((r) => nginx!.once("exit", r));
    nginx.kill("SIGTERM");
    await exited;
  }
  await Promise.all(standIns.map((s) => new Promise((r) => s.close(r))));
  await rm(dir, { recursive: true, force: true });
});

const topology = (tls: boolean): NginxTopology => ({
  gateways: [`127.0.0.1:${ports.gateway}`],
  supervisor: `127.0.0.1:${ports.supervisor}`,
  auth: `127.0.0.1:${ports.auth}`,
  listen: `127.0.0.1:${ports.http}`,
  tls: tls ? { ...cert, listen: `127.0.0.1:${ports.https}`, port: ports.https } : undefined,
});

describe("nginx configuration", () => {
  it("passes nginx -t over plain HTTP and with TLS", async () => {
    for (const tls of [false, true]) {
      const result = nginxTest(await writeConfig(tls ? "tls" : "plain", topology(tls)));
      expect(result.status, result.output).toBe(0);
      expect(result.output).toMatch(/syntax is ok/);
    }
  });

  it("refuses a template value that is missing, naming it", () => {
    expect(() => substitute("listen ${MCPHUB_LISTEN}; server ${MCPHUB_AUTH_ADDR};", { MCPHUB_LISTEN: "80" })).toThrow(/MCPHUB_AUTH_ADDR/);
  });

  it("fails nginx -t when the certificate is not there", async () => {
    const t = topology(true);
    const result = nginxTest(await writeConfig("no-cert", { ...t, tls: { ...t.tls!, cert: join(dir, "missing.pem") } }));
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/missing\.pem/);
  });

  describe("with TLS, running", () => {
    beforeAll(async () => {
      const main = await writeConfig("tls-run", topology(true));
      nginx = spawn("nginx", ["-p", dir, "-c", main], { stdio: ["ignore", "pipe", "pipe"] });
      nginx.stderr!.on("data", (d: Buffer) => nginxOutput.push(d.toString()));
      await waitUntil(async () => {
        if (nginx!.exitCode !== null) throw new Error(`nginx exited: ${nginxOutput.join("")}`);
        return viaTls("/api/health").then(() => true, () => false);
      }, 10_000, "nginx to serve TLS");
    });

    it("redirects plain HTTP to HTTPS, keeping the path", async () => {
      const res = await fetch(`http://127.0.0.1:${ports.http}/mcp/notes?x=1`, { redirect: "manual" });
      expect(res.status).toBe(301);
      expect(res.headers.get("location")).toBe(`https://127.0.0.1:${ports.https}/mcp/notes?x=1`);
    });

    it("speaks TLS 1.2 and 1.3 only", async () => {
      expect(await handshake("TLSv1.3")).toBe("TLSv1.3");
      expect(await handshake("TLSv1.2")).toBe("TLSv1.2");
      expect(await handshake("TLSv1.1")).toMatch(/^refused/);
    });

    it("routes each path to its service, readiness to the gateways, and hides /internal and /metrics", async () => {
      const cases: [string, string][] = [
        ["/mcp", "gateway"],
        ["/sse", "gateway"],
        ["/messages?sessionId=1", "gateway"],
        ["/api/health", "gateway"],
        ["/api/health/ready", "gateway"],
        ["/api/servers", "supervisor"],
        ["/api/settings", "supervisor"],
        ["/api/auth/login", "auth"],
        ["/api/keys", "auth"],
        ["/api/audit", "auth"],
      ];
      for (const [path, role] of cases) {
        const res = await viaTls(path);
        expect(res.status, path).toBe(200);
        expect(res.body, path).toMatchObject({ role, path, proto: "https" });
      }
      for (const path of ["/internal/catalog", "/metrics", "/nowhere"]) {
        const res = await viaTls(path);
        expect(res.status, path).toBe(404);
        expect(typeof res.body === "string" || res.body.role === undefined, path).toBe(true);
      }
      expect((await viaTls("/api/health")).headers["strict-transport-security"]).toMatch(/max-age=\d+/);
    });

    it("passes the client's X-Request-Id on, or makes one, and answers with it", async () => {
      const given = await viaTls("/mcp", { "x-request-id": "client-chosen-id-1" });
      expect(given.body.requestId).toBe("client-chosen-id-1");
      expect(given.headers["x-request-id"]).toBe("client-chosen-id-1");
      const made = await viaTls("/mcp");
      expect(made.body.requestId).toMatch(/^[0-9a-f]{32}$/);
      expect(made.headers["x-request-id"]).toBe(made.body.requestId);
    });
  });
});

/**
 * What the nginx image does at start in compose: source infra/nginx/tls-mode.envsh (mounted in
 * /docker-entrypoint.d), then envsubst every template of the directory it chose with the
 * container's environment (only the variables that are set, as 20-envsubst-on-templates.sh
 * does). Here with the compose file's nginx environment, the mounts mapped to local paths and
 * the services' host names to loopback (nginx -t resolves them).
 */
describe("nginx as compose starts it", () => {
  async function start(certs: "both" | "none" | "one"): Promise<{ status: number | null; stderr: string; rendered?: string; mode?: string }> {
    const root = join(dir, `compose-${certs}`);
    const certDir = join(root, "certs");
    const outDir = join(root, "conf.d");
    await mkdir(certDir, { recursive: true });
    await mkdir(outDir, { recursive: true });
    if (certs !== "none") await copyFile(cert.cert, join(certDir, "fullchain.pem"));
    if (certs === "both") await copyFile(cert.key, join(certDir, "privkey.pem"));
    const compose = await loadCompose({ JWT_SECRET: "j", INTERNAL_TOKEN: "i", POSTGRES_PASSWORD: "p", ADMIN_PASSWORD: "a", GRAFANA_ADMIN_PASSWORD: "g" });
    const env: Record<string, string> = {
      ...environmentOf(compose.services.nginx),
      MCPHUB_GATEWAY_SERVERS: `server 127.0.0.1:${ports.gateway} max_fails=1 fail_timeout=5s;`,
      MCPHUB_AUTH_ADDR: `127.0.0.1:${ports.auth}`,
      MCPHUB_SUPERVISOR_ADDR: `127.0.0.1:${ports.supervisor}`,
      MCPHUB_LISTEN: `127.0.0.1:${ports.http}`,
      MCPHUB_TLS_LISTEN: `127.0.0.1:${ports.https}`,
      MCPHUB_NGINX_DIR: nginxDir.replace(/\/$/, ""),
      MCPHUB_CERTS_DIR: certDir,
      MCPHUB_TEMPLATES_ROOT: nginxDir.replace(/\/$/, ""),
      PATH: process.env.PATH ?? "/usr/bin:/bin",
    };
    const entry = `
      set -e
      . ${JSON.stringify(join(nginxDir, "tls-mode.envsh"))}
      defined_envs=$(printf '\${%s} ' $(awk 'END { for (name in ENVIRON) { print name } }' < /dev/null))
      for template in "$NGINX_ENVSUBST_TEMPLATE_DIR"/*.template; do
        envsubst "$defined_envs" < "$template" > ${JSON.stringify(outDir)}/"$(basename "$template" .template)"
      done
      printf '%s' "$NGINX_ENVSUBST_TEMPLATE_DIR"
    `;
    const r = spawnSync("sh", ["-c", entry], { env, encoding: "utf8" });
    if (r.status !== 0) return { status: r.status, stderr: r.stderr };
    const [file] = await readdir(outDir);
    return { status: 0, stderr: r.stderr, mode: r.stdout, rendered: join(outDir, file!) };
  }

  it("with a certificate and key: the https/ configuration, which nginx -t accepts", async () => {
    const r = await start("both");
    expect(r.status, r.stderr).toBe(0);
    expect(r.mode).toBe(join(nginxDir, "https"));
    const text = await readFile(r.rendered!, "utf8");
    expect(text).not.toMatch(/\$\{[A-Z_]+\}/);
    expect(text).toMatch(/ssl_protocols TLSv1\.2 TLSv1\.3;/);
    // nginx's own variables survive envsubst.
    expect(text).toContain("return 301 https://$host:443$request_uri;");
    const main = join(dir, "compose-both", "nginx.conf");
    await writeFile(main, mainConfig(join(dir, "compose-both"), r.rendered!));
    const t = nginxTest(main);
    expect(t.status, t.output).toBe(0);
  });

  it("without certificates: plain HTTP, which nginx -t accepts", async () => {
    const r = await start("none");
    expect(r.status, r.stderr).toBe(0);
    expect(r.mode).toBe(join(nginxDir, "http"));
    expect(r.stderr).toMatch(/serving plain HTTP/);
    const main = join(dir, "compose-none", "nginx.conf");
    await writeFile(main, mainConfig(join(dir, "compose-none"), r.rendered!));
    const t = nginxTest(main);
    expect(t.status, t.output).toBe(0);
  });

  it("with only one of the two files: refuses to start, saying which are needed", async () => {
    const r = await start("one");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/need both .*fullchain\.pem and .*privkey\.pem/);
  });
});
