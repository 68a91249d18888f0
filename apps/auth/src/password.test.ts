import { describe, expect, it } from "vitest";
import { generatePassword, hashPassword, parsePasswordHash, verifyPassword } from "./password.ts";

describe("password hashing", () => {
  it("encodes scrypt with its parameters and a per-hash salt", async () => {
    const a = await hashPassword("correct horse");
    const b = await hashPassword("correct horse");
    expect(a).toMatch(/^scrypt\$N=32768,r=8,p=3\$/);
    expect(a).not.toBe(b);
    expect(parsePasswordHash(a)!.salt).not.toEqual(parsePasswordHash(b)!.salt);
    expect(a).not.toContain("correct horse");
  });

  it("verifies the right password only", async () => {
    const hash = await hashPassword("correct horse");
    expect(await verifyPassword("correct horse", hash)).toBe(true);
    expect(await verifyPassword("correct horsE", hash)).toBe(false);
    expect(await verifyPassword("", hash)).toBe(false);
  });

  it("verifies hashes made with other parameters, from their encoding", async () => {
    // N=1024: what an older or cheaper setting would have stored.
    const { scryptSync, randomBytes } = await import("node:crypto");
    const salt = randomBytes(16);
    const key = scryptSync("legacy", salt, 32, { N: 1024, r: 8, p: 1 });
    const encoded = `scrypt$N=1024,r=8,p=1$${salt.toString("base64")}$${key.toString("base64")}`;
    expect(await verifyPassword("legacy", encoded)).toBe(true);
    expect(await verifyPassword("other", encoded)).toBe(false);
  });

  it("refuses malformed or absurd encodings instead of throwing or allocating gigabytes", async () => {
    for (const bad of ["plaintext", "scrypt$N=3,r=8,p=1$AAAA$AAAA", "scrypt$N=4194304,r=8,p=1$AAAA$AAAA", "bcrypt$2b$10$abc", ""]) {
      expect(await verifyPassword("x", bad)).toBe(false);
    }
  });

  it("generates first-admin passwords that are long and distinct", () => {
    const a = generatePassword();
    expect(a.length).toBeGreaterThanOrEqual(24);
    expect(a).not.toBe(generatePassword());
  });
});
