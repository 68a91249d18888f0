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
    // Without the semantic signal the lexical scores are the scores.
    expect(fuse(lexical, undefined, 0, FUSION_DEFAULTS)).toEqual([
      { contentId: "s/exact_name", score: 1 },
      { contentId: "s/other", score: 0.1 },
    ]);
  });
});
