/**
 * What an operation costs, known before any SQL runs: a walk of its selection set (fragments
 * and variables resolved) that multiplies every list by the number of items it can return.
 *
 * The semantics are those of the IBM GraphQL cost specification, which Apollo Router and Hive
 * implement with `@cost` and `@listSize`; the prices are this server's, declared below instead
 * of as directives in the schema:
 *
 * - An object costs 1 (`@cost(weight: 1)`, the specification's default for composite types):
 *   an event, account, identity, order, order item or resource, and a connection (one page,
 *   read by one statement shared by every parent of the same list). Objects built in memory from
 *   what was already read cost 0: edges, `PageInfo`, `EventCount` rows, catalog entries, and
 *   introspection (graphql-js's MaxIntrospectionDepthRule bounds its nesting).
 * - Scalars cost 0, except those that read: `totalCount` (a COUNT over the whole list) costs
 *   TOTAL_COUNT_WEIGHT, and an event's JSON (`raw`, `requestParameters`, `responseElements`,
 *   `additionalEventData`: a second row per event, the whole event's text) PAYLOAD_WEIGHT.
 * - `eventCounts` costs EVENT_COUNTS_WEIGHT: outside a plain time window it is a GROUP BY over
 *   every matching event, a read whose work grows with the data rather than with the page.
 *   (So does `totalCount` over a broad list; the cost cannot see the data, and prices it for the
 *   nested counts that queries ask for by the hundred. A statement time limit is the guard
 *   against one COUNT over millions of rows.)
 * - A list multiplies what each item costs by its size (`@listSize`): a connection by `first`
 *   or `last` (`slicingArguments`, the default page size when neither is given), applied to its
 *   `edges` and `nodes` (`sizedFields`); `eventCounts` by `first`; the catalog by its length; the
 *   lists that have no argument and no fixed bound (an event's resources and orders, an order's
 *   items and resources, a resource's orders) by ASSUMED_LIST_SIZE (`assumedSize`). A size
 *   above what the resolver accepts (500) counts as 500: the resolver refuses it anyway, with
 *   its own message.
 *
 * Fields that execution merges (the same response name, through fragments or not) are priced
 * once; for a field of an interface type, the costliest of its possible types counts; fields
 * that `@skip`/`@include` leave out cost nothing (they still count for depth, aliases and
 * directives, which measure the document as written).
 */
import {
  getNamedType,
  getNullableType,
  getOperationAST,
  isAbstractType,
  isCompositeType,
  isInterfaceType,
  isListType,
  isObjectType,
  Kind,
  Lexer,
  SchemaMetaFieldDef,
  Source,
  TokenKind,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  type DirectiveNode,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValueNode,
} from "graphql";
import { EVENT_CATALOG } from "../catalog";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../db/keyset";

/** An object the server reads, or a page of a list (one statement). */
export const OBJECT_WEIGHT = 1;
/** `totalCount`: a COUNT over the whole list, priced as half a default page. */
export const TOTAL_COUNT_WEIGHT = 10;
/**
 * `eventCounts`: a GROUP BY over the matching events (over a plain time window, a read of the
 * rollups plus the partial days' events), priced as the largest page of events (500): it reads
 * at least as many rows as such a page, and outside a time window every matching event.
 */
export const EVENT_COUNTS_WEIGHT = MAX_PAGE_SIZE;
/** An event's JSON parts: a row of `event_payloads` per event, the event's whole text. */
export const PAYLOAD_WEIGHT = 1;
/** The size assumed for a list with neither a size argument nor a fixed bound. */
export const ASSUMED_LIST_SIZE = 5;

/** The price of a field, in the terms of the IBM specification's `@cost` and `@listSize`. */
export interface FieldPrice {
  /** `@cost(weight:)`: added once for the field, on top of what it returns. */
  weight?: number;
  /** `@listSize(slicingArguments:)`: the size is the largest of these arguments given. */
  slicingArguments?: readonly string[];
  /** The size when no slicing argument is given (else the argument's own default). */
  defaultSize?: number;
  /** The largest size the resolver accepts; a larger one counts as this. */
  maxSize?: number;
  /** `@listSize(sizedFields:)`: the fields of the returned object the size applies to. */
  sizedFields?: readonly string[];
  /** `@listSize(assumedSize:)`: the size of a list without slicing arguments. */
  assumedSize?: number;
  /**
   * The size is the length of this list argument: federation's `_entities` answers one item
   * per representation a gateway sends.
   */
  sizedByListArgument?: string;
}

