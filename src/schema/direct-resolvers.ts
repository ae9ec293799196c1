import { GraphQLObjectType, type GraphQLFieldResolver, type GraphQLSchema } from "graphql";
import { getMetadataStorage } from "type-graphql";

/**
 * type-graphql calls each resolver method through a wrapper that, for every call, converts the
 * arguments graphql-js has already coerced into instances of the argument classes, passes them
 * to an `async` validation step (which does nothing here: the schema is built with
 * `validate: false`) and so waits on a `Promise.all` over the parameters before the method
 * runs. A page of 17 resources calls `events(first: 5)` 17 times; in operation c of the
 * benchmark that wrapper was about 6 % of the server's CPU (bench/FINDINGS.md §11).
 *
 * This replaces the wrapper of every resolver method it can call the same way without it:
 * one of the resolver classes `resolvers` that takes its parameters only from `@Root()`,
 * `@Args()`, `@Arg(name)`, `@Ctx()` and `@Info()`, and has no middleware or authorization.
 * The method receives graphql-js's coerced arguments as they are: plain objects with the same
 * fields (no resolver here relies on their class, and validation is off). Any other method,
 * and a call whose root is not of the class `@Root()` declares, keeps type-graphql's resolver.
 *
 * Returns the fields it replaced, as `Type.field`.
 */
export function installDirectResolvers(schema: GraphQLSchema, resolvers: readonly Function[]): string[] {
  const storage = getMetadataStorage();
  const ours = new Set(resolvers);
  const typeNames = new Map<Function, string>(storage.objectTypes.map((type) => [type.target, type.name]));
  const instances = new Map<Function, Record<string, (...params: unknown[]) => unknown>>();
  const instanceOf = (target: Function) => {
    let instance = instances.get(target);
    if (!instance) {
      instance = new (target as new () => Record<string, (...params: unknown[]) => unknown>)();
      instances.set(target, instance);
    }
    return instance;
  };

  const candidates = [
    ...storage.queries.map((handler) => ({ handler, typeName: schema.getQueryType()?.name })),
    ...storage.fieldResolvers.map((handler) => ({
      handler,
      typeName: handler.getObjectType ? typeNames.get(handler.getObjectType() as Function) : undefined,
    })),
  ];
  const replaced: string[] = [];
  for (const { handler, typeName } of candidates) {
    if (
      !ours.has(handler.target) ||
      typeName === undefined ||
      (handler.middlewares?.length ?? 0) > 0 ||
      handler.roles !== undefined
    )
      continue;
    // "internal": a method of the object type's own class, called on the root; left as is.
    if ("kind" in handler && handler.kind !== "external") continue;
    const type = schema.getType(typeName);
    if (!(type instanceof GraphQLObjectType)) continue;
    const field = type.getFields()[handler.schemaName];
    if (!field?.resolve) continue;
    const parameters = parameterReaders(handler.params ?? []);
    if (!parameters) continue;
    const instance = instanceOf(handler.target);
    const method = instance[handler.methodName];
    if (typeof method !== "function") continue;
    field.resolve = directResolver(instance, method, parameters, field.resolve);
    replaced.push(`${typeName}.${handler.schemaName}`);
  }
  return replaced;
}

type Reader = (root: unknown, args: Record<string, unknown>, context: unknown, info: unknown) => unknown;

interface Parameters {
  readers: Reader[];
  /**
   * The class `@Root()` declares (TypeScript's emitted parameter type), if any: type-graphql
   * would convert a root of another class into it, so such a call is left to type-graphql.
   */
  rootClass: Function | null;
}

/** How to read each parameter from a resolver call, in parameter order; null if one cannot be. */
function parameterReaders(
  params: ReadonlyArray<{ kind: string; index: number; name?: string; propertyName?: string; getType?: () => unknown }>,
): Parameters | null {
  const readers: Reader[] = [];
  let rootClass: Function | null = null;
  for (const param of [...params].sort((a, b) => a.index - b.index)) {
    if (param.index !== readers.length) return null;
    switch (param.kind) {
      case "root": {
        if (param.propertyName !== undefined) return null;
        const declared = param.getType?.();
        if (declared !== undefined && typeof declared !== "function") return null;
        rootClass = declared ?? null;
        readers.push((root) => root);
        break;
      }
      case "args":
        readers.push((_root, args) => args);
        break;
      case "arg": {
        const name = param.name!;
        readers.push((_root, args) => args[name]);
        break;
      }
      case "context":
        if (param.propertyName !== undefined) return null;
        readers.push((_root, _args, context) => context);
        break;
      case "info":
        readers.push((_root, _args, _context, info) => info);
        break;
      default:
        return null;
    }
  }
  return { readers, rootClass };
}

/** The method called directly, or type-graphql's resolver for a root of another class. */
function directResolver(
  instance: object,
  method: (...params: unknown[]) => unknown,
  { readers, rootClass }: Parameters,
  typeGraphqlResolver: GraphQLFieldResolver<unknown, unknown>,
): GraphQLFieldResolver<unknown, unknown> {
  const direct = directCall(instance, method, readers);
  if (rootClass === null) return direct;
  return (root, args, context, info) =>
    root instanceof rootClass ? direct(root, args, context, info) : typeGraphqlResolver(root, args, context, info);
}

function directCall(
  instance: object,
  method: (...params: unknown[]) => unknown,
  readers: Reader[],
): GraphQLFieldResolver<unknown, unknown> {
  if (readers.length > 4) {
    return (root, args, context, info) =>
      method.apply(
        instance,
        readers.map((read) => read(root, args, context, info)),
      );
  }
  // Up to four parameters (every resolver here) without an array a call; a parameter the
  // method does not have is passed as undefined, which is the same as leaving it out.
  const [p0 = none, p1 = none, p2 = none, p3 = none] = readers;
  return (root, args, context, info) =>
    method.call(
      instance,
      p0(root, args, context, info),
      p1(root, args, context, info),
      p2(root, args, context, info),
      p3(root, args, context, info),
    );
}

const none: Reader = () => undefined;
