import type { IncomingHttpHeaders } from "node:http";
import { createSecretKey, type KeyObject } from "node:crypto";
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  decodeProtectedHeader,
  jwtVerify,
  type FlattenedJWSInput,
  type JWTHeaderParameters,
  type JWTPayload,
} from "jose";
import { TenantScope } from "../db/scope";
import { API_KEY_PREFIX, ApiKeyRing, type ApiKeyEntry } from "./api-keys";
import { authenticationOn, type AuthSettings, type JwtSettings } from "./settings";

declare module "fastify" {
  interface FastifyRequest {
    /** Who sent the request, once its credential was checked (null before, or when refused). */
    principal: Principal | null;
    /** Why its credential was refused, for the request log. */
    authProblem: string | null;
    /** The GraphQL operation's name, for the request log. */
    operationName: string | null;
  }
}

/** Who sends a request, what it may read (`scope`) and whether it may POST /ingest. */
export interface Principal {
  /** The JWT's `sub`, `apikey:<id>`, "open" or "ingest-token". */
  subject: string;
  scope: TenantScope;
  write: boolean;
  via: "jwt" | "api-key" | "open" | "ingest-token";
}

/**
 * A request that carries no usable credential (401), or one whose credential grants nothing
 * usable (403), or that cannot be checked now (503: the JWKS URL does not answer). The
 * message says what is wrong and never holds the credential.
 */
export class AuthError extends Error {
  constructor(
    message: string,
    readonly status: 401 | 403 | 503 = 401,
  ) {
    super(message);
  }

  /** The GraphQL error code of the answer. */
  get code(): string {
    return this.status === 401 ? "UNAUTHENTICATED" : this.status === 403 ? "FORBIDDEN" : "SERVICE_UNAVAILABLE";
  }
}

/** Open mode: no authentication, every account readable, nothing writable. */
export const OPEN_PRINCIPAL: Principal = Object.freeze({
  subject: "open",
  scope: TenantScope.all(),
  write: false,
  via: "open",
});

/** The holder of TRAILGRAPH_INGEST_TOKEN (POST /ingest only): every account. */
export const INGEST_TOKEN_PRINCIPAL: Principal = Object.freeze({
  subject: "ingest-token",
  scope: TenantScope.all(),
  write: true,
  via: "ingest-token",
});

/**
 * Verified JWTs are remembered (by their whole text) for at most this long, and never past their
 * `exp`: a client sends the same token with every request, and verifying its signature again
 * costs 60-160 µs of CPU (bench/FINDINGS.md §13). A key withdrawn from the JWKS stops its
 * tokens within this time.
 */
export const VERIFIED_TOKEN_TTL_MS = 60_000;
/** At most this many verified tokens are remembered; the oldest go first. */
const VERIFIED_TOKEN_CACHE = 10_000;

const HS256 = ["HS256"];
const ASYMMETRIC = ["RS256", "ES256"];