const PAYLOAD: FieldPrice = { weight: PAYLOAD_WEIGHT };
const EVENT_COUNTS: FieldPrice = { weight: EVENT_COUNTS_WEIGHT, slicingArguments: ["first"], maxSize: MAX_PAGE_SIZE };
const UNBOUNDED_LIST: FieldPrice = { assumedSize: ASSUMED_LIST_SIZE };

/**
 * Prices by `Type.field`. Connections need no entry (see connectionPrice); every other list
 * field must have one (src/server/cost.spec.ts checks the schema), so that a new list is priced
 * on purpose.
 */
export const FIELD_PRICES: Readonly<Record<string, FieldPrice>> = {
  "Query.eventCounts": EVENT_COUNTS,
  "Account.eventCounts": EVENT_COUNTS,
  "Query.eventCatalog": { assumedSize: EVENT_CATALOG.length },
  "Event.referencedResources": UNBOUNDED_LIST,
  "Event.orders": UNBOUNDED_LIST,
  "Order.items": UNBOUNDED_LIST,
  "Order.resources": UNBOUNDED_LIST,
  "ReferencedResource.orders": UNBOUNDED_LIST,
  "Event.raw": PAYLOAD,
  "Event.requestParameters": PAYLOAD,
  "Event.responseElements": PAYLOAD,
  "Event.additionalEventData": PAYLOAD,
  "Query._entities": { sizedByListArgument: "representations" },
};

/** A Relay connection: `first`/`last` items in `edges` and `nodes`, 20 by default. */
const CONNECTION: FieldPrice = {
  slicingArguments: ["first", "last"],
  defaultSize: DEFAULT_PAGE_SIZE,
  maxSize: MAX_PAGE_SIZE,
  sizedFields: ["edges", "nodes"],
};
const TOTAL_COUNT: FieldPrice = { weight: TOTAL_COUNT_WEIGHT };

/** A field's price: from FIELD_PRICES, or as a connection or a connection's totalCount. */
export function fieldPrice(parent: GraphQLNamedType, field: GraphQLField<unknown, unknown>): FieldPrice | undefined {
  const listed = FIELD_PRICES[`${parent.name}.${field.name}`];
  if (listed) return listed;
  if (isConnection(getNamedType(field.type)) && field.args.some((arg) => arg.name === "first" || arg.name === "last"))
    return CONNECTION;
  if (field.name === "totalCount" && isConnection(parent)) return TOTAL_COUNT;
  return undefined;
}

function isConnection(type: GraphQLNamedType): boolean {
  return isObjectType(type) && type.name.endsWith("Connection") && "edges" in type.getFields();
}

/** What one object of a type costs. */
export function typeWeight(type: GraphQLNamedType): number {
  const name = type.name;
  if (name.startsWith("__") || name.endsWith("Edge") || FREE_TYPES.has(name)) return 0;
  return isCompositeType(type) ? OBJECT_WEIGHT : 0;
}
const FREE_TYPES = new Set(["PageInfo", "EventCount", "EventDefinition"]);

/** An operation's cost and shape. Paths are response paths, an aliased field as `alias:name`. */
export interface CostReport {
  cost: number;
  /**
   * The field that makes most of the cost: the costliest root field, then down into its
   * costliest child while that child makes more than half of it.
   */
  costliest: string | null;
  /** Levels of fields (introspection not counted). */
  depth: number;
  deepest: string | null;
  /** Aliases as written, fragments counted where they are spread. */
  aliases: number;
  /** The field aliased most often (its parent's path and its name). */
  mostAliased: string | null;
  /** Directives as written, fragments counted where they are spread. */
  directives: number;
  /** The field (or, for fragments' directives, the selection) that carries most directives. */
  mostDirectives: string | null;
  /**
   * The most times one response name is selected in one place, fragments and merged parents
   * included: graphql-js's validation compares every pair of them (OverlappingFieldsCanBeMerged),
   * so that a field repeated a thousand times takes it a good part of a second.
   */
  repeats: number;
  mostRepeated: string | null;
  /** Tokens of the document's text (comments not counted), as graphql's `parse(…, {maxTokens})` counts them. */
  tokens: number;
  /** Whether variables decided anything (page sizes, `@skip`/`@include`): otherwise the report holds for any. */
  variablesUsed: boolean;
}

