import { Directive, Field, Int, ObjectType, type ClassType } from "type-graphql";
import type { Page } from "../db/store";

// Federation: a value type other subgraphs define too (every Relay API has one); so are the
// connection and edge types below.
@Directive("@shareable")
@ObjectType("PageInfo", {
  simpleResolvers: true,
  description: "Where a page sits in its list (Relay cursor connections).",
})
export class PageInfo {
  @Field(() => Boolean, { description: "True when more items follow the last edge (in the list's order)." })
  hasNextPage: boolean;

  @Field(() => Boolean, { description: "True when items precede the first edge." })
  hasPreviousPage: boolean;

  @Field(() => String, {
    nullable: true,
    description: "Cursor of the first edge; pass it as `before` for the previous page.",
  })
  startCursor: string | null;

  @Field(() => String, {
    nullable: true,
    description: "Cursor of the last edge; pass it as `after` for the next page.",
  })
  endCursor: string | null;
}

/** The data behind a connection object: a page, and a way to count the whole list. */
export interface ConnectionData<T> {
  page: Page<T>;
  count: () => Promise<number>;
}

export interface Edge<T> {
  cursor: string;
  node: T;
}

/** An edge whose cursor is encoded when it is read (most queries never ask for it). */
class PageEdge<T> implements Edge<T> {
  constructor(
    private readonly page: Page<T>,
    private readonly index: number,
    readonly node: T,
  ) {}

  get cursor(): string {
    return this.page.cursorOf(this.index);
  }
}

/**
 * Builds `<Name>Connection` and `<Name>Edge` for a node type. Cursors are keyset cursors:
 * a page stays stable while new items arrive. `totalCount` costs a COUNT and runs only
 * when asked for.
 */
export function Connection<T extends object>(nodeType: ClassType<T>, name: string, plural: string) {
  @Directive("@shareable")
  @ObjectType(`${name}Edge`, { simpleResolvers: true, description: `One ${name} in a page, with its cursor.` })
  class EdgeType implements Edge<T> {
    @Field(() => String, { description: "Opaque cursor of this edge, for `after` / `before`." })
    cursor: string;

    @Field(() => nodeType, { description: `The ${name}.` })
    node: T;
  }

  @Directive("@shareable")
  @ObjectType(`${name}Connection`, { simpleResolvers: true, description: `A page of ${plural}.` })
  class ConnectionType {
    data: ConnectionData<T>;

    static of(data: ConnectionData<T>): ConnectionType {
      const connection = new this();
      connection.data = data;
      return connection;
    }

    @Field(() => [EdgeType], { description: `The ${plural} of this page, each with its cursor.` })
    get edges(): Edge<T>[] {
      const page = this.data.page;
      return page.nodes.map((node, index) => new PageEdge(page, index, node));
    }

    @Field(() => [nodeType], { description: `The ${plural} of this page, without cursors.` })
    get nodes(): T[] {
      return this.data.page.nodes;
    }

    @Field(() => PageInfo, { description: "Cursors and whether more pages exist." })
    get pageInfo(): PageInfo {
      const { nodes, cursorOf, hasNextPage, hasPreviousPage } = this.data.page;
      return {
        hasNextPage,
        hasPreviousPage,
        startCursor: nodes.length > 0 ? cursorOf(0) : null,
        endCursor: nodes.length > 0 ? cursorOf(nodes.length - 1) : null,
      };
    }

    @Field(() => Int, {
      description: `Number of ${plural} in the whole list (all pages). Costs a COUNT query: ask only when needed.`,
    })
    get totalCount(): Promise<number> {
      return this.data.count();
    }
  }
  return ConnectionType;
}
