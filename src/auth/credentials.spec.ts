import { SignJWT, type JWTPayload } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { AuthError, Authenticator, VERIFIED_TOKEN_TTL_MS } from "./credentials";
import { authSettings } from "./settings";

const SECRET = "a-shared-secret-of-at-least-32-bytes-for-tests";

function token(claims: JWTPayload): Promise<string> {
  return new SignJWT({ accounts: ["1001"], ...claims })
    .setProtectedHeader({ alg: "HS256" })
    .sign(new TextEncoder().encode(SECRET));
}

const request = (credential: string) => ({ headers: { authorization: `Bearer ${credential}` } });

describe("verified JWTs are remembered", () => {
  afterEach(() => vi.useRealTimers());

  it("answers a token sent again from memory, with the same principal", async () => {
    const authenticator = new Authenticator(authSettings({ TRAILGRAPH_JWT_SECRET: SECRET }));
    const sent = await token({ sub: "alice", exp: Math.floor(Date.now() / 1000) + 3600 });
    const first = await authenticator.authenticate(request(sent));
    expect(first).toMatchObject({ subject: "alice", via: "jwt" });
    expect(first.scope.accountIds).toEqual(new Set(["1001"]));
    expect(await authenticator.authenticate(request(sent))).toBe(first);
    // Another token of the same subject is another entry.
    const other = await token({ sub: "alice", accounts: ["1002"], exp: Math.floor(Date.now() / 1000) + 3600 });
    expect((await authenticator.authenticate(request(other))).scope.accountIds).toEqual(new Set(["1002"]));
  });

  it("never past the token's exp, nor longer than the cache's time", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const start = Date.now();
    const authenticator = new Authenticator(authSettings({ TRAILGRAPH_JWT_SECRET: SECRET }));
    const short = await token({ sub: "bob", exp: Math.floor(start / 1000) + 10 });
    const long = await token({ sub: "carol", exp: Math.floor(start / 1000) + 3600 });
    const first = await authenticator.authenticate(request(long));
    expect((await authenticator.authenticate(request(short))).subject).toBe("bob");

    // Expired, past the default clock tolerance of 30 s, within the cache's time: refused, not
    // answered from memory.
    vi.setSystemTime(start + 41_000);
    await expect(authenticator.authenticate(request(short))).rejects.toThrow(AuthError);
    await expect(authenticator.authenticate(request(short))).rejects.toThrow(/expired/);
    expect(await authenticator.authenticate(request(long))).toBe(first);

    vi.setSystemTime(start + VERIFIED_TOKEN_TTL_MS + 1_000);
    // Verified again: a new principal object.
    const again = await authenticator.authenticate(request(long));
    expect(again).not.toBe(first);
    expect(again.subject).toBe("carol");
  });

  it("remembers no refused token", async () => {
    const authenticator = new Authenticator(authSettings({ TRAILGRAPH_JWT_SECRET: SECRET }));
    const forged = await new SignJWT({ accounts: "*", exp: Math.floor(Date.now() / 1000) + 3600 })
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode("another-secret-of-at-least-32-bytes-long!"));
    for (let i = 0; i < 2; i++) {
      await expect(authenticator.authenticate(request(forged))).rejects.toThrow(/signature/);
    }
  });
});
