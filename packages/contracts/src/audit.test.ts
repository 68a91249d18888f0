import { describe, expect, it } from "vitest";
import { completeEvent, parseStreamEvent, redactDetails } from "@mcphub/contracts";

describe("audit events", () => {
  it("get an id and a time when the producer gives none", () => {
    const e = completeEvent({ action: "user.create", resource: "user", success: true });
    expect(e.eventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(new Date(e.at).toISOString()).toBe(e.at);
  });

  it("never carry a secret in details, at any depth", () => {
    const e = completeEvent({
      action: "x.y",
      resource: "r",
      success: true,
      details: { password: "p1", nested: { apiKey: "k1", list: [{ token: "t1", authorization: "a1" }], keyId: "kept", newPassword: "p2" }, name: "kept" },
    });
    const text = JSON.stringify(e);
    for (const secret of ["p1", "p2", "k1", "t1", "a1"]) expect(text).not.toContain(`"${secret}"`);
    expect(e.details).toMatchObject({ name: "kept", nested: { keyId: "kept" } });
    expect(redactDetails({ key: "k", prefix: "mcphub_ab" })).toEqual({ key: "[redacted]", prefix: "mcphub_ab" });
  });

  it("are refused at the producer when they could not be stored", () => {
    expect(() => completeEvent({ action: "", resource: "r", success: true })).toThrow(/action/);
    expect(() => completeEvent({ action: "a", resource: "r", success: true, userId: "not-a-uuid" })).toThrow(/userId/);
    expect(() => completeEvent({ action: "a".repeat(101), resource: "r", success: true })).toThrow(/action/);
  });

  it("parse from the stream, with the reason when they cannot", () => {
    const good = completeEvent({ action: "a.b", resource: "r", success: false, ip: "10.0.0.1" });
    expect(parseStreamEvent(JSON.stringify(good))).toEqual({ event: good });
    expect(parseStreamEvent(JSON.stringify({ ...good, userId: null, details: null })).event).toEqual(good);
    expect(parseStreamEvent(undefined).error).toMatch(/no 'event' field/);
    expect(parseStreamEvent("{").error).toMatch(/not JSON/);
    expect(parseStreamEvent(JSON.stringify({ ...good, success: "yes" })).error).toMatch(/^success: /);
  });
});
