import { spawnSync } from "node:child_process";
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/processes.ts";

/**
 * infra/systemd, checked by systemd's own `systemd-analyze verify` (unknown keys, bad
 * values, commands that are not there), with /opt/mcphub pointed at this checkout.
 */
let dir: string;
const units = async () => (await readdir(join(repoRoot, "infra/systemd"))).sort();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mcphub-systemd-"));
  for (const f of await units()) {
    const text = await readFile(join(repoRoot, "infra/systemd", f), "utf8");
    // This checkout stands for /opt/mcphub, and this Node for /usr/bin/node (it may live elsewhere here).
    const local = text.replaceAll("/opt/mcphub/", repoRoot.endsWith("/") ? repoRoot : `${repoRoot}/`).replaceAll("/usr/bin/node ", `${process.execPath} `);
    await writeFile(join(dir, f), local);
  }
  // A template is verified through an instance of it.
  await copyFile(join(dir, "mcphub@.service"), join(dir, "mcphub@gateway.service"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("systemd units", () => {
  it("pass systemd-analyze verify without a warning", async () => {
    expect(await units()).toEqual(["mcphub-backup.service", "mcphub-backup.timer", "mcphub-split.target", "mcphub.service", "mcphub@.service"]);
    const r = spawnSync("systemd-analyze", ["verify", "--man=no", "mcphub.service", "mcphub@gateway.service", "mcphub-split.target", "mcphub-backup.service", "mcphub-backup.timer"], { cwd: dir, encoding: "utf8" });
    if (r.error) throw new Error(`systemd-analyze is needed: ${r.error.message}`);
    expect(r.status, r.stderr).toBe(0);
    expect((r.stdout + r.stderr).trim()).toBe("");
  });

  it("run the hub bundle unprivileged, reload by SIGHUP (log reopening), and keep secrets out of the unit", async () => {
    for (const f of ["mcphub.service", "mcphub@.service"]) {
      const text = await readFile(join(repoRoot, "infra/systemd", f), "utf8");
      expect(text, f).toMatch(/^User=mcphub$/m);
      expect(text, f).toMatch(/^ExecStart=\/usr\/bin\/node .*\/opt\/mcphub\/apps\/hub\/dist\/server\.js$/m);
      expect(text, f).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
      expect(text, f).toMatch(/^EnvironmentFile=\/etc\/mcphub\/mcphub\.env$/m);
      expect(text, f).toMatch(/^NoNewPrivileges=yes$/m);
      expect(text, f).not.toMatch(/^Environment=(JWT_SECRET|INTERNAL_TOKEN|ADMIN_PASSWORD|DATABASE_URL)=/m);
    }
    const split = await readFile(join(repoRoot, "infra/systemd/mcphub@.service"), "utf8");
    expect(split).toMatch(/^Environment=HUB_TARGETS=%i$/m);
  });
});
