import { describe, expect, it } from "vitest";
import { ConfigError, envSchema, parseEnv } from "./env.ts";

describe("environment", () => {
  it("has the documented defaults", () => {
    const env = parseEnv(envSchema, {});
    expect(env).toMatchObject({ PORT: 3000, BASE_PATH: "", MCPHUB_SETTING_PATH: "./mcp_settings.json", DATA_DIR: "./data", HUB_TARGETS: "all" });
  });

  it("reports every bad variable together", () => {
    try {
      parseEnv(envSchema, { PORT: "eighty", BASE_PATH: "hub/", LOG_LEVEL: "loud", INIT_TIMEOUT: "-1" });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const keys = (err as ConfigError).issues.map((i) => i.split(":")[0]);
      expect(keys.sort()).toEqual(["BASE_PATH", "INIT_TIMEOUT", "LOG_LEVEL", "PORT"]);
    }
  });
});
