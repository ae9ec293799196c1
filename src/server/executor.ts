import type { ApolloServerOptionsWithGateway } from "@apollo/server";
import { execute, getVariableValues, type DocumentNode, type ExecutionResult, type GraphQLSchema } from "graphql";
import { compileQuery, isCompiledQuery, type CompiledQuery } from "graphql-jit";

type Gateway = ApolloServerOptionsWithGateway<never>["gateway"];
type Executor = NonNullable<Awaited<ReturnType<Gateway["load"]>>["executor"]>;

/**
 * An operation is compiled on its COMPILE_AFTER-th run: compiling costs more than executing
 * once, so an operation sent once stays on graphql-js.
 */
export const COMPILE_AFTER = 2;

interface DocumentState {
  /** Executions so far, per operation name ("" for the only one). */
  runs: Map<string, number>;
  /** Compiled operations; null when graphql-jit could not compile one (it runs on graphql-js). */
  compiled: Map<string, CompiledQuery | null>;
}

/**
 * Runs operations the way graphql-js does, compiling the ones a client sends again with
 * graphql-jit: a compiled operation is straight-line code for its selection, without
 * graphql-js's per-field work (resolve info, argument objects, null-prototype result
 * objects that JSON.stringify serialises on its slow path). An event page of 50 edges
 * resolves about 450 fields, and that per-field work was most of its CPU.
 *
 * Compiled operations are kept per parsed document; Apollo Server keeps one parsed document
 * per distinct query text in its bounded document store, so a document it drops takes its
 * compiled operations with it.
 */
export function compilingExecutor(schema: GraphQLSchema): Executor {
  const documents = new WeakMap<DocumentNode, DocumentState>();
  const compile = (state: DocumentState, document: DocumentNode, name: string, operationName: string | null) => {
    let compiled = state.compiled.get(name);
    if (compiled !== undefined) return compiled;
    const runs = (state.runs.get(name) ?? 0) + 1;
    state.runs.set(name, runs);
    if (runs < COMPILE_AFTER) return null;
    const result = compileQuery(schema, document, operationName ?? undefined, {
      // Stack traces of resolver errors are never sent; capturing them costs.
      disablingCapturingStackErrors: true,
    });
    compiled = isCompiledQuery(result) ? result : null;
    state.compiled.set(name, compiled);
    return compiled;
  };
  return async (request) => {
    const { document, operationName, context } = request;
    const variables = request.request.variables ?? {};
    let state = documents.get(document);
    if (!state) documents.set(document, (state = { runs: new Map(), compiled: new Map() }));
    const compiled = compile(state, document, operationName ?? "", operationName);
    if (compiled) {
      // Variables are coerced by graphql-js, with its errors: graphql-jit's coercion does not
      // apply the default values of input object fields (EventOrder.field) and reports errors
      // Apollo cannot format. Coerced values coerce again to themselves (DateTime takes a Date,
      // and every enum's values are its names).
      const coerced = getVariableValues(schema, request.operation.variableDefinitions ?? [], variables);
      if (coerced.errors) return { errors: coerced.errors };
      return (await compiled.query(undefined, context, coerced.coerced)) as ExecutionResult;
    }
    return execute({ schema, document, operationName, contextValue: context, variableValues: variables });
  };
}

/**
 * Apollo Server takes a custom executor through its gateway interface: the schema is
 * announced once, the executor is called for every operation after Apollo has parsed and
 * validated it (with its document cache) and before its response plugins run.
 */
export function compilingGateway(schema: GraphQLSchema): Gateway {
  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: "" });
      return () => undefined;
    },
    async load() {
      return { executor: compilingExecutor(schema) };
    },
    async stop() {},
  };
}
