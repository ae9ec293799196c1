/**
 * An example subgraph beside TrailGraph: a small CMDB (configuration management database) that
 * knows who owns each cloud instance and which cost center pays for it, and a display name for
 * each account. It extends TrailGraph's entities `ReferencedResource` (owner, cost center, the
 * CMDB record) and `Account` (displayName), references `ReferencedResource` from its own
 * `Instance` (so a client goes from an instance to its audit events), and defines its own
 * `PageInfo`, `DateTime` and `JSON`, as any Relay-style API does.
 *
 * Plain SDL and resolvers on `@apollo/subgraph`, served by Apollo Server on loopback.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { join } from "node:path";
import { ApolloServer } from "@apollo/server";
import { startStandaloneServer } from "@apollo/server/standalone";
import { buildSubgraphSchema } from "@apollo/subgraph";
import { GraphQLError, GraphQLScalarType, parse, type GraphQLSchema } from "graphql";

export interface Owner {
  name: string;
  email: string;
  team: string;
}

export interface InstanceRecord {
  type: string;
  resourceId: string;
  name: string;
  environment: string;
  owner: Owner;
  costCenter: string;
  /** ISO 8601. */
  updatedAt: string;
  tags: Record<string, unknown> | null;
}

export interface CmdbData {
  accounts: Array<{ accountId: string; displayName: string }>;
  instances: InstanceRecord[];
}

/** The records of the sample store's instances (samples/events.json). */
export function sampleCmdbData(): CmdbData {
  return JSON.parse(readFileSync(join(__dirname, "data.json"), "utf8")) as CmdbData;
}

const OWNERS: Owner[] = [
  { name: "Li Wei", email: "li.wei@example.com", team: "web" },
  { name: "Zhang Min", email: "zhang.min@example.com", team: "data" },
  { name: "Chen Jing", email: "chen.jing@example.com", team: "platform" },
  { name: "Wang Fang", email: "wang.fang@example.com", team: "finance" },
];

/**
 * Records for any set of resources (a generated store's): owner and cost center follow from
 * the resource ID alone, so the same resources always get the same records.
 */
export function cmdbDataFor(
  resources: ReadonlyArray<{ type: string; resourceId: string }>,
  accountIds: readonly string[],
): CmdbData {
  return {
    accounts: accountIds.map((accountId, index) => ({ accountId, displayName: `Account ${index + 1}` })),
    instances: resources.map(({ type, resourceId }, index) => {
      const hash = [...resourceId].reduce((sum, char) => (sum * 31 + char.charCodeAt(0)) >>> 0, 7);
      return {
        type,
        resourceId,
        name: `ci-${index + 1}`,
        environment: hash % 3 === 0 ? "staging" : "production",
        owner: OWNERS[hash % OWNERS.length],
        costCenter: `CC-${1000 + (hash % 7)}`,
        updatedAt: new Date(Date.UTC(2025, 0, 1) + (hash % 365) * 86_400_000).toISOString(),
        tags: { index },
      };
    }),
  };
}

export const CMDB_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.0", import: ["@key", "@shareable"])

  type Query {
    "Instances in the CMDB's order, paged with cursors."
    instances(first: Int = 20, after: String, filter: InstanceFilter): InstanceConnection!
    "One instance by its resource ID."
    instance(resourceId: ID!): Instance
  }

  "Which instances: every list given must match (values of one list with OR)."
  input InstanceFilter {
    types: [String!]
    costCenters: [String!]
    teams: [String!]
  }

  "A cloud instance as the CMDB records it."
  type Instance {
    resourceId: ID!
    type: String!
    name: String!
    environment: String!
    owner: Owner!
    costCenter: String!
    updatedAt: DateTime!
    tags: JSON
    "The same instance in the audit trail (TrailGraph's entity)."
    resource: ReferencedResource!
  }

  "Who answers for an instance."
  type Owner {
    name: String!
    email: String!
    team: String!
  }

  "TrailGraph's resource, extended with what the CMDB knows of it (null for resources it does not record)."
  type ReferencedResource @key(fields: "type resourceId") {
    type: String!
    resourceId: ID!
    owner: Owner
    costCenter: String
    instance: Instance
  }

  "TrailGraph's account, with the name the organisation gives it."
  type Account @key(fields: "accountId") {
    accountId: String!
    displayName: String
  }

  type InstanceConnection {
    edges: [InstanceEdge!]!
    nodes: [Instance!]!
    pageInfo: PageInfo!
    totalCount: Int!
  }

  type InstanceEdge {
    cursor: String!
    node: Instance!
  }

  "The CMDB's own PageInfo (Relay); shareable, as TrailGraph's is."
  type PageInfo @shareable {
    hasNextPage: Boolean!
    hasPreviousPage: Boolean!
    startCursor: String
    endCursor: String
  }

  scalar DateTime
  scalar JSON
