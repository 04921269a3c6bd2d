import { createHmac } from "node:crypto";
import { Webhooks } from "@octokit/webhooks";
import { describe, expect, test } from "vitest";
import { githubSignatureCheck, hmacSha256HexMatches } from "../src/http/signature.js";

const SECRET = "fixloop-signature-secret";
const body = Buffer.from(JSON.stringify({ action: "completed", note: "ünïcode ✓" }));
const hex = createHmac("sha256", SECRET).update(body).digest("hex");

describe("GitHub signature check", () => {
  const check = githubSignatureCheck(SECRET);

  test("accepts GitHub's header for the exact bytes, as Buffer or as the same text", () => {
    expect(check(body, `sha256=${hex}`)).toBe(true);
    expect(check(body.toString("utf8"), `sha256=${hex}`)).toBe(true);
    expect(check(body, `sha256=${hex.toUpperCase()}`)).toBe(true);
  });

  test("agrees with Probot's own verify (@octokit/webhooks) on what it signs", async () => {
    const webhooks = new Webhooks({ secret: SECRET });
    const signature = await webhooks.sign(body.toString("utf8"));
    expect(check(body, signature)).toBe(true);
    expect(await webhooks.verify(body.toString("utf8"), `sha256=${hex}`)).toBe(true);
  });

  test("refuses a changed body, another secret, the SHA-1 header, a truncated or garbled signature, and nothing", () => {
    const changed = Buffer.from(body);
    changed[2] ^= 1;
    expect(check(changed, `sha256=${hex}`)).toBe(false);
    expect(githubSignatureCheck("another-secret")(body, `sha256=${hex}`)).toBe(false);
    expect(check(body, `sha1=${createHmac("sha1", SECRET).update(body).digest("hex")}`)).toBe(false);
    expect(check(body, `sha256=${hex.slice(0, 63)}`)).toBe(false);
    expect(check(body, `sha256=${hex.slice(0, 63)}z`)).toBe(false);
    expect(check(body, hex)).toBe(false);
    expect(check(body, "")).toBe(false);
  });

  test("an empty secret matches nothing, not even a signature made with it", () => {
    const emptySigned = createHmac("sha256", "").update(body).digest("hex");
    expect(hmacSha256HexMatches(emptySigned, body, "")).toBe(false);
    expect(githubSignatureCheck("")(body, `sha256=${emptySigned}`)).toBe(false);
  });
});
