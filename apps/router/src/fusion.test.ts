import { describe, expect, it } from "vitest";
import { FUSION_DEFAULTS, fuse } from "./fusion.ts";

describe("score fusion", () => {
  it("keeps scores in [0, 1], lets a strong lexical match survive a weak semantic one, and orders ties by id", () => {
    const lexical = new Map([["s/exact_name", 1], ["s/other", 0.1]]);
    const semantic = new Map([["s/similar", 0.7], ["s/other", 0.5], ["s/b", 0.3], ["s/a", 0.3]]);
    const fused = fuse(lexical, semantic, 0.3, FUSION_DEFAULTS);
    expect(fused.every((f) => f.score >= 0 && f.score <= 1)).toBe(true);
    expect(fused[0]!.contentId).toBe("s/exact_name");
    const ids = fused.map((f) => f.contentId);
    expect(ids.indexOf("s/a")).toBeLessThan(ids.indexOf("s/b"));
    // Without the semantic signal the lexical scores rank, stretched alike.
    const lexicalOnly = fuse(lexical, undefined, 0, FUSION_DEFAULTS);
    expect(lexicalOnly.map((f) => f.contentId)).toEqual(["s/exact_name", "s/other"]);
    expect(lexicalOnly[0]!.score).toBe(1);
    expect(lexicalOnly[1]!.score).toBeGreaterThan(0.1);
    expect(lexicalOnly[1]!.score).toBeLessThan(0.3);
  });
});
