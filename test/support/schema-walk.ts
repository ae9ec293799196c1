/**
 * Generates GraphQL operations that walk a whole schema, from its introspection: every field
 * reachable from Query, nested object and list fields included, down to a bounded depth.
 *
 *   const walker = new SchemaWalker(await introspect(schema), options);
 *   const discovery = walker.operations(null);   // what needs no values from the data
 *   ... run them, collectObjects(...) into a pool ...
 *   const walk = walker.operations(pool);        // everything, lookups fed from the pool
 *   walker.unwalked()                            // fields the walk never selected: must be []
 *
 * Arguments:
 * - `first` (an Int) is `pageSize` everywhere, so that a page holds a whole list;
 * - a required enum argument is walked with each of its values (one alias each);
 * - a required scalar argument of a field that returns an object type (or interface) is
 *   supplied from objects of that type seen in the data, whose fields of the same names give
 *   the values (`order(orderId)` from Order.orderId, `resource(type, resourceId)` from the
 *   pairs of a ReferencedResource, `node(id)` from every Node's id): at the root, one
 *   execution per tuple, with variables; nested, one alias per tuple;
 * - federation's `_entities(representations:)` gets a representation of every object seen of
 *   each entity type (`entityKeys` names their key fields), in one execution;
 * - any other required argument throws: no field can be added that the walk silently skips;
 * - an optional input-object argument (a filter) is also walked with a probe value built
 *   from `probe` (its fields of those names), down to `variantDepth`: alias `<field>__probe`.
 *
 * Depth counts entities (object types with an `id: ID!` field): connections, edges, page
 * info and other wrappers are free, so a depth of 3 is 7 to 9 levels of selections
 * (`events { edges { node { orders { items { resource { account { ... } } } } } } }`).
 * Where several fields of one wrapper lead to the same entities (a connection's
 * `edges { node }` and `nodes`), the first is walked in full and the others with the
 * entities' leaf fields only: the same rows, without doubling the walk at every level.
 *
 * Every object selects `__typename`. Aliases are `<field>__<variant>` when a field is
 * selected more than once (`eventCounts__REGION__probe`), and `<field>__<Member>` where the
 * members of an interface type a field differently (`accountId: String!` on Account);
 * `fieldOf(key)` and `variantOf(key)` read them back.
 */
import {
  getIntrospectionQuery,
  graphql,
  type GraphQLSchema,
  type IntrospectionField,
  type IntrospectionInputValue,
  type IntrospectionQuery,
  type IntrospectionType,
  type IntrospectionTypeRef,
} from "graphql";

export interface WalkOptions {
  /** How many entities deep below a root field (a root entity is the first). */
  depth: number;
  /** The same for root fields fed from the data (lookups): their objects are in lists too. */
  lookupDepth: number;
  /** `first` of every field that has one. */
  pageSize: number;
  /** Entity depth down to which filters also get a probe variant (0: root fields only). */
  variantDepth: number;
  /** Input fields of a probe variant, by name (only the names an input type has are used). */
  probe: Record<string, unknown>;
  /**
   * Federation: each entity type's `@key` fields. `_entities(representations:)` is then walked
   * with a representation of every object of those types seen in the data, all in one execution.
   */
  entityKeys?: Readonly<Record<string, readonly string[]>>;
}

export interface WalkOperation {
  /** The root field it walks (a label for failures). */
  rootField: string;
  source: string;
  /** One execution per entry ([{}] when the operation has no variables). */
  variables: Array<Record<string, unknown>>;
}

/** Objects seen in responses, by `__typename`, with their leaf fields. */
export type ObjectPool = Map<string, Array<Record<string, unknown>>>;

const PROBE = "probe";
const SEPARATOR = "__";

export async function introspect(schema: GraphQLSchema): Promise<IntrospectionQuery> {
  const result = await graphql({ schema, source: getIntrospectionQuery() });
  if (result.errors?.length) throw new Error(`introspection failed: ${JSON.stringify(result.errors)}`);
  return result.data as unknown as IntrospectionQuery;
}

/** The field a response key answers (`events__probe` → `events`). */
export function fieldOf(key: string): string {
  if (key.startsWith(SEPARATOR)) return key;
  const at = key.indexOf(SEPARATOR);
  return at < 0 ? key : key.slice(0, at);
}

/** `probe` for a key of a probe variant, else `plain`. */
export function variantOf(key: string): "probe" | "plain" {
  return key.endsWith(`${SEPARATOR}${PROBE}`) ? "probe" : "plain";
}