`;

interface InstanceFilter {
  types?: string[] | null;
  costCenters?: string[] | null;
  teams?: string[] | null;
}

const cursorOf = (index: number) => Buffer.from(`cmdb:${index}`).toString("base64url");

function indexOf(cursor: string): number {
  const match = /^cmdb:(\d+)$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!match) throw new GraphQLError(`Invalid cursor '${cursor}'.`, { extensions: { code: "BAD_USER_INPUT" } });
  return Number(match[1]);
}

const passThrough = (name: string) =>
  new GraphQLScalarType({ name, serialize: (value) => value, parseValue: (value) => value });

/** The CMDB's executable subgraph schema over `data`. */
export function cmdbSchema(data: CmdbData): GraphQLSchema {
  const byKey = new Map(data.instances.map((record) => [`${record.type}\u0000${record.resourceId}`, record]));
  const byId = new Map(data.instances.map((record) => [record.resourceId, record]));
  const names = new Map(data.accounts.map((account) => [account.accountId, account.displayName]));
  return buildSubgraphSchema({
    typeDefs: parse(CMDB_SDL),
    resolvers: {
      DateTime: passThrough("DateTime"),
      JSON: passThrough("JSON"),
      Query: {
        instances(_root: unknown, args: { first: number; after?: string | null; filter?: InstanceFilter | null }) {
          const { types, costCenters, teams } = args.filter ?? {};
          const matching = data.instances.filter(
            (record) =>
              (!types?.length || types.includes(record.type)) &&
              (!costCenters?.length || costCenters.includes(record.costCenter)) &&
              (!teams?.length || teams.includes(record.owner.team)),
          );
          const start = args.after ? indexOf(args.after) + 1 : 0;
          const page = matching.slice(start, start + Math.max(0, args.first));
          const edges = page.map((node, offset) => ({ cursor: cursorOf(start + offset), node }));
          return {
            edges,
            nodes: page,
            totalCount: matching.length,
            pageInfo: {
              hasNextPage: start + page.length < matching.length,
              hasPreviousPage: start > 0,
              startCursor: edges[0]?.cursor ?? null,
              endCursor: edges.at(-1)?.cursor ?? null,
            },
          };
        },
        instance: (_root: unknown, { resourceId }: { resourceId: string }) => byId.get(resourceId) ?? null,
      },
      Instance: {
        // A reference to TrailGraph's entity: its key fields; TrailGraph resolves the rest.
        resource: (record: InstanceRecord) => ({ type: record.type, resourceId: record.resourceId }),
      },
      ReferencedResource: {
        __resolveReference(reference: { type: string; resourceId: string }) {
          const record = byKey.get(`${reference.type}\u0000${reference.resourceId}`) ?? null;
          return { type: reference.type, resourceId: reference.resourceId, record };
        },
        owner: (resource: { record: InstanceRecord | null }) => resource.record?.owner ?? null,
        costCenter: (resource: { record: InstanceRecord | null }) => resource.record?.costCenter ?? null,
        instance: (resource: { record: InstanceRecord | null }) => resource.record,
      },
      Account: {
        __resolveReference: (reference: { accountId: string }) => ({
          accountId: reference.accountId,
          displayName: names.get(reference.accountId) ?? null,
        }),
      },
    } as never,
  });
}

/** A running CMDB subgraph. */
export interface Cmdb {
  /** Its GraphQL endpoint, `http://127.0.0.1:<port>/`. */
  url: string;
  stop(): Promise<void>;
}

/** Serves the CMDB over `data` on `host:port` (port 0: any free port). */
export async function startCmdb(data: CmdbData, { host = "127.0.0.1", port = 0 } = {}): Promise<Cmdb> {
  const server = new ApolloServer({ schema: cmdbSchema(data), logger: QUIET });
  const { url } = await startStandaloneServer(server, { listen: { host, port } });
  return { url, stop: () => server.stop() };
}

const QUIET = { debug() {}, info() {}, warn: console.warn, error: console.error };

/** `tsx examples/supergraph/cmdb/index.ts [--data FILE] [--host 127.0.0.1] [--port 0]`: prints `cmdb at URL`. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      data: { type: "string" },
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "0" },
    },
  });
  const data = values.data ? (JSON.parse(readFileSync(values.data, "utf8")) as CmdbData) : sampleCmdbData();
  const cmdb = await startCmdb(data, { host: values.host, port: Number(values.port) });
  console.log(`cmdb at ${cmdb.url}`);
  const stop = () => void cmdb.stop().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