/**
 * The cost of the named operation of a document (or of its only operation), with `variables`
 * as the request sent them; null when the document has no such operation. A pure function of
 * its arguments; it never throws on a document that did not pass validation (unknown fields
 * cost nothing, fragment cycles are cut), so that it can run before validation does.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Readonly<Record<string, unknown>> | null | undefined,
): CostReport | null {
  const operation = getOperationAST(document, operationName);
  return operation ? costOf(schema, document, operation, variables) : null;
}

/**
 * The cost of one definition of a document (see operationCost): an operation, or a fragment on
 * its type condition (paths then start with `...Name`), which validation checks on its own.
 */
export function costOf(
  schema: GraphQLSchema,
  document: DocumentNode,
  definition: OperationDefinitionNode | FragmentDefinitionNode,
  variables: Readonly<Record<string, unknown>> | null | undefined,
): CostReport {
  const walk = new Walk(schema, document, definition, variables ?? {});
  const fragment = definition.kind === Kind.FRAGMENT_DEFINITION;
  const root = fragment
    ? (schema.getType(definition.typeCondition.name.value) ?? null)
    : (schema.getRootType(definition.operation) ?? null);
  const summary = walk.selection([definition.selectionSet], root, null);
  const text = (at: { path: Path } | null) =>
    at ? pathText(fragment ? { segment: `...${definition.name.value}`, rest: at.path } : at.path) : null;
  const own = definition.directives?.length ?? 0;
  const directed = best(summary.directed, own > 0 ? { path: null, count: own } : null);
  return {
    cost: Math.min(summary.cost, Number.MAX_SAFE_INTEGER),
    costliest: text(summary.top),
    depth: summary.depth,
    deepest: summary.depth > 0 ? text({ path: summary.deepest }) : null,
    aliases: summary.aliases,
    mostAliased: text(summary.aliased),
    directives: summary.directives + own,
    mostDirectives: directed ? text(directed) || (definition as OperationDefinitionNode).operation : null,
    repeats: summary.repeated?.count ?? 0,
    mostRepeated: text(summary.repeated),
    tokens: documentTokens(document),
    variablesUsed: walk.variablesUsed,
  };
}

/**
 * The tokens of a GraphQL text, comments not counted, as graphql's parser counts them for
 * `maxTokens`; stops counting after `stopAfter`. A text the lexer cannot read is counted up to
 * the error (parsing reports it).
 */
export function countTokens(text: string, stopAfter = Infinity): number {
  const lexer = new Lexer(new Source(text));
  let count = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) if (++count > stopAfter) break;
  } catch {
    // A syntax error: the parser reports it.
  }
  return count;
}

/** The tokens of a parsed document, from the token list its location keeps (0 without one). */
function documentTokens(document: DocumentNode): number {
  let count = 0;
  for (let token = document.loc?.startToken ?? null; token; token = token.next) {
    if (token.kind !== TokenKind.SOF && token.kind !== TokenKind.EOF && token.kind !== TokenKind.COMMENT) count++;
  }
  return count;
}

/** A path as a list from its first segment (shared tails: no copying at every level). */
type Path = { segment: string; rest: Path } | null;

function path(...segments: string[]): Path {
  let result: Path = null;
  for (let i = segments.length - 1; i >= 0; i--) result = { segment: segments[i], rest: result };
  return result;
}

function pathText(path: Path): string {
  const segments: string[] = [];
  for (let at = path; at; at = at.rest) segments.push(at.segment);
  return segments.join(".");
}

interface Counted {
  path: Path;
  count: number;
}

/** What a selection set (several, when execution merges them) costs, relative to its field. */
interface Summary {
  cost: number;
  /** The costliest field and down, with that field's cost. */
  top: { path: Path; cost: number } | null;
  depth: number;
  deepest: Path;
  aliases: number;
  aliased: Counted | null;
  directives: number;
  directed: Counted | null;
  repeated: Counted | null;
}