type KeyGetter = (header: JWTHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey | KeyObject | Uint8Array>;

/** The JWKS URL could not be read: the token may be fine, the server cannot tell now. */
class KeysUnavailable extends Error {}

/**
 * Checks each request's `Authorization: Bearer <credential>`: a JWT (HS256 with the shared
 * secret, RS256/ES256 with the JWKS; algorithms pinned, issuer and audience checked when
 * configured, `exp` required) or an API key (`tgk_...`). Without JWT and API key settings
 * every request is the open principal.
 */
export class Authenticator {
  /** Whether requests must carry a credential. */
  readonly on: boolean;
  private readonly jwt: JwtSettings | null;
  private readonly algorithms: string[];
  private readonly getKey: KeyGetter | null;
  private readonly ring: ApiKeyRing | null;
  /** One principal per key entry (a reload makes new entries). */
  private readonly keyPrincipals = new WeakMap<ApiKeyEntry, Principal>();
  /** Verified JWTs: their principal, and until when (ms) it may be reused. */
  private readonly verified = new Map<string, { principal: Principal; until: number }>();

  constructor(
    settings: AuthSettings,
    options: { onError?: (message: string) => void; apiKeyCheckIntervalMs?: number } = {},
  ) {
    this.on = authenticationOn(settings);
    this.jwt = settings.jwt;
    this.ring = settings.apiKeysFile
      ? new ApiKeyRing(settings.apiKeysFile, {
          checkIntervalMs: options.apiKeyCheckIntervalMs,
          onError: options.onError,
        })
      : null;
    const jwt = settings.jwt;
    this.algorithms = jwt ? [...(jwt.secret ? HS256 : []), ...(jwt.jwksUrl || jwt.jwks ? ASYMMETRIC : [])] : [];
    this.getKey = jwt ? keyGetter(jwt) : null;
  }

  /** The request's principal; throws an AuthError. */
  async authenticate(request: { headers: IncomingHttpHeaders }): Promise<Principal> {
    if (!this.on) return OPEN_PRINCIPAL;
    const token = bearerToken(request.headers.authorization, this.accepted());
    if (token.startsWith(API_KEY_PREFIX)) {
      if (!this.ring) throw new AuthError("this server accepts no API keys: send a JWT.");
      const entry = await this.ring.find(token);
      if (!entry) throw new AuthError("unknown or revoked API key.");
      return this.keyPrincipal(entry);
    }
    if (!this.jwt || !this.getKey) {
      throw new AuthError(`this server accepts no JWTs: send an API key (${API_KEY_PREFIX}...).`);
    }
    const known = this.verified.get(token);
    if (known !== undefined) {
      if (Date.now() < known.until) return known.principal;
      this.verified.delete(token);
    }
    return this.verifyJwt(token, this.jwt, this.getKey);
  }

  /** What a client should send, for messages. */
  private accepted(): string {
    return [this.jwt ? "a JWT" : null, this.ring ? `an API key (${API_KEY_PREFIX}...)` : null]
      .filter((text) => text !== null)
      .join(" or ");
  }

  private keyPrincipal(entry: ApiKeyEntry): Principal {
    let principal = this.keyPrincipals.get(entry);
    if (!principal) {
      principal = Object.freeze({
        subject: `apikey:${entry.id}`,
        scope: entry.accounts === "*" ? TenantScope.all() : TenantScope.accounts(entry.accounts),
        write: entry.write,
        via: "api-key" as const,
      });
      this.keyPrincipals.set(entry, principal);
    }
    return principal;
  }

  private async verifyJwt(token: string, jwt: JwtSettings, getKey: KeyGetter): Promise<Principal> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        algorithms: this.algorithms,
        issuer: jwt.issuer ?? undefined,
        audience: jwt.audience ?? undefined,
        clockTolerance: jwt.clockTolerance,
        requiredClaims: ["exp"],
      }));
    } catch (error) {
      throw jwtProblem(error, token, jwt, this.algorithms);
    }
    const subject = typeof payload.sub === "string" && payload.sub !== "" ? payload.sub : "(no sub)";
    const claim = payload[jwt.accountsClaim];
    let scope: TenantScope;
    if (claim === "*") scope = TenantScope.all();
    else if (Array.isArray(claim) && claim.every((id) => typeof id === "string" && id !== ""))
      scope = TenantScope.accounts(claim as string[]);
    else
      throw new AuthError(
        `the token's '${jwt.accountsClaim}' claim is ${claim === undefined ? "missing" : "malformed"}: ` +
          `it must be a list of account IDs, or "*" for every account.`,
        403,
      );
    const principal: Principal = Object.freeze({
      subject,
      scope,
      write: payload[jwt.writeClaim] === true,
      via: "jwt" as const,
    });
    // `exp` is required, so jose has checked it is a number.
    const until = Math.min(Date.now() + VERIFIED_TOKEN_TTL_MS, (payload.exp as number) * 1000);
    if (this.verified.size >= VERIFIED_TOKEN_CACHE) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { principal, until });
    return principal;
  }
}

/** The credential of `Authorization: Bearer <credential>`; throws an AuthError. */
function bearerToken(header: string | undefined, accepted: string): string {
  if (header === undefined || header.trim() === "")
    throw new AuthError(`no credential: send \`Authorization: Bearer <credential>\` with ${accepted}.`);
  const match = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
  if (!match) throw new AuthError(`the Authorization header is not \`Bearer <credential>\` (with ${accepted}).`);
  return match[1];
}

