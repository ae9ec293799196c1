import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError } from "graphql";
import { SettingsError } from "../auth/settings";

/** What the API tells and runs, for production: introspection, field suggestions, trusted documents. */
export interface OperationSettings {
  /** `__schema` and `__type` answered (GraphiQL's documentation and completion need it). */
  introspection: boolean;
  /** Validation errors may suggest fields ("Did you mean …?"). */
  suggestions: boolean;
  /** Only these operations run, by the SHA-256 of their text (null: any operation). */
  trusted: ReadonlyMap<string, string> | null;
}

/**
 * From the environment: `TRAILGRAPH_INTROSPECTION` and `TRAILGRAPH_FIELD_SUGGESTIONS` (`true`
 * or `false`, both on by default) and `TRAILGRAPH_TRUSTED_DOCUMENTS` (a persisted query
 * manifest, read at start). A bad setting is a SettingsError naming it.
 */
export function operationSettings(env: NodeJS.ProcessEnv = process.env): OperationSettings {
  const file = env.TRAILGRAPH_TRUSTED_DOCUMENTS?.trim();
  return {
    introspection: flag(env, "TRAILGRAPH_INTROSPECTION"),
    suggestions: flag(env, "TRAILGRAPH_FIELD_SUGGESTIONS"),
    trusted: file ? readManifest(file) : null,
  };
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const text = env[name]?.trim().toLowerCase() ?? "";
  if (text === "" || text === "true") return true;
  if (text === "false") return false;
  throw new SettingsError(`${name} '${env[name]}' is neither true nor false.`);
}

/** The SHA-256 of an operation's text, as Apollo's persisted queries and manifests name it. */
export function operationHash(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * A persisted query manifest (`{"format": "apollo-persisted-query-manifest", "version": 1,
 * "operations": [{"id", "name", "type", "body"}]}`, as Apollo's and GraphQL Codegen's tools
 * write it): each operation's body by its id, which must be the SHA-256 of the body.
 */
function readManifest(file: string): Map<string, string> {
  const fail = (why: string) => new SettingsError(`TRAILGRAPH_TRUSTED_DOCUMENTS ${file}: ${why}`);
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw fail(`cannot be read as JSON (${(error as Error).message})`);
  }
  const { format, version, operations } = (manifest ?? {}) as Record<string, unknown>;
  if (format !== "apollo-persisted-query-manifest" || version !== 1 || !Array.isArray(operations)) {
    throw fail(
      'is not a persisted query manifest ({"format": "apollo-persisted-query-manifest", "version": 1, "operations": [...]})',
    );
  }
  const trusted = new Map<string, string>();
  operations.forEach((operation: { id?: unknown; body?: unknown }, index) => {
    if (typeof operation?.body !== "string" || typeof operation.id !== "string") {
      throw fail(`operations[${index}] has no string id and body`);
    }
    if (operationHash(operation.body) !== operation.id) {
      throw fail(`operations[${index}]'s id is not the SHA-256 of its body`);
    }
    trusted.set(operation.id, operation.body);
  });
  return trusted;
}

/**
 * Runs only the operations of the manifest: a client sends the body, or only its hash
 * (`extensions.persistedQuery.sha256Hash`, as with Apollo's persisted queries), which is
 * filled in from the manifest. Any other operation is refused before it runs, with
 * `OPERATION_NOT_TRUSTED` and HTTP 403.
 */
export function trustedDocumentsPlugin<T extends object>(trusted: ReadonlyMap<string, string>): ApolloServerPlugin<T> {
  return {
    async requestDidStart({ request }) {
      const hash = (request.extensions?.persistedQuery as { sha256Hash?: unknown } | undefined)?.sha256Hash;
      if (request.query === undefined && typeof hash === "string") request.query = trusted.get(hash);
      return {
        async didResolveOperation({ queryHash }) {
          if (!trusted.has(queryHash)) {
            throw new GraphQLError("This operation is not one of the server's trusted documents.", {
              extensions: { code: "OPERATION_NOT_TRUSTED", http: { status: 403 } },
            });
          }
        },
      };
    },
  };
}
