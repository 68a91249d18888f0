import { describe, expect, it } from "vitest";
import { LocalEmbedder, stem, words } from "./local.embedder.ts";

const cosine = (a: number[], b: number[]) => a.reduce((s, x, i) => s + x * b[i]!, 0);
const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

describe("LocalEmbedder", () => {
  const embedder = new LocalEmbedder();

  it("is deterministic, 1,024-dimensional and L2-normalised, and names its model by version and size", async () => {
    const [a, b] = await embedder.embed(["Returns the sum of two numbers", "Returns the sum of two numbers"]);
    expect(a).toHaveLength(1024);
    expect(a).toEqual(b);
    expect(norm(a!)).toBeCloseTo(1, 10);
    expect(embedder.model).toBe("local-hash-v1-1024");
    expect(new LocalEmbedder(64).model).toBe("local-hash-v1-64");
  });

  it("ranks the text that shares the query's words first", async () => {
    const tools = ["everything get sum\nReturns the sum of two numbers", "everything echo\nEchoes back the input string", "filesystem read file\nRead the complete contents of a file"];
    const vectors = await embedder.embed(tools);
    const q = embedder.embedOne("add two numbers");
    const scores = vectors.map((v) => cosine(q, v));
    expect(scores[0]).toBeGreaterThan(scores[1]!);
    expect(scores[0]).toBeGreaterThan(scores[2]!);
    const read = embedder.embedOne("read a file's contents");
    expect(cosine(read, vectors[2]!)).toBeGreaterThan(cosine(read, vectors[0]!));
  });

  it("reads identifiers as words, whatever their case or separators", () => {
    expect(words("getWeatherForecast")).toEqual(["get", "weather", "forecast"]);
    expect(words("get_weather-forecast")).toEqual(["get", "weather", "forecast"]);
    expect(words("HTTPServer listFiles")).toEqual(["http", "server", "list", "files"]);
    expect(embedder.embedOne("getWeatherForecast")).toEqual(embedder.embedOne("get weather forecast"));
  });

  it("strips common suffixes so plural and singular meet", () => {
    expect(stem("numbers")).toBe(stem("number"));
    expect(stem("files")).toBe("file");
    expect(stem("searching")).toBe("search");
    expect(stem("queries")).toBe("query");
    expect(stem("class")).toBe("class");
  });

  it("never returns the zero vector, even for stop words only or no words at all", () => {
    for (const text of ["what can you do", "", "!!! ???"]) {
      const v = embedder.embedOne(text);
      expect(norm(v)).toBeCloseTo(1, 10);
    }
    // Stop words alone still tell texts apart.
    expect(embedder.embedOne("what can you do")).not.toEqual(embedder.embedOne("who are you"));
  });
});
