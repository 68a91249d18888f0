/**
 * Renders MCPHub's nginx templates (infra/nginx/{http,https}/mcphub.conf.template) the way the
 * nginx image's envsubst does in compose, for `pnpm cluster` and the tests: every `${NAME}` is
 * replaced, and a name without a value is an error rather than an empty string.
 */
import { spawnSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const nginxDir = fileURLToPath(new URL("../nginx/", import.meta.url));

export interface NginxTopology {
  gateways: string[];
  supervisor: string;
  auth: string;
  /** Where plain HTTP listens (`127.0.0.1:8080`, `80`). */
  listen: string;
  /** With TLS, plain HTTP only redirects here. */
  tls?: { listen: string; port: number; cert: string; key: string };
}

/** Substitutes `${NAME}`; throws naming every variable the values lack. */
export function substitute(template: string, values: Record<string, string>): string {
  const missing = new Set<string>();
  const out = template.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
    const v = values[name];
    if (v === undefined) missing.add(name);
    return v ?? "";
  });
  if (missing.size) throw new Error(`nginx template needs ${[...missing].join(", ")}`);
  return out;
}

/** The values the templates take, as compose's nginx service sets them. */
export function templateValues(t: NginxTopology): Record<string, string> {
  if (t.gateways.length === 0) throw new Error("nginx needs at least one gateway");
  return {
    MCPHUB_GATEWAY_SERVERS: t.gateways.map((g) => `server ${g} max_fails=1 fail_timeout=5s;`).join("\n    "),
    MCPHUB_SUPERVISOR_ADDR: t.supervisor,
    MCPHUB_AUTH_ADDR: t.auth,
    MCPHUB_LISTEN: t.listen,
    MCPHUB_NGINX_DIR: nginxDir.replace(/\/$/, ""),
    ...(t.tls
      ? { MCPHUB_TLS_LISTEN: t.tls.listen, MCPHUB_HTTPS_PORT: String(t.tls.port), MCPHUB_TLS_CERT: t.tls.cert, MCPHUB_TLS_KEY: t.tls.key }
      : {}),
  };
}

export async function renderServerConfig(t: NginxTopology): Promise<string> {
  const template = await readFile(join(nginxDir, t.tls ? "https" : "http", "mcphub.conf.template"), "utf8");
  return substitute(template, templateValues(t));
}

/** A private nginx's main file: its own pid and temp paths under runDir, in the foreground. */
export function mainConfig(runDir: string, include: string): string {
  return [
    "daemon off;",
    "worker_processes 2;",
    `pid ${join(runDir, "nginx.pid")};`,
    `error_log ${join(runDir, "nginx-error.log")} warn;`,
    "events { worker_connections 4096; }",
    "http {",
    "  access_log off;",
    ...["client_body", "proxy", "fastcgi", "uwsgi", "scgi"].map((t) => `  ${t}_temp_path ${join(runDir, `${t}_temp`)};`),
    `  include ${include};`,
    "}",
    "",
  ].join("\n");
}

/** A self-signed certificate for 127.0.0.1 and localhost (openssl), valid for `days`. */
export function selfSignedCertificate(dir: string, days = 7): { cert: string; key: string } {
  const cert = join(dir, "tls-cert.pem");
  const key = join(dir, "tls-key.pem");
  const made = spawnSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", String(days), "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
    { encoding: "utf8" },
  );
  if (made.status !== 0) throw new Error(`openssl could not make a certificate: ${made.stderr || made.error?.message}`);
  return { cert, key };
}
