import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import type { JSONWebKeySet } from "jose";
import { readApiKeys } from "./api-keys";

/**
 * A setting the server cannot start with: the CLI prints the message (which names the
 * variable) and exits 2.
 */
export class SettingsError extends Error {}

/** JWT verification: HS256 with a shared secret, RS256/ES256 with public keys (a JWKS), or both. */
export interface JwtSettings {
  /** TRAILGRAPH_JWT_SECRET: the HS256 shared secret (at least 32 bytes). */
  secret: Uint8Array | null;
  /** TRAILGRAPH_JWKS_URL: fetched when a token names a key not yet known, cached, refreshed. */
  jwksUrl: URL | null;
  /** TRAILGRAPH_JWKS_FILE: read once, at start. */
  jwks: { file: string; keys: JSONWebKeySet } | null;
  /** TRAILGRAPH_JWT_ISSUER / TRAILGRAPH_JWT_AUDIENCE: checked when set. */
  issuer: string | null;
  audience: string | null;
  /** TRAILGRAPH_JWT_ACCOUNTS_CLAIM: a list of account IDs, or "*" for every account. */
  accountsClaim: string;
  /** TRAILGRAPH_JWT_WRITE_CLAIM: `true` grants POST /ingest (within the accounts). */
  writeClaim: string;
  /** TRAILGRAPH_JWT_CLOCK_TOLERANCE, seconds, for exp and nbf. */
  clockTolerance: number;
  /**
   * Least time between two fetches of the JWKS URL for a key it did not hold (jose's
   * `cooldownDuration`, 30 s by default); not an environment setting (tests shorten it).
   */
  jwksCooldownMs?: number;
}

export interface AuthSettings {
  jwt: JwtSettings | null;
  /** TRAILGRAPH_API_KEYS_FILE: hashed API keys (`trailgraph apikey`), read again when it changes. */
  apiKeysFile: string | null;
  /** TRAILGRAPH_OPEN=true or --open: serving without authentication on any address is intended. */
  open: boolean;
}

/** HS256 secrets shorter than this are refused (RFC 7518 §3.2: a key at least as long as the hash). */
export const MIN_SECRET_BYTES = 32;

/** No authentication: every request reads every account (allowed by default on loopback only). */
export const OPEN: AuthSettings = { jwt: null, apiKeysFile: null, open: false };

/**
 * The access control settings from the environment, checked: a wrong value throws a
 * SettingsError that names the variable. `flags.open` is `serve --open`.
 */
export function authSettings(env: NodeJS.ProcessEnv = process.env, flags: { open?: boolean } = {}): AuthSettings {
  const value = (name: string) => {
    const raw = env[name]?.trim();
    return raw ? raw : null;
  };

  const secretText = env.TRAILGRAPH_JWT_SECRET ?? "";
  let secret: Uint8Array | null = null;
  if (secretText.trim() !== "") {
    secret = new TextEncoder().encode(secretText);
    if (secret.length < MIN_SECRET_BYTES)
      throw new SettingsError(
        `TRAILGRAPH_JWT_SECRET is ${secret.length} bytes long: an HS256 secret must be at least ${MIN_SECRET_BYTES} ` +
          "bytes (for instance `openssl rand -base64 48`).",
      );
  }

  const jwksUrlText = value("TRAILGRAPH_JWKS_URL");
  const jwksFile = value("TRAILGRAPH_JWKS_FILE");
  if (jwksUrlText && jwksFile)
    throw new SettingsError("TRAILGRAPH_JWKS_URL and TRAILGRAPH_JWKS_FILE are both set: set one of them.");
  const jwksUrl = jwksUrlText ? parseJwksUrl(jwksUrlText) : null;
  const jwks = jwksFile ? { file: jwksFile, keys: readJwksFile(jwksFile) } : null;

  const issuer = value("TRAILGRAPH_JWT_ISSUER");
  const audience = value("TRAILGRAPH_JWT_AUDIENCE");
  const accountsClaim = value("TRAILGRAPH_JWT_ACCOUNTS_CLAIM") ?? "accounts";
  const writeClaim = value("TRAILGRAPH_JWT_WRITE_CLAIM") ?? "trailgraph:write";
  const toleranceText = value("TRAILGRAPH_JWT_CLOCK_TOLERANCE");
  const clockTolerance = toleranceText === null ? 30 : Number(toleranceText);
  if (!Number.isInteger(clockTolerance) || clockTolerance < 0 || clockTolerance > 3600)
    throw new SettingsError(
      `TRAILGRAPH_JWT_CLOCK_TOLERANCE '${toleranceText}' is not a whole number of seconds from 0 to 3600.`,
    );

  const keyed = secret !== null || jwksUrl !== null || jwks !== null;
  if (!keyed) {
    const orphans = [
      "TRAILGRAPH_JWT_ISSUER",
      "TRAILGRAPH_JWT_AUDIENCE",
      "TRAILGRAPH_JWT_ACCOUNTS_CLAIM",
      "TRAILGRAPH_JWT_WRITE_CLAIM",
      "TRAILGRAPH_JWT_CLOCK_TOLERANCE",
    ].filter((name) => value(name) !== null);
    if (orphans.length > 0)
      throw new SettingsError(
        `${orphans.join(", ")} ${orphans.length > 1 ? "are" : "is"} set but JWTs are off: ` +
          "set TRAILGRAPH_JWT_SECRET, TRAILGRAPH_JWKS_URL or TRAILGRAPH_JWKS_FILE too.",
      );
  }
  const jwt: JwtSettings | null = keyed
    ? { secret, jwksUrl, jwks, issuer, audience, accountsClaim, writeClaim, clockTolerance }
    : null;

  const apiKeysFile = value("TRAILGRAPH_API_KEYS_FILE");
  if (apiKeysFile) {
    try {
      readApiKeys(apiKeysFile);
    } catch (error) {
      throw new SettingsError(
        `TRAILGRAPH_API_KEYS_FILE: ${(error as Error).message}` +
          ((error as NodeJS.ErrnoException).code === "ENOENT"
            ? " (`trailgraph apikey create` makes it with the first key)"
            : ""),
      );
    }
  }

  const openText = value("TRAILGRAPH_OPEN");
  if (openText !== null && !["true", "false", "1", "0"].includes(openText.toLowerCase()))
    throw new SettingsError(`TRAILGRAPH_OPEN '${openText}' is neither true nor false.`);
  const open = flags.open === true || openText?.toLowerCase() === "true" || openText === "1";
  if (open && (jwt !== null || apiKeysFile !== null))
    throw new SettingsError(
      `${flags.open ? "--open" : "TRAILGRAPH_OPEN=true"} asks for no authentication, but ` +
        `${jwt ? "JWTs are configured" : "TRAILGRAPH_API_KEYS_FILE is set"}: drop one or the other.`,
    );
  return { jwt, apiKeysFile, open };
}

