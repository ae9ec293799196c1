import "reflect-metadata";
import { execute, parse, type GraphQLResolveInfo } from "graphql";
import {
  Args,
  ArgsType,
  buildSchema,
  Ctx,
  Field,
  FieldResolver,
  getMetadataStorage,
  Info,
  ObjectType,
  Query,
  Resolver,
  Root,
  UseMiddleware,
  Arg,
} from "type-graphql";
import { describe, expect, it } from "vitest";
import { RESOLVERS } from "./build";
import { installDirectResolvers } from "./direct-resolvers";
import { scalarsMap } from "./scalars";

@ObjectType()
class Thing {
  @Field(() => String)
  name!: string;
}

@ArgsType()
class EchoArgs {
  @Field(() => String, { nullable: true })
  word?: string | null;
}

@Resolver()
class ThingQuery {
  @Query(() => Thing)
  thing(@Arg("plain", () => Boolean) plain: boolean): Thing {
    // A plain object is not of the class the field resolvers' @Root() declares.
    return plain ? ({ name: "plain" } as Thing) : Object.assign(new Thing(), { name: "instance" });
  }
}

/** What a resolver received: its root's and arguments' classes, the argument, context and field. */
function describeCall(root: unknown, args: EchoArgs, ctx: { tag: string }, info: GraphQLResolveInfo): string {
  return [root instanceof Thing, args instanceof EchoArgs, args.word, ctx.tag, info.fieldName].join(":");
}

@Resolver(() => Thing)
class ThingResolver {
  echo(root: Thing, args: EchoArgs, ctx: { tag: string }, info: GraphQLResolveInfo): string {
    return describeCall(root, args, ctx, info);
  }

  @FieldResolver(() => String)
  five(
    @Root() root: Thing,
    @Arg("x", () => String) x: string,
    @Arg("y", () => String) y: string,
    @Ctx() ctx: { tag: string },
    @Info() info: GraphQLResolveInfo,
  ): string {
    return [root.name, x, y, ctx.tag, info.fieldName].join(":");
  }

  @FieldResolver(() => String)
  @UseMiddleware(async (_data, next) => `${String(await next())}+middleware`)
  guarded(
    @Root() root: Thing,
    @Args(() => EchoArgs) args: EchoArgs,
    @Ctx() ctx: { tag: string },
    @Info() info: GraphQLResolveInfo,
  ) {
    return describeCall(root, args, ctx, info);
  }
}

// tsc emits each parameter's declared class (`design:paramtypes`), which @Root() records; the
// test's transpiler does not, so `echo` is decorated by hand, as the built server's resolvers are.
Reflect.defineMetadata("design:paramtypes", [Thing, EchoArgs, Object, Object], ThingResolver.prototype, "echo");
Root()(ThingResolver.prototype, "echo", 0);
Args(() => EchoArgs)(ThingResolver.prototype, "echo", 1);
Ctx()(ThingResolver.prototype, "echo", 2);
Info()(ThingResolver.prototype, "echo", 3);
FieldResolver(() => String)(
  ThingResolver.prototype,
  "echo",
  Object.getOwnPropertyDescriptor(ThingResolver.prototype, "echo")!,
);

describe("direct resolvers", () => {
  it("call a resolver method with graphql-js's arguments, and leave other calls to type-graphql", async () => {
    const schema = await buildSchema({ resolvers: [ThingQuery, ThingResolver], validate: false });
    expect(installDirectResolvers(schema, [ThingQuery, ThingResolver]).sort()).toEqual([
      "Query.thing",
      "Thing.echo",
      "Thing.five",
    ]);

    const result = await execute({
      schema,
      document: parse(
        `{ instance: thing(plain: false) { echo(word: "a") guarded(word: "b") five(x: "1", y: "2") } plain: thing(plain: true) { echo(word: "c") } }`,
      ),
      contextValue: { tag: "ctx" },
    });
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({
      // Direct: the root as it came, the arguments as graphql-js coerced them (no class).
      instance: {
        echo: "true:false:a:ctx:echo",
        guarded: "true:true:b:ctx:guarded+middleware",
        five: "instance:1:2:ctx:five",
      },
      // A root of another class: type-graphql's resolver converts it and the arguments.
      plain: { echo: "true:true:c:ctx:echo" },
    });
  });

  it("serve every resolver method of TrailGraph's schema", async () => {
    const schema = await buildSchema({ resolvers: RESOLVERS, scalarsMap, validate: false });
    const storage = getMetadataStorage();
    const ours = new Set<Function>(RESOLVERS);
    const methods = [
      ...storage.queries.filter((query) => ours.has(query.target)),
      ...storage.fieldResolvers.filter((field) => field.kind === "external" && ours.has(field.target)),
    ];
    const replaced = installDirectResolvers(schema, RESOLVERS);
    expect(replaced.length).toBeGreaterThan(30);
    expect(replaced).toHaveLength(methods.length);
    expect(replaced).toContain("ReferencedResource.events");
  });
});
