import { describe, expect, it } from "vitest";
import { LexicalIndex, terms, words } from "./lexical.ts";

const doc = (name: string, description: string, server = "s", params = "") => ({ name, description, params, server });

describe("the lexical ranker", () => {
  it("reads identifiers as words, whatever their case or separators", () => {
    expect(words("getWeatherForecast")).toEqual(["get", "weather", "forecast"]);
    expect(words("get_weather-forecast")).toEqual(["get", "weather", "forecast"]);
    expect(words("HTTPServer listFiles")).toEqual(["http", "server", "list", "files"]);
    expect(terms("getWeatherForecast")).toEqual(terms("get weather forecasts"));
  });

  it("stems, so plural and singular, -ing and the base form meet, and drops stop words", () => {
    expect(terms("numbers")).toEqual(terms("number"));
    expect(terms("searching")).toEqual(terms("search"));
    expect(terms("what is the weather")).toEqual(terms("weather"));
  });

  it("ranks the exact name first, scores a rare word above a common one, and normalises to the query's maximum", () => {
    const index = new LexicalIndex([
      doc("get_weather", "Current weather for a city"),
      doc("get_forecast", "Weather forecast for the next days"),
      doc("list_files", "List the files of a directory"),
      doc("read_file", "Read a file"),
    ]);
    const { matches, max } = index.search("getWeather");
    const best = [...matches].sort((a, b) => b.score - a.score);
    expect(best[0]!.doc).toBe(0);
    expect(best[0]!.score / max).toBeGreaterThan(0.5);
    expect(best[0]!.score / max).toBeLessThanOrEqual(1);
    expect(index.idf(terms("directory")[0]!)).toBeGreaterThan(index.idf(terms("file")[0]!));
    // A restriction keeps other documents out entirely.
    expect(index.search("weather", (d) => d === 1).matches.map((m) => m.doc)).toEqual([1]);
    // A query of unknown words matches nothing and has nothing to attain.
    expect(index.search("zzzq xqvb")).toEqual({ matches: [], max: 0 });
  });
});