const EMPTY: Summary = {
  cost: 0,
  top: null,
  depth: 0,
  deepest: null,
  aliases: 0,
  aliased: null,
  directives: 0,
  directed: null,
  repeated: null,
};

/** The fields a selection collects for one response name. */
interface Collected {
  name: string;
  nodes: FieldNode[];
  /** Whether any of them runs (not left out by `@skip`/`@include`). */
  runs: boolean;
}

class Walk {
  variablesUsed = false;
  private readonly fragments = new Map<string, FragmentDefinitionNode>();
  private readonly defaults: Record<string, ValueNode> = {};
  private readonly ids = new Map<SelectionSetNode, number>();
  /** Summaries by type, list size and selection sets; null while one is computed (a fragment cycle). */
  private readonly memo = new Map<string, Summary | null>();

  constructor(
    private readonly schema: GraphQLSchema,
    document: DocumentNode,
    start: OperationDefinitionNode | FragmentDefinitionNode,
    private readonly variables: Readonly<Record<string, unknown>>,
  ) {
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) this.fragments.set(definition.name.value, definition);
    }
    for (const definition of start.kind === Kind.OPERATION_DEFINITION ? (start.variableDefinitions ?? []) : []) {
      if (definition.defaultValue) this.defaults[definition.variable.name.value] = definition.defaultValue;
    }
  }

  /**
   * The summary of selection sets on a type (null: unknown, before validation); `size` is the
   * page size a connection passes to its sized fields (null elsewhere).
   */
  selection(sets: readonly SelectionSetNode[], type: GraphQLNamedType | null, size: number | null): Summary {
    if (type && isAbstractType(type)) {
      let summary = EMPTY;
      for (const possible of this.schema.getPossibleTypes(type))
        summary = most(summary, this.concrete(sets, possible, size));
      return summary;
    }
    return this.concrete(sets, type, size);
  }

  private concrete(sets: readonly SelectionSetNode[], type: GraphQLNamedType | null, size: number | null): Summary {
    const key = `${type?.name ?? ""} ${size} ${sets.map((set) => this.id(set)).join(",")}`;
    const known = this.memo.get(key);
    if (known !== undefined) return known ?? EMPTY;
    this.memo.set(key, null);
    const summary = this.summarise(sets, type, size);
    this.memo.set(key, summary);
    return summary;
  }

  private summarise(sets: readonly SelectionSetNode[], type: GraphQLNamedType | null, size: number | null): Summary {
    const collected = new Map<string, Collected>();
    // Directives of fragments and spreads belong to this selection (path []).
    const counts = { directives: 0, ownDirectives: 0 };
    for (const set of sets) this.collect(set, type, collected, new Set(), counts, true);

    let cost = 0;
    let top: Summary["top"] = null;
    let depth = 0;
    let deepest: Path = null;
    let aliases = 0;
    let aliased: Counted | null = null;
    let directed: Counted | null = counts.ownDirectives > 0 ? { path: null, count: counts.ownDirectives } : null;
    let repeated: Counted | null = null;
    const aliasesByName = new Map<string, number>();

    for (const [responseName, { name, nodes, runs }] of collected) {
      const segment = responseName === name ? name : `${responseName}:${name}`;
      let fieldAliases = 0;
      let fieldDirectives = 0;
      const childSets: SelectionSetNode[] = [];
      for (const node of nodes) {
        if (node.alias) fieldAliases++;
        fieldDirectives += node.directives?.length ?? 0;
        if (node.selectionSet) childSets.push(node.selectionSet);
      }
      if (fieldAliases > 0) {
        aliases += fieldAliases;
        aliasesByName.set(name, (aliasesByName.get(name) ?? 0) + fieldAliases);
      }
      if (fieldDirectives > 0) directed = best(directed, { path: path(segment), count: fieldDirectives });
      if (nodes.length > 1) repeated = best(repeated, { path: path(segment), count: nodes.length });

      const field = type ? fieldDefinition(this.schema, type, name) : null;
      const introspection = name === "__schema" || name === "__type" || (type?.name.startsWith("__") ?? false);
      const price = field && type && !introspection ? fieldPrice(type, field) : undefined;
      const returned = field ? getNamedType(field.type) : null;
      const listSize = field ? this.listSize(field, price, nodes, size) : 1;
      const child =
        childSets.length > 0
          ? this.selection(childSets, returned, price?.sizedFields ? this.sliced(field!, price, nodes) : null)
          : EMPTY;

      const ownDepth = introspection ? 0 : 1 + child.depth;
      if (ownDepth > depth) {
        depth = ownDepth;
        deepest = { segment, rest: child.deepest };
      }
      aliases += child.aliases;
      aliased = best(aliased, prefixed(segment, child.aliased));
      counts.directives += child.directives;
      directed = best(directed, prefixed(segment, child.directed));
      repeated = best(repeated, prefixed(segment, child.repeated));

      if (!runs || introspection || !field) continue;
      const each = (returned && isCompositeType(returned) ? typeWeight(returned) : 0) + child.cost;
      const fieldCost = (price?.weight ?? 0) + listSize * each;
      cost += fieldCost;
      if (fieldCost > 0 && (!top || fieldCost > top.cost)) {
        // Down into the costliest child while it makes more than half of this field's cost.
        const down = child.top && listSize * child.top.cost * 2 > fieldCost ? child.top.path : null;
        top = { path: { segment, rest: down }, cost: fieldCost };
      }
    }
    for (const [name, count] of aliasesByName) aliased = best(aliased, { path: path(name), count });
    return { cost, top, depth, deepest, aliases, aliased, directives: counts.directives, directed, repeated };
  }

  /** Collects the fields of a selection set by response name, through fragments that apply. */
  private collect(
    set: SelectionSetNode,
    type: GraphQLNamedType | null,
    into: Map<string, Collected>,
    spread: Set<string>,
    counts: { directives: number; ownDirectives: number },
    runs: boolean,
  ): void {
    for (const selection of set.selections) {
      const directives = selection.directives?.length ?? 0;
      counts.directives += directives;
      const included = runs && this.included(selection.directives);
      if (selection.kind === Kind.FIELD) {
        const responseName = selection.alias?.value ?? selection.name.value;
        const collected = into.get(responseName);
        if (collected) {
          collected.nodes.push(selection);
          collected.runs ||= included;
        } else into.set(responseName, { name: selection.name.value, nodes: [selection], runs: included });
        continue;
      }
      counts.ownDirectives += directives;
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        if (this.applies(selection.typeCondition?.name.value, type))
          this.collect(selection.selectionSet, type, into, spread, counts, included);
        continue;
      }
      // A fragment spread: each fragment once per selection, as execution collects them.
      const name = selection.name.value;
      const fragment = this.fragments.get(name);
      if (!fragment || spread.has(name)) continue;
      spread.add(name);
      if (this.applies(fragment.typeCondition.name.value, type))
        this.collect(fragment.selectionSet, type, into, spread, counts, included);
    }
  }

  private applies(condition: string | undefined, type: GraphQLNamedType | null): boolean {
    if (condition === undefined || type === null || condition === type.name) return true;
    const conditionType = this.schema.getType(condition);
    // An unknown type condition: validation refuses the document; count what it holds meanwhile.
    if (!conditionType) return true;
    return isAbstractType(conditionType) && isObjectType(type) && this.schema.isSubType(conditionType, type);
  }

  /** False when `@skip(if: true)` or `@include(if: false)` leaves the selection out. */
  private included(directives: readonly DirectiveNode[] | undefined): boolean {
    if (!directives) return true;
    for (const directive of directives) {
      const name = directive.name.value;
      if (name !== "skip" && name !== "include") continue;
      const condition = directive.arguments?.find((argument) => argument.name.value === "if");
      const value = condition && this.value(condition.value);
      if ((name === "skip" && value === true) || (name === "include" && value === false)) return false;
    }
    return true;
  }

  /** How many items a field returns per parent: 1 for a single object. */
  private listSize(
    field: GraphQLField<unknown, unknown>,
    price: FieldPrice | undefined,
    nodes: readonly FieldNode[],
    connectionSize: number | null,
  ): number {
    if (!isListType(getNullableType(field.type))) return 1;
    if (connectionSize !== null && CONNECTION.sizedFields!.includes(field.name)) return connectionSize;
    if (price?.slicingArguments && !price.sizedFields) return this.sliced(field, price, nodes);
    if (price?.sizedByListArgument) return this.listLength(price.sizedByListArgument, nodes);
    return price?.assumedSize ?? DEFAULT_PAGE_SIZE;
  }

  /** The length of a list argument (a literal, or a variable as sent); the longest given. */
  private listLength(name: string, nodes: readonly FieldNode[]): number {
    let size = 0;
    for (const node of nodes) {
      const argument = node.arguments?.find((each) => each.name.value === name);
      if (!argument) continue;
      if (argument.value.kind === Kind.LIST) size = Math.max(size, argument.value.values.length);
      else if (argument.value.kind === Kind.VARIABLE) {
        this.variablesUsed = true;
        const value = this.variables[argument.value.name.value];
        size = Math.max(size, Array.isArray(value) ? value.length : 1);
      } else size = Math.max(size, 1);
    }
    return size;
  }

  /** The size slicing arguments ask for: the largest given, else the default; at most maxSize. */
  private sliced(field: GraphQLField<unknown, unknown>, price: FieldPrice, nodes: readonly FieldNode[]): number {
    let size: number | null = null;
    for (const node of nodes) {
      for (const argument of node.arguments ?? []) {
        if (!price.slicingArguments!.includes(argument.name.value)) continue;
        const value = this.value(argument.value);
        if (typeof value === "number" && Number.isFinite(value)) size = Math.max(size ?? 0, value);
      }
    }
    if (size === null) {
      const declared = field.args.find((argument) => argument.name === price.slicingArguments![0])?.defaultValue;
      size = typeof declared === "number" ? declared : (price.defaultSize ?? DEFAULT_PAGE_SIZE);
    }
    return Math.min(Math.max(Math.floor(size), 0), price.maxSize ?? Infinity);
  }

  /** A literal's value, or a variable's as sent (its default when not sent); undefined otherwise. */
  private value(node: ValueNode): unknown {
    switch (node.kind) {
      case Kind.INT:
        return Number.parseInt(node.value, 10);
      case Kind.FLOAT:
        return Number.parseFloat(node.value);
      case Kind.BOOLEAN:
        return node.value;
      case Kind.VARIABLE: {
        this.variablesUsed = true;
        const name = node.name.value;
        if (Object.hasOwn(this.variables, name)) return this.variables[name];
        const fallback = this.defaults[name];
        return fallback && fallback.kind !== Kind.VARIABLE ? this.value(fallback) : undefined;
      }
      default:
        return undefined;
    }
  }

  private id(set: SelectionSetNode): number {
    let id = this.ids.get(set);
    if (id === undefined) this.ids.set(set, (id = this.ids.size));
    return id;
  }
}

