import type { FastifyReply, FastifyRequest } from "fastify";
import { SettingsError } from "../auth/settings";

/**
 * Which web pages of other origins may call /graphql from a browser (CORS). Off unless
 * origins are configured: then no CORS header is sent, and a browser lets only pages of the
 * server's own origin (GraphiQL) read the answers.
 */
export interface CorsSettings {
  /**
   * TRAILGRAPH_CORS_ORIGINS: exact origins (`scheme://host[:port]`, as browsers send them in
   * `Origin`), or "*" for any origin (never with credentials). Empty: CORS off.
   */
  origins: ReadonlySet<string> | "*";
  /** TRAILGRAPH_CORS_CREDENTIALS: `Access-Control-Allow-Credentials: true` (cookies, client certificates). */
  credentials: boolean;
}

/** No CORS headers: only same-origin pages read. */
export const CORS_OFF: CorsSettings = Object.freeze({ origins: new Set<string>(), credentials: false });

/** The request headers a page may send (the credential, JSON, Apollo's CSRF prevention headers). */
export const CORS_ALLOWED_HEADERS = [
  "authorization",
  "content-type",
  "apollo-require-preflight",
  "x-apollo-operation-name",
] as const;
export const CORS_ALLOWED_METHODS = "GET, POST";
/** How long a browser may keep a preflight's answer, seconds (Chromium keeps it 2 hours at most). */
export const CORS_MAX_AGE = 600;

/** Whether any page of another origin may call. */
export function corsOn(settings: CorsSettings): boolean {
  return settings.origins === "*" || settings.origins.size > 0;
}

/**
 * The CORS settings from the environment, checked: a wrong value throws a SettingsError that
 * names the variable.
 */
export function corsSettings(env: NodeJS.ProcessEnv = process.env): CorsSettings {
  const items = (env.TRAILGRAPH_CORS_ORIGINS ?? "")
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
  let origins: Set<string> | "*";
  if (items.includes("*")) {
    if (items.length > 1)
      throw new SettingsError(
        `TRAILGRAPH_CORS_ORIGINS '${env.TRAILGRAPH_CORS_ORIGINS}': "*" (any origin) stands alone, without other origins.`,
      );
    origins = "*";
  } else {
    origins = new Set(items.map(parseOrigin));
  }

  const credentialsText = env.TRAILGRAPH_CORS_CREDENTIALS?.trim().toLowerCase() ?? "";
  if (!["", "true", "false", "1", "0"].includes(credentialsText))
    throw new SettingsError(
      `TRAILGRAPH_CORS_CREDENTIALS '${env.TRAILGRAPH_CORS_CREDENTIALS}' is neither true nor false.`,
    );
  const credentials = credentialsText === "true" || credentialsText === "1";
  if (credentials && origins === "*")
    throw new SettingsError(
      'TRAILGRAPH_CORS_CREDENTIALS=true with TRAILGRAPH_CORS_ORIGINS="*": browsers refuse credentials for any ' +
        "origin; list the origins of your frontends.",
    );
  if (credentials && origins !== "*" && origins.size === 0)
    throw new SettingsError("TRAILGRAPH_CORS_CREDENTIALS is set but CORS is off: set TRAILGRAPH_CORS_ORIGINS too.");
  return { origins, credentials };
}

/** One origin of TRAILGRAPH_CORS_ORIGINS, as browsers write it (`https://app.example.com`, no path). */
function parseOrigin(text: string): string {
  const refuse = (why: string) => new SettingsError(`TRAILGRAPH_CORS_ORIGINS: '${text}' ${why}`);
  if (text.toLowerCase() === "null")
    throw refuse("is the origin of sandboxed frames and local files, which any site can make; it cannot be allowed.");
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw refuse("is not an origin: write scheme://host[:port], for instance https://console.example.com.");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw refuse("is not an http or https origin.");
  if (url.hostname.includes("*")) throw refuse('has a wildcard: list each origin (only "*" alone means any).');
  if (url.username || url.password || url.pathname !== "/" || url.search || url.hash || text.endsWith("/"))
    throw refuse(`is not an origin (no path, query or credentials): write ${url.origin}.`);
  return url.origin;
}

/**
 * The onRequest hook of /graphql (null when CORS is off): marks every answer `Vary: Origin`
 * and gives pages of an allowed origin `Access-Control-Allow-Origin` (with
 * `Access-Control-Allow-Credentials` when configured); a preflight (OPTIONS) also gets the
 * methods, the request headers and how long to keep the answer. The route answers the preflight
 * itself (204, no credential needed); a disallowed origin gets no CORS header, so its browser
 * refuses to send or to show. Apollo's CSRF prevention still refuses "simple" requests.
 */
export function corsHook(
  settings: CorsSettings,
): ((request: FastifyRequest, reply: FastifyReply) => Promise<void>) | null {
  if (!corsOn(settings)) return null;
  const allowed = settings.origins;
  const allowHeaders = CORS_ALLOWED_HEADERS.join(", ");
  return async (request, reply) => {
    const origin = request.headers.origin;
    if (allowed === "*") {
      reply.header("access-control-allow-origin", "*");
    } else {
      // The answer depends on Origin: a cache must not give one origin's answer to another.
      reply.header("vary", "Origin");
      if (origin === undefined || !allowed.has(origin)) return;
      reply.header("access-control-allow-origin", origin);
      if (settings.credentials) reply.header("access-control-allow-credentials", "true");
    }
    if (request.method === "OPTIONS") {
      reply
        .header("access-control-allow-methods", CORS_ALLOWED_METHODS)
        .header("access-control-allow-headers", allowHeaders)
        .header("access-control-max-age", String(CORS_MAX_AGE));
    } else {
      // Lets a client read why a credential was refused.
      reply.header("access-control-expose-headers", "WWW-Authenticate");
    }
  };
}

/** What the start log says about CORS when it is on. */
export function describeCors(settings: CorsSettings): string {
  const origins = settings.origins === "*" ? "any origin" : [...settings.origins].join(", ");
  return `CORS: pages from ${origins} may call /graphql${settings.credentials ? " (with credentials)" : ""}`;
}
