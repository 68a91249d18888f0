import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/** Static checks of the task-style retrieval set in bench/router/catalog-tasks. */
const dir = join(import.meta.dirname, "../../bench/router/catalog-tasks");
const lines = (file: string) =>
  readFileSync(join(dir, file), "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "");

interface Query {
  id: string;
  query: string;
  gold_tools: string[];
  kind: "single" | "multi";
}

describe("bench/router/catalog-tasks", () => {
  const tools = lines("tools.jsonl").map((l) => JSON.parse(l) as { server: string; name: string });
  const toolIds = new Set(tools.map((t) => `${t.server}/${t.name}`));
  const queryLines = lines("queries.jsonl");

  it("has a catalog of uniquely named tools", () => {
    expect(tools.length).toBeGreaterThan(0);
    expect(toolIds.size).toBe(tools.length);
  });

  it("parses every query line into the expected shape", () => {
    expect(queryLines.length).toBeGreaterThanOrEqual(120);
    for (const line of queryLines) {
      const q = JSON.parse(line) as Query;
      expect(typeof q.id, line).toBe("string");
      expect(typeof q.query, line).toBe("string");
      expect(q.query.trim(), line).not.toBe("");
      expect(Array.isArray(q.gold_tools), line).toBe(true);
      expect(["single", "multi"], line).toContain(q.kind);
    }
  });

  const queries = queryLines.map((l) => JSON.parse(l) as Query);

  it("gives every query a unique id", () => {
    expect(new Set(queries.map((q) => q.id)).size).toBe(queries.length);
  });

  it("names only tools that exist in the catalog, each once per query", () => {
    for (const q of queries) {
      for (const g of q.gold_tools) expect(toolIds.has(g), `${q.id}: ${g}`).toBe(true);
      expect(new Set(q.gold_tools).size, q.id).toBe(q.gold_tools.length);
    }
  });

  it("gives singles exactly one gold tool and multis at least two", () => {
    for (const q of queries) {
      if (q.kind === "single") expect(q.gold_tools, q.id).toHaveLength(1);
      else expect(q.gold_tools.length, q.id).toBeGreaterThanOrEqual(2);
    }
  });
});