function fieldDefinition(
  schema: GraphQLSchema,
  type: GraphQLNamedType,
  name: string,
): GraphQLField<unknown, unknown> | null {
  if (name === "__typename") return TypeNameMetaFieldDef;
  if (type === schema.getQueryType()) {
    if (name === "__schema") return SchemaMetaFieldDef;
    if (name === "__type") return TypeMetaFieldDef;
  }
  return isObjectType(type) || isInterfaceType(type) ? (type.getFields()[name] ?? null) : null;
}

/** Per measure, the larger of two summaries (the possible types of an interface). */
function most(a: Summary, b: Summary): Summary {
  if (a === EMPTY) return b;
  return {
    cost: Math.max(a.cost, b.cost),
    top: a.cost >= b.cost ? a.top : b.top,
    depth: Math.max(a.depth, b.depth),
    deepest: a.depth >= b.depth ? a.deepest : b.deepest,
    aliases: Math.max(a.aliases, b.aliases),
    aliased: best(a.aliased, b.aliased),
    directives: Math.max(a.directives, b.directives),
    directed: best(a.directed, b.directed),
    repeated: best(a.repeated, b.repeated),
  };
}

function best(a: Counted | null, b: Counted | null): Counted | null {
  if (!a) return b;
  if (!b) return a;
  return b.count > a.count ? b : a;
}

function prefixed(segment: string, counted: Counted | null): Counted | null {
  return counted && { path: { segment, rest: counted.path }, count: counted.count };
}
