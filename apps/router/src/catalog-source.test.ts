import { describe, expect, expectTypeOf, it } from "vitest";
import { searchRequestSchema, type CatalogSource, type SupervisorPort } from "@mcphub/contracts";
import { StaticCatalog } from "./static-catalog.ts";

describe("search contract", () => {
  it("lets the supervisor itself be the router's catalog source in one process", () => {
    // Checked by the type checker: SupervisorPort has everything a CatalogSource needs.
    expectTypeOf<SupervisorPort>().toExtend<CatalogSource>();
    const source: CatalogSource = new StaticCatalog({ s: [{ name: "t" }] });
    let calls = 0;
    source.onCatalogChanged(() => calls++);
    (source as StaticCatalog).set({ s: [] });
    expect(calls).toBe(1);
    expect(source.catalog().version).toBe(2);
  });

  it("defaults the limit to 10 and trims the query", () => {
    expect(searchRequestSchema.parse({ query: "  add two numbers " })).toEqual({ query: "add two numbers", limit: 10 });
  });
});