function namedType(ref: IntrospectionTypeRef): string {
  let type: IntrospectionTypeRef = ref;
  while (type.kind === "NON_NULL" || type.kind === "LIST") {
    type = (type as { ofType: IntrospectionTypeRef }).ofType;
  }
  return (type as { name: string }).name;
}

function isRequired(arg: IntrospectionInputValue): boolean {
  return arg.type.kind === "NON_NULL" && arg.defaultValue === null;
}

/** A GraphQL literal of a JSON value (strings, numbers, booleans, lists, objects; enums are written by name). */
function literal(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(literal).join(", ")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value)
      .map(([key, field]) => `${key}: ${literal(field)}`)
      .join(", ")}}`;
  }
  return JSON.stringify(value);
}

interface ArgumentSet {
  /** Alias suffix; "" for the field's own name. */
  suffix: string;
  /** `(a: 1, b: "x")` or "". */
  text: string;
}

export class SchemaWalker {
  private readonly types = new Map<string, IntrospectionType>();
  private readonly queryType: string;
  /** `Type.field` of every field some operation selected. */
  private readonly walked = new Set<string>();
  private variables: Array<{ name: string; type: string }> = [];

  constructor(
    introspection: IntrospectionQuery,
    private readonly options: WalkOptions,
  ) {
    for (const type of introspection.__schema.types) this.types.set(type.name, type);
    this.queryType = introspection.__schema.queryType.name;
  }

  private type(name: string): IntrospectionType {
    const type = this.types.get(name);
    if (!type) throw new Error(`type ${name} is not in the introspection`);
    return type;
  }

  private fields(name: string): readonly IntrospectionField[] {
    const type = this.type(name);
    return type.kind === "OBJECT" || type.kind === "INTERFACE" ? type.fields : [];
  }

  private isLeaf(name: string): boolean {
    const kind = this.type(name).kind;
    return kind === "SCALAR" || kind === "ENUM";
  }

  /** Object types a field of this type can return: itself, or an interface's or union's members. */
  private possibleTypes(name: string): string[] {
    const type = this.type(name);
    if (type.kind === "INTERFACE" || type.kind === "UNION") return type.possibleTypes.map((member) => member.name);
    return [name];
  }

  /** An entity: an object (or interface) with an `id: ID!`; the walk's depth counts them. */
  private isEntity(name: string): boolean {
    return this.fields(name).some(
      (field) => field.name === "id" && field.type.kind === "NON_NULL" && namedType(field.type) === "ID",
    );
  }

  /** The entity types a field of type `name` leads to through wrappers (connections, edges, items). */
  private entitiesBehind(name: string, seen = new Set<string>()): Set<string> {
    const found = new Set<string>();
    if (seen.has(name) || this.isLeaf(name)) return found;
    seen.add(name);
    for (const member of this.possibleTypes(name)) {
      if (this.isEntity(member)) {
        found.add(member);
        continue;
      }
      for (const field of this.fields(member)) {
        for (const entity of this.entitiesBehind(namedType(field.type), seen)) found.add(entity);
      }
    }
    return found;
  }

  /** Every `Type.field` reachable from Query. */
  reachableFields(): string[] {
    const result: string[] = [];
    const seen = new Set<string>();
    const queue = [this.queryType];
    while (queue.length > 0) {
      const name = queue.shift()!;
      if (seen.has(name)) continue;
      seen.add(name);
      for (const member of this.possibleTypes(name)) {
        if (member !== name) queue.push(member);
      }
      if (this.type(name).kind !== "OBJECT") continue;
      for (const field of this.fields(name)) {
        result.push(`${name}.${field.name}`);
        const target = namedType(field.type);
        if (!this.isLeaf(target)) queue.push(target);
      }
    }
    return result;
  }

  /** Reachable fields no operation generated so far selected. */
  unwalked(): string[] {
    return this.reachableFields().filter((coordinate) => !this.walked.has(coordinate));
  }

  /**
   * The operations of a walk: one for every root field that needs no values from the data
   * (all of them in one operation), and one per root field that does, executed once per
   * tuple of values from `pool` (none without a pool: a discovery walk).
   */
  operations(pool: ObjectPool | null): WalkOperation[] {
    const plain: string[] = [];
    const lookups: WalkOperation[] = [];
    for (const field of this.fields(this.queryType)) {
      const lookup = this.rootLookup(field, pool);
      if (lookup === "none") {
        plain.push(...this.selectField(this.queryType, field, this.options.depth, 0, pool, new Set()));
      } else if (lookup !== null) {
        lookups.push(lookup);
      }
    }
    return [{ rootField: "(every list)", source: `{ __typename ${plain.join(" ")} }`, variables: [{}] }, ...lookups];
  }

  /**
   * A root field whose required scalar arguments come from the data, as an operation with
   * variables and one set of them per tuple; "none" for a field that needs no data; null in
   * a discovery walk (no pool yet).
   */
  private rootLookup(field: IntrospectionField, pool: ObjectPool | null): WalkOperation | "none" | null {
    const needed = field.args.filter((arg) => isRequired(arg) && !this.isEnumArg(arg));
    if (needed.length === 0) return "none";
    if (pool === null) return null;
    const tuples = this.tuplesFor(this.queryType, field, needed, pool);
    this.variables = needed.map((arg) => ({ name: arg.name, type: typeText(arg.type) }));
    const selections = this.selectField(this.queryType, field, this.options.lookupDepth, 0, pool, new Set());
    const declared = this.variables.map((variable) => `$${variable.name}: ${variable.type}`).join(", ");
    this.variables = [];
    return {
      rootField: field.name,
      source: `query Lookup(${declared}) { __typename ${selections.join(" ")} }`,
      variables: tuples,
    };
  }

  private isEnumArg(arg: IntrospectionInputValue): boolean {
    return this.type(namedType(arg.type)).kind === "ENUM";
  }

  /** Tuples of values for `needed`, from objects of the field's type that have fields of those names. */
  private tuplesFor(
    parent: string,
    field: IntrospectionField,
    needed: readonly IntrospectionInputValue[],
    pool: ObjectPool,
  ): Array<Record<string, unknown>> {
    const target = namedType(field.type);
    const names = needed.map((arg) => arg.name);
    if (field.name === "_entities" && names.join() === "representations" && this.options.entityKeys) {
      return [{ representations: this.representations(target, this.options.entityKeys, pool) }];
    }
    const fieldsOfTarget = new Set(this.fields(target).map((f) => f.name));
    const missing = needed.filter(
      (arg) => !fieldsOfTarget.has(arg.name) || !this.isLeaf(namedType(arg.type)) || this.isEnumArg(arg),
    );
    if (this.isLeaf(target) || missing.length > 0) {
      throw new Error(
        `the walk cannot supply the required argument(s) ${(missing.length ? missing : needed)
          .map((arg) => arg.name)
          .join(", ")} of ${parent}.${field.name}: teach test/support/schema-walk.ts where their values come from`,
      );
    }
    const tuples = new Map<string, Record<string, unknown>>();
    for (const member of this.possibleTypes(target)) {
      for (const object of pool.get(member) ?? []) {
        if (names.some((name) => object[name] === undefined || object[name] === null)) continue;
        const tuple = Object.fromEntries(names.map((name) => [name, object[name]]));
        tuples.set(JSON.stringify(tuple), tuple);
      }
    }
    if (tuples.size === 0) throw new Error(`no values in the data for the arguments of ${parent}.${field.name}`);
    return [...tuples.values()];
  }

  /** `{ __typename, ...key }` of every pooled object of the union's members that has its key fields. */
  private representations(
    union: string,
    keys: Readonly<Record<string, readonly string[]>>,
    pool: ObjectPool,
  ): Array<Record<string, unknown>> {
    const found = new Map<string, Record<string, unknown>>();
    for (const member of this.possibleTypes(union)) {
      const fields = keys[member];
      if (!fields) throw new Error(`no @key fields given for the entity type ${member}`);
      for (const object of pool.get(member) ?? []) {
        if (fields.some((name) => object[name] === undefined)) continue;
        const representation = {
          __typename: member,
          ...Object.fromEntries(fields.map((name) => [name, object[name]])),
        };
        found.set(JSON.stringify(representation), representation);
      }
    }
    if (found.size === 0) throw new Error(`no objects in the data to represent for ${union}`);
    return [...found.values()];
  }

  /** The argument sets a field is selected with: its variants, each an alias. */
  private argumentSets(
    parent: string,
    field: IntrospectionField,
    level: number,
    pool: ObjectPool | null,
  ): ArgumentSet[] {
    const fixed: string[] = [];
    let sets: Array<{ suffix: string[]; args: string[] }> = [{ suffix: [], args: [] }];
    const atRoot = parent === this.queryType;
    const fromData = field.args.filter((arg) => isRequired(arg) && !this.isEnumArg(arg));
    if (fromData.length > 0) {
      if (atRoot && this.variables.length > 0) {
        for (const arg of fromData) fixed.push(`${arg.name}: $${arg.name}`);
      } else {
        if (pool === null) return [];
        const tuples = this.tuplesFor(parent, field, fromData, pool);
        sets = tuples.map((tuple, index) => ({
          suffix: [`v${index}`],
          args: Object.entries(tuple).map(([name, value]) => `${name}: ${literal(value)}`),
        }));
      }
    }
    for (const arg of field.args) {
      const argType = this.type(namedType(arg.type));
      if (fromData.includes(arg)) continue;
      if (isRequired(arg) && argType.kind === "ENUM") {
        sets = sets.flatMap((set) =>
          argType.enumValues.map((value) => ({
            suffix: [...set.suffix, value.name],
            args: [...set.args, `${arg.name}: ${value.name}`],
          })),
        );
      } else if (arg.name === "first" && argType.name === "Int") {
        fixed.push(`first: ${this.options.pageSize}`);
      } else if (!isRequired(arg) && argType.kind === "INPUT_OBJECT" && level <= this.options.variantDepth) {
        const probe = Object.fromEntries(
          argType.inputFields
            .filter((input) => Object.hasOwn(this.options.probe, input.name))
            .map((input) => [input.name, this.options.probe[input.name]]),
        );
        if (Object.keys(probe).length > 0) {
          sets = sets.flatMap((set) => [
            set,
            { suffix: [...set.suffix, PROBE], args: [...set.args, `${arg.name}: ${literal(probe)}`] },
          ]);
        }
      }
    }
    const many = sets.length > 1;
    return sets.map((set) => {
      const args = [...set.args, ...fixed];
      const suffix = many || set.suffix.length > 0 ? `${SEPARATOR}${set.suffix.join(SEPARATOR) || "plain"}` : "";
      return { suffix, text: args.length > 0 ? `(${args.join(", ")})` : "" };
    });
  }

  /** A field's selections (one per argument set), with its subselection within `budget` entities. */
  private selectField(
    parent: string,
    field: IntrospectionField,
    budget: number,
    level: number,
    pool: ObjectPool | null,
    covered: Set<string>,
    member = "",
  ): string[] {
    const target = namedType(field.type);
    const leaf = this.isLeaf(target);
    const entity = this.possibleTypes(target).some((member) => this.isEntity(member));
    if (!leaf && entity && budget <= 0) return [];
    const behind = leaf ? new Set<string>() : this.entitiesBehind(target);
    // In a wrapper, the same entities as a sibling already walked in full (a connection's
    // `nodes` after its `edges`): the same rows, leaf fields only.
    const shallow = !this.isEntity(parent) && behind.size > 0 && [...behind].every((name) => covered.has(name));
    const sets = this.argumentSets(parent, field, level, pool);
    if (sets.length === 0) return [];
    let sub = "";
    if (!leaf) {
      sub = shallow
        ? this.selectLeaves(target)
        : this.selectObject(target, entity ? budget - 1 : budget, level + (entity ? 1 : 0), pool);
      for (const name of behind) covered.add(name);
    }
    this.walked.add(`${parent}.${field.name}`);
    return sets.map((set) => {
      const alias = member || set.suffix ? `${field.name}${member}${set.suffix}: ` : "";
      return `${alias}${field.name}${set.text}${sub}`;
    });
  }

  private selectObject(name: string, budget: number, level: number, pool: ObjectPool | null): string {
    const members = this.possibleTypes(name);
    if (members.length > 1 || members[0] !== name) {
      const renamed = this.conflicting(members);
      const fragments = members.map(
        (member) => `... on ${member}${this.selectMember(member, budget, level, pool, renamed)}`,
      );
      return ` { __typename ${fragments.join(" ")} }`;
    }
    return this.selectMember(name, budget, level, pool, new Set());
  }

  private selectMember(
    name: string,
    budget: number,
    level: number,
    pool: ObjectPool | null,
    renamed: ReadonlySet<string>,
  ): string {
    const covered = new Set<string>();
    const parts = ["__typename"];
    for (const field of this.fields(name)) {
      const member = renamed.has(field.name) ? `${SEPARATOR}${name}` : "";
      parts.push(...this.selectField(name, field, budget, level, pool, covered, member));
    }
    return ` { ${parts.join(" ")} }`;
  }

  /**
   * Fields that members of an interface or union type differently (`accountId: String!` on
   * Account, `String` elsewhere): one response key cannot answer both, so each member's is
   * aliased `<field>__<Member>`.
   */
  private conflicting(members: readonly string[]): Set<string> {
    const types = new Map<string, Set<string>>();
    for (const member of members) {
      for (const field of this.fields(member)) {
        const seen = types.get(field.name) ?? new Set<string>();
        seen.add(typeText(field.type));
        types.set(field.name, seen);
      }
    }
    return new Set([...types].filter(([, seen]) => seen.size > 1).map(([field]) => field));
  }

  /** Leaf fields only (with their required enum arguments), and `__typename`. */
  private selectLeaves(name: string): string {
    const members = this.possibleTypes(name);
    if (members.length > 1 || members[0] !== name) {
      const renamed = this.conflicting(members);
      const fragments = members.map((member) => `... on ${member}${this.selectMemberLeaves(member, renamed)}`);
      return ` { __typename ${fragments.join(" ")} }`;
    }
    return this.selectMemberLeaves(name, new Set());
  }

  private selectMemberLeaves(name: string, renamed: ReadonlySet<string>): string {
    const parts = ["__typename"];
    const entity = this.isEntity(name);
    for (const field of this.fields(name)) {
      const target = namedType(field.type);
      // An entity's leaves, and wrappers of leaves (page info); through a wrapper, its entities' leaves.
      if (entity && !this.isLeaf(target) && this.entitiesBehind(target).size > 0) continue;
      const member = renamed.has(field.name) ? `${SEPARATOR}${name}` : "";
      if (this.isLeaf(target) || this.entitiesBehind(target).size === 0) {
        parts.push(...this.selectField(name, field, 0, Infinity, null, new Set(), member));
      } else {
        const sets = this.argumentSets(name, field, Infinity, null);
        this.walked.add(`${name}.${field.name}`);
        const sub = this.selectLeaves(target);
        for (const set of sets) {
          const alias = member || set.suffix ? `${field.name}${member}${set.suffix}: ` : "";
          parts.push(`${alias}${field.name}${set.text}${sub}`);
        }
      }
    }
    return ` { ${parts.join(" ")} }`;
  }
}

function typeText(ref: IntrospectionTypeRef): string {
  if (ref.kind === "NON_NULL") return `${typeText((ref as { ofType: IntrospectionTypeRef }).ofType)}!`;
  if (ref.kind === "LIST") return `[${typeText((ref as { ofType: IntrospectionTypeRef }).ofType)}]`;
  return (ref as { name: string }).name;
}

/** A GraphQL object of a response and where it is. */
export interface Located {
  object: Record<string, any>;
  path: string;
}

/**
 * Calls `visit` for every GraphQL object of a response (every object with a `__typename`),
 * with its path and its ancestor objects, nearest last. JSON scalar values are not visited.
 */
export function forEachObject(
  value: unknown,
  visit: (object: Record<string, any>, path: string, ancestors: readonly Located[]) => void,
  path = "",
  ancestors: Located[] = [],
): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => forEachObject(item, visit, `${path}[${index}]`, ancestors));
    return;
  }
  if (value === null || typeof value !== "object" || !("__typename" in value)) return;
  const object = value as Record<string, any>;
  visit(object, path, ancestors);
  ancestors.push({ object, path });
  for (const [key, child] of Object.entries(object)) forEachObject(child, visit, `${path}.${key}`, ancestors);
  ancestors.pop();
}

/**
 * Every string of a response with its path: leaf values, and the strings, keys and numbers of
 * JSON scalar values (a payload names accounts, orders and resources in its keys too).
 */
export function forEachString(value: unknown, visit: (text: string, path: string) => void, path = ""): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => forEachString(item, visit, `${path}[${index}]`));
  } else if (value !== null && typeof value === "object") {
    for (const [key, child] of Object.entries(value)) {
      visit(key, `${path}{key}`);
      forEachString(child, visit, `${path}.${key}`);
    }
  } else if (typeof value === "string") {
    visit(value, path);
  } else if (typeof value === "number") {
    visit(String(value), path);
  }
}

/** Leaf fields of every object of a response, pooled by `__typename` (arguments for lookups). */
export function collectObjects(data: unknown, into: ObjectPool): ObjectPool {
  forEachObject(data, (object) => {
    const leaves = Object.fromEntries(
      Object.entries(object)
        .filter(([, value]) => value === null || typeof value !== "object")
        .map(([key, value]) => [fieldOf(key), value]),
    );
    const list = into.get(object.__typename) ?? [];
    list.push(leaves);
    into.set(object.__typename, list);
  });
  return into;
}
