import { HeaderMap, type ApolloServerPlugin, type BaseContext, type GraphQLRequestListener } from "@apollo/server";
import {
  getVariableValues,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from "graphql";
import { compileQuery, isCompiledQuery, type CompiledQuery } from "graphql-jit";

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

/** What a compiled run needs of a request Apollo Server has parsed and validated. */
export interface CompiledRunRequest {
  document: DocumentNode;
  operation: OperationDefinitionNode | undefined;
  operationName: string | null;
  contextValue: unknown;
  variables: Record<string, unknown> | undefined;
}

/**
 * Runs the queries a client repeats compiled by graphql-jit: a compiled operation is
 * straight-line code for its selection, without graphql-js's per-field work (resolve info,
 * argument objects, null-prototype result objects that JSON.stringify serialises on its slow
 * path). An event page of 50 edges resolves about 450 fields, and that per-field work was
 * most of its CPU.
 *
 * Federation: a gateway's `_entities` queries (the same text again and again, with other
 * representations) are repeated operations like any other and run compiled; `_entities`
 * resolves through the same loaders either way (test/federation/entities.spec.ts compares).
 *
 * Answers null where graphql-js should run instead: an operation's first runs, what
 * graphql-jit cannot compile, mutations, and every answer with errors: graphql-js (through
 * Apollo Server) then reports them, so errors, their extensions and HTTP status are the
 * same whichever way an operation runs. A query with errors is thereby executed twice; they
 * are reads, and errors are the exception.
 *
 * Compiled operations are kept per parsed document; Apollo Server keeps one parsed document
 * per distinct query text in its bounded document store, so a document it drops takes its
 * compiled operations with it.
 */
export function compiledRunner(schema: GraphQLSchema) {
  const documents = new WeakMap<DocumentNode, DocumentState>();
  const compile = (document: DocumentNode, operationName: string | null) => {
    let state = documents.get(document);
    if (!state) documents.set(document, (state = { runs: new Map(), compiled: new Map() }));
    const name = operationName ?? "";
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
  return async (request: CompiledRunRequest): Promise<ExecutionResult | null> => {
    // No operation (several in the document and none named): Apollo Server answers why. The
    // schema has no mutations today; one must never run twice (see above).
    if (!request.operation || request.operation.operation !== "query") return null;
    const compiled = compile(request.document, request.operationName);
    if (!compiled) return null;
    // Variables are coerced by graphql-js: graphql-jit's coercion does not apply the default
    // values of input object fields (EventOrder.field). Coerced values coerce again to
    // themselves (DateTime takes a Date, and every enum's values are its names).
    const coerced = getVariableValues(schema, request.operation.variableDefinitions ?? [], request.variables ?? {});
    if (coerced.errors) return null;
    const result = (await compiled.query(undefined, request.contextValue, coerced.coerced)) as ExecutionResult;
    return result.errors?.length ? null : result;
  };
}

/** Nothing to add to the response's status and headers (Apollo Server only reads it). */
const NO_HTTP_CHANGES = { headers: new HeaderMap() };

/**
 * The compiled runner as an Apollo Server plugin: `responseForOperation` is called after
 * Apollo has parsed and validated the operation (with its document cache), and an answer it
 * gives replaces Apollo's execution. Plugins' execution hooks (`executionDidStart`,
 * `willResolveField`) do not run for compiled answers, so a request whose trace a plugin
 * records is left to graphql-js: Apollo's inline tracing (on for a federation subgraph) answers
 * a gateway's `apollo-federation-include-trace: ftv1` with `extensions.ftv1`, a trace built from
 * `willResolveField`; answered compiled, it would be a trace without a single field. Cache
 * control, the other plugin with such hooks, is off.
 *
 * Not Apollo Server's gateway executor interface, which would serve the same purpose: for
 * every request it builds an object literal with a `status` getter and setter closing over
 * the request, and V8 allocates a literal's getter/setter pair in the old generation. From
 * there the pair keeps its closures, and through them the request's whole object graph
 * (context, DataLoader caches, rows, the result), alive through every young-generation
 * collection until the next full one. bench/FINDINGS.md §8 has the figures.
 */
export function compiledExecutionPlugin<TContext extends BaseContext>(
  schema: GraphQLSchema,
): ApolloServerPlugin<TContext> {
  const run = compiledRunner(schema);
  const listener: GraphQLRequestListener<TContext> = {
    async responseForOperation(requestContext) {
      // A plugin traces this request (requestDidStart has run for every plugin): graphql-js runs it.
      if (requestContext.metrics.captureTraces) return null;
      const result = await run({
        document: requestContext.document,
        operation: requestContext.operation,
        operationName: requestContext.operationName,
        contextValue: requestContext.contextValue,
        variables: requestContext.request.variables,
      });
      return result && { http: NO_HTTP_CHANGES, body: { kind: "single", singleResult: result } };
    },
  };
  return { requestDidStart: async () => listener };
}
