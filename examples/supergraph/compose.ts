/**
 * Supergraph composition in JavaScript: `@apollo/composition` (what Apollo's gateway and Router
 * read), cross-checked with `@theguild/federation-composition` (MIT, the same `composeServices`
 * API). Both must accept the subgraphs; a failure throws with composition's own errors (their
 * codes and messages), so a test that composes fails with them.
 */
import { composeServices } from "@apollo/composition";
import { composeServices as composeServicesOfTheGuild } from "@theguild/federation-composition";
import { parse } from "graphql";

export interface SubgraphSource {
  name: string;
  /** Where the gateway sends the subgraph's part of an operation. */
  url: string;
  /** Its SDL with federation directives, as `_service { sdl }` answers it. */
  sdl: string;
}

export class CompositionError extends Error {
  constructor(
    readonly composer: string,
    readonly errors: ReadonlyArray<{ message: string; extensions?: Record<string, unknown> }>,
  ) {
    super(
      `${composer} could not compose the supergraph:\n` +
        errors.map((error) => `  [${String(error.extensions?.code ?? "?")}] ${error.message}`).join("\n"),
    );
  }
}

/** The supergraph SDL of `subgraphs`, by @apollo/composition, after @theguild's composition agreed. */
export function composeSupergraph(subgraphs: readonly SubgraphSource[]): string {
  const services = subgraphs.map(({ name, url, sdl }) => ({ name, url, typeDefs: parse(sdl) }));
  const apollo = composeServices(services);
  if (apollo.errors) throw new CompositionError("@apollo/composition", apollo.errors);
  const guild = composeServicesOfTheGuild(services);
  if (guild.errors) throw new CompositionError("@theguild/federation-composition", guild.errors);
  return apollo.supergraphSdl;
}

/** A subgraph's SDL, asked of the subgraph itself (`_service { sdl }`), as a registry or `rover` would. */
export async function fetchSubgraphSdl(url: string, headers: Record<string, string> = {}): Promise<string> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ query: "{ _service { sdl } }" }),
  });
  const body = (await response.json()) as { data?: { _service: { sdl: string } }; errors?: unknown[] };
  if (!body.data) throw new Error(`${url} did not answer _service { sdl }: ${JSON.stringify(body.errors)}`);
  return body.data._service.sdl;
}