/** The key for a token: the secret for HS256, else the JWKS's key for its kid and alg. */
function keyGetter(jwt: JwtSettings): KeyGetter {
  const local = jwt.jwks ? createLocalJWKSet(jwt.jwks.keys) : null;
  const remote = jwt.jwksUrl
    ? createRemoteJWKSet(jwt.jwksUrl, {
        ...(jwt.jwksCooldownMs !== undefined ? { cooldownDuration: jwt.jwksCooldownMs } : {}),
      })
    : null;
  // Imported once: jose would import the raw secret again for every token.
  const secret = jwt.secret ? createSecretKey(jwt.secret) : null;
  return async (header, token) => {
    // jose has checked the alg against the pinned algorithms: HS256 only with a secret.
    if (header.alg === "HS256" && secret) return secret;
    if (local) return local(header, token);
    if (!remote) throw new Error("no key for this algorithm");
    try {
      return await remote(header, token);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ERR_JWKS_NO_MATCHING_KEY" || code === "ERR_JWKS_MULTIPLE_MATCHING_KEYS") throw error;
      throw new KeysUnavailable((error as Error).message, { cause: error });
    }
  };
}

/** What is wrong with a token that jose refused, as an AuthError (never quoting the token). */
function jwtProblem(error: unknown, token: string, jwt: JwtSettings, algorithms: string[]): AuthError {
  if (error instanceof KeysUnavailable) {
    return new AuthError(
      `the signing keys could not be fetched from TRAILGRAPH_JWKS_URL (${error.message}); try again.`,
      503,
    );
  }
  const { code, claim, reason, payload } = error as {
    code?: string;
    claim?: string;
    reason?: string;
    payload?: JWTPayload;
  };
  const at = (seconds: unknown) =>
    typeof seconds === "number" ? ` (${new Date(seconds * 1000).toISOString().replace(".000Z", "Z")})` : "";
  switch (code) {
    case "ERR_JWT_EXPIRED":
      return new AuthError(`the token expired${at(payload?.exp)}.`);
    case "ERR_JWT_CLAIM_VALIDATION_FAILED":
      if (reason === "missing") return new AuthError(`the token has no '${claim}' claim, which this server requires.`);
      if (claim === "nbf") return new AuthError(`the token is not valid yet${at(payload?.nbf)}.`);
      if (claim === "iss") return new AuthError(`the token's issuer is not ${JSON.stringify(jwt.issuer)}.`);
      if (claim === "aud") return new AuthError(`the token's audience is not ${JSON.stringify(jwt.audience)}.`);
      if (claim === "iat") return new AuthError("the token's issue time (iat) is in the future.");
      return new AuthError(`the token's '${claim}' claim is not accepted.`);
    case "ERR_JOSE_ALG_NOT_ALLOWED":
    case "ERR_JOSE_NOT_SUPPORTED": {
      let alg = "an unknown algorithm";
      try {
        alg = String(decodeProtectedHeader(token).alg);
      } catch {
        // Left as unknown.
      }
      return new AuthError(
        `the token is signed with ${alg}, which this server does not accept (it accepts ${algorithms.join(", ")}).`,
      );
    }
    case "ERR_JWS_SIGNATURE_VERIFICATION_FAILED":
      return new AuthError("the token's signature does not verify with this server's key.");
    case "ERR_JWKS_NO_MATCHING_KEY": {
      let kid = "";
      try {
        const header = decodeProtectedHeader(token);
        kid = header.kid ? ` '${header.kid}'` : " (the token names none)";
      } catch {
        // No kid to name.
      }
      return new AuthError(`no key of the JWKS matches the token's key ID${kid}.`);
    }
    case "ERR_JWS_INVALID":
    case "ERR_JWT_INVALID":
      return new AuthError("the credential is not a well-formed JWT.");
    default:
      return new AuthError(`the token was refused (${(error as Error).message}).`);
  }
}