/** Whether requests must carry a credential. */
export function authenticationOn(settings: AuthSettings): boolean {
  return settings.jwt !== null || settings.apiKeysFile !== null;
}

/** What the start log says about authentication when it is on. */
export function describeAuthentication(settings: AuthSettings): string {
  const methods: string[] = [];
  const jwt = settings.jwt;
  if (jwt) {
    const keys = [
      jwt.secret ? "HS256 with TRAILGRAPH_JWT_SECRET" : null,
      jwt.jwksUrl ? `RS256/ES256 with the keys at ${jwt.jwksUrl.href}` : null,
      jwt.jwks ? `RS256/ES256 with the ${jwt.jwks.keys.keys.length} key(s) of ${jwt.jwks.file}` : null,
    ].filter((text) => text !== null);
    const checks = [
      jwt.issuer ? `issuer ${jwt.issuer}` : "issuer NOT checked (set TRAILGRAPH_JWT_ISSUER)",
      jwt.audience ? `audience ${jwt.audience}` : "audience NOT checked (set TRAILGRAPH_JWT_AUDIENCE)",
      `accounts from the '${jwt.accountsClaim}' claim`,
    ];
    methods.push(`JWT (${keys.join("; ")}; ${checks.join(", ")})`);
  }
  if (settings.apiKeysFile) methods.push(`API keys (${settings.apiKeysFile})`);
  return `authentication on: ${methods.join(", ")}`;
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and localhost. */
export function isLoopback(host: string): boolean {
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  const name = bare.toLowerCase();
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  const v4 = name.startsWith("::ffff:") ? name.slice(7) : name;
  if (isIP(v4) === 4) return v4.startsWith("127.");
  return isIP(name) === 6 && /^(0{0,4}:){7}0{0,3}1$|^::1$/.test(name);
}

/** A JWKS URL: https, or http to a loopback host (a key server on the same machine). */
function parseJwksUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new SettingsError(`TRAILGRAPH_JWKS_URL '${text}' is not a URL.`);
  }
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:" && isLoopback(url.hostname)) return url;
  throw new SettingsError(
    `TRAILGRAPH_JWKS_URL '${text}' must be an https URL (plain http is accepted only for a loopback host): ` +
      "keys fetched in the clear could be replaced on the way.",
  );
}

/** A JWKS file: `{"keys": [...]}` of public keys. */
function readJwksFile(file: string): JSONWebKeySet {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new SettingsError(`TRAILGRAPH_JWKS_FILE '${file}' cannot be read as JSON: ${(error as Error).message}`);
  }
  const keys = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((key) => key && typeof key === "object"))
    throw new SettingsError(`TRAILGRAPH_JWKS_FILE '${file}' is not a JWKS: it needs {"keys": [<public JWK>, ...]}.`);
  if (keys.some((key: Record<string, unknown>) => "d" in key || key.kty === "oct"))
    throw new SettingsError(
      `TRAILGRAPH_JWKS_FILE '${file}' holds a private or symmetric key: it must hold public keys only.`,
    );
  return parsed as JSONWebKeySet;
}
