import { HeaderMap, type ApolloServerPlugin, type BaseContext, type GraphQLRequestListener } from "@apollo/server";
import { GraphQLError, Kind, parse, type DocumentNode, type GraphQLSchema } from "graphql";
import { SettingsError } from "../auth/settings";
import type { Principal } from "../auth/credentials";
import { CostBudgets, type BudgetSettings } from "./budget";
import { costOf, countTokens, type CostReport } from "./cost";

/**
 * How much one operation may ask for, and how much a client may spend a second. A null limit
 * is off. Costs are those of src/server/cost.ts.
 */
export interface CostLimitSettings {
  /** Cost of one operation. */
  maxCost: number | null;
  /** Levels of fields. */
  maxDepth: number | null;
  /** Aliases in one operation. */
  maxAliases: number | null;
  /** Directives in one operation. */
  maxDirectives: number | null;
  /** Times one response name is selected in one place (graphql-js validates them pairwise). */
  maxRepeats: number | null;
  /** Tokens of the document, counted before it is parsed. */
  maxTokens: number | null;
  /** Each client's budget, a token bucket of cost units (null: no budget). */
  budget: BudgetSettings | null;
}

/**
 * The defaults: every query of the README, of GraphiQL's welcome page, of the benchmark and of
 * a dashboard fits several times over (the largest, the README's account → orders(20) → items →
 * resource → events(10), costs 3,663); the abusive shapes of the issue are each refused (see the
 * README, "Query cost and limits").
 */
export const DEFAULT_COST_LIMITS: CostLimitSettings = Object.freeze({
  maxCost: 10_000,
  maxDepth: 15,
  maxAliases: 100,
  maxDirectives: 50,
  maxRepeats: 20,
  maxTokens: 5_000,
  budget: Object.freeze({ perSecond: 10_000, burst: 50_000 }),
});

/** No limit at all (tests of other features, and clients that want none). */
export const NO_COST_LIMITS: CostLimitSettings = Object.freeze({
  maxCost: null,
  maxDepth: null,
  maxAliases: null,
  maxDirectives: null,
  maxRepeats: null,
  maxTokens: null,
  budget: null,
});

/**
 * From the environment: TRAILGRAPH_MAX_COST, TRAILGRAPH_MAX_DEPTH, TRAILGRAPH_MAX_ALIASES,
 * TRAILGRAPH_MAX_DIRECTIVES, TRAILGRAPH_MAX_REPEATS, TRAILGRAPH_MAX_TOKENS (a whole number, or
 * `0`/`off`), TRAILGRAPH_COST_PER_SECOND (cost units each client gains a second, or `0`/`off` for
 * no budget) and TRAILGRAPH_COST_BURST (what a client's bucket holds: by default five seconds'
 * worth, and never less than TRAILGRAPH_MAX_COST). A bad value is a SettingsError naming it.
 */
export function costLimitSettings(env: NodeJS.ProcessEnv = process.env): CostLimitSettings {
  const defaults = DEFAULT_COST_LIMITS;
  const maxCost = limit(env, "TRAILGRAPH_MAX_COST", defaults.maxCost);
  const perSecond = limit(env, "TRAILGRAPH_COST_PER_SECOND", defaults.budget!.perSecond);
  const burstText = env.TRAILGRAPH_COST_BURST?.trim() ?? "";
  let budget: BudgetSettings | null = null;
  if (perSecond !== null) {
    const burst =
      burstText === ""
        ? Math.max(perSecond * (defaults.budget!.burst / defaults.budget!.perSecond), maxCost ?? 0)
        : wholeNumber(burstText);
    if (burst === null || burst === 0)
      throw new SettingsError(`TRAILGRAPH_COST_BURST '${env.TRAILGRAPH_COST_BURST}' is not a whole number above 0.`);
    if (maxCost !== null && burst < maxCost)
      throw new SettingsError(
        `TRAILGRAPH_COST_BURST (${burst}) is less than TRAILGRAPH_MAX_COST (${maxCost}): an operation the cost ` +
          "limit lets through could never be paid for.",
      );
    budget = { perSecond, burst };
  } else if (burstText !== "") {
    throw new SettingsError("TRAILGRAPH_COST_BURST is set but TRAILGRAPH_COST_PER_SECOND is off: set both or neither.");
  }
  return {
    maxCost,
    maxDepth: limit(env, "TRAILGRAPH_MAX_DEPTH", defaults.maxDepth),
    maxAliases: limit(env, "TRAILGRAPH_MAX_ALIASES", defaults.maxAliases),
    maxDirectives: limit(env, "TRAILGRAPH_MAX_DIRECTIVES", defaults.maxDirectives),
    maxRepeats: limit(env, "TRAILGRAPH_MAX_REPEATS", defaults.maxRepeats),
    maxTokens: limit(env, "TRAILGRAPH_MAX_TOKENS", defaults.maxTokens),
    budget,
  };
}

function limit(env: NodeJS.ProcessEnv, name: string, fallback: number | null): number | null {
  const text = env[name]?.trim().toLowerCase() ?? "";
  if (text === "") return fallback;
  if (text === "off") return null;
  const value = wholeNumber(text);
  if (value === null) throw new SettingsError(`${name} '${env[name]}' is neither a whole number nor off.`);
  return value === 0 ? null : value;
}

function wholeNumber(text: string): number | null {
  if (!/^\d+$/.test(text)) return null;
  const value = Number(text);
  return Number.isSafeInteger(value) ? value : null;
}

/** The limits in one line, for the start log. */
export function describeCostLimits(settings: CostLimitSettings): string {
  const show = (value: number | null) => (value === null ? "off" : number(value));
  const { maxCost, maxDepth, maxAliases, maxDirectives, maxRepeats, maxTokens, budget } = settings;
  return (
    `query limits: cost ${show(maxCost)}, depth ${show(maxDepth)}, aliases ${show(maxAliases)}, ` +
    `directives ${show(maxDirectives)}, repeats ${show(maxRepeats)}, tokens ${show(maxTokens)}; ` +
    (budget
      ? `each client may spend ${number(budget.perSecond)} a second, ${number(budget.burst)} at once (per process)`
      : "no per-client budget")
  );
}

/**
 * Whose budget a request spends: its credential's subject (a JWT's `sub`, an API key's id);
 * without authentication (open mode), its remote address.
 */
export function clientKey(principal: Principal | null, address: string): string {
  return principal && principal.via !== "open" ? `subject ${principal.subject}` : `address ${address}`;
}

/** What `extensions.cost` of an answer holds. */
export interface CostExtension {
  /** What the operation costs (src/server/cost.ts). */
  requested: number;
  /** The most one operation may cost. */
  limit: number | null;
  /** What the client's budget holds after this operation (absent without a budget). */
  remaining?: number;
}

/**
 * Refuses documents above the token, depth, alias, directive and repeat limits before Apollo
 * Server parses and validates them: graphql-js's validation is quadratic in repeated fields (a
 * field selected a thousand times takes it a good part of a second), so these must be known
 * first. `refusal` lexes the text (stopping past the token limit), parses it and walks every
 * operation and fragment of it; a text that passed is remembered (the limits do not depend on
 * variables), so that the operations a client repeats are parsed once, by Apollo Server.
 */
export class DocumentGuard {
  /** Texts that passed, oldest first, and their total length. */
  private readonly passed = new Map<string, true>();
  private passedChars = 0;

  constructor(
    private readonly schema: GraphQLSchema,
    private readonly settings: CostLimitSettings,
    private readonly memory = { texts: 2_000, chars: 4 * 1024 * 1024 },
  ) {}

  /** The error to answer for a GraphQL text, or null to let Apollo Server have it. */
  refusal(text: string): GraphQLError | null {
    if (this.passed.has(text)) return null;
    const max = this.settings.maxTokens;
    if (max !== null && countTokens(text, max) > max) {
      return refuse("TOO_MANY_TOKENS", `The document has more than ${number(max)} tokens, the limit.`, { limit: max });
    }
    let document: DocumentNode;
    try {
      document = parse(text, { noLocation: true });
    } catch {
      return null; // Apollo Server reports the syntax error.
    }
    const limits = { ...this.settings, maxCost: null };
    for (const definition of document.definitions) {
      if (definition.kind !== Kind.OPERATION_DEFINITION && definition.kind !== Kind.FRAGMENT_DEFINITION) continue;
      const violation = check(costOf(this.schema, document, definition, null), limits);
      if (violation) return violation;
    }
    this.remember(text);
    return null;
  }

  private remember(text: string): void {
    if (text.length > this.memory.chars) return;
    this.passed.set(text, true);
    this.passedChars += text.length;
    for (const [oldest] of this.passed) {
      if (this.passed.size <= this.memory.texts && this.passedChars <= this.memory.chars) break;
      this.passed.delete(oldest);
      this.passedChars -= oldest.length;
    }
  }
}

/** An error of this module as an HTTP answer, for refusals made before Apollo Server. */
export function refusalResponse(error: GraphQLError): { status: number; body: string } {
  const { http, ...extensions } = error.extensions as { http?: { status?: number } };
  return {
    status: http?.status ?? 400,
    body: JSON.stringify({ errors: [{ message: error.message, extensions }] }),
  };
}

/** The cost of each request's answer (Apollo Server's request object lives as long as the request). */
const answered = new WeakMap<object, CostExtension>();

/** The cost of an operation the limits let through, once known (`requestContext.request`), else null. */
export function costOfRequest(request: object): number | null {
  return answered.get(request)?.requested ?? null;
}

/**
 * Refuses, before anything runs, operations above the limits, and operations of a client whose
 * budget is spent; reports each answer's cost in `extensions.cost`.
 *
 * Once Apollo Server has resolved the operation (`didResolveOperation`), with the request's
 * variables, every limit is checked again (the DocumentGuard saw the text, not its variables or
 * its operation name, and a persisted query's hash has no text) and the cost with them. That is
 * before execution on either path: graphql-js, or the compiled runner of src/server/executor.ts,
 * which answers from `responseForOperation`. The cost is then taken from the client's budget
 * (`clientOf`): when it holds less, HTTP 429 with `Retry-After`.
 *
 * Refusals are GraphQL errors with HTTP 400 (429 for the budget) and no `data`: what the GraphQL
 * over HTTP specification prescribes for a request that fails validation, which these limits
 * extend, and what Apollo Server answers for its own validation errors. 422 would say the same
 * less usually; neither is worth retrying unchanged, unlike a 429.
 */
export function costLimitsPlugin<TContext extends BaseContext>(
  schema: GraphQLSchema,
  settings: CostLimitSettings,
  clientOf: (context: TContext) => string,
  clock?: () => number,
): ApolloServerPlugin<TContext> {
  const budgets = settings.budget ? new CostBudgets(settings.budget, clock) : null;
  // The budget caps an operation too: one that costs more than a bucket holds never runs.
  const maxCost = Math.min(settings.maxCost ?? Infinity, settings.budget?.burst ?? Infinity);
  const costLimit = Number.isFinite(maxCost) ? maxCost : null;
  const limits = { ...settings, maxCost: costLimit };
  /** Reports that hold whatever the variables, per document and operation name. */
  const reusable = new WeakMap<DocumentNode, Map<string, CostReport>>();

  const listener: GraphQLRequestListener<TContext> = {
    async didResolveOperation({ document, operation, operationName, request, contextValue }) {
      if (!operation) return;
      const name = operationName ?? "";
      let report = reusable.get(document)?.get(name);
      if (!report) {
        report = costOf(schema, document, operation, request.variables);
        if (!report.variablesUsed) {
          let byName = reusable.get(document);
          if (!byName) reusable.set(document, (byName = new Map()));
          byName.set(name, report);
        }
      }
      const violation = check(report, limits);
      if (violation) throw violation;
      const requested = report.cost;
      if (!budgets) {
        answered.set(request, { requested, limit: costLimit });
        return;
      }
      // Every operation takes at least 1: a flood of free ones is a flood too.
      const charge = budgets.charge(clientOf(contextValue), Math.max(1, requested));
      answered.set(request, { requested, limit: costLimit, remaining: charge.remaining });
      if (!charge.ok) {
        const { perSecond, burst } = budgets.settings;
        throw refuse(
          "RATE_LIMITED",
          `This client's budget is spent: the operation costs ${number(requested)} and ${number(charge.remaining)} ` +
            `remain (${number(perSecond)} a second, at most ${number(burst)}); retry in ${charge.retryAfterSeconds} s.`,
          { cost: requested, remaining: charge.remaining, retryAfter: charge.retryAfterSeconds },
          429,
          new HeaderMap([["retry-after", String(charge.retryAfterSeconds)]]),
        );
      }
    },

    async willSendResponse({ request, response }) {
      const cost = answered.get(request);
      if (!cost || response.body.kind !== "single") return;
      const result = response.body.singleResult;
      result.extensions = { ...result.extensions, cost };
    },
  };
  return { requestDidStart: async () => listener };
}

/** The first limit a report breaks, as the error to answer; null when it keeps them all. */
export function check(report: CostReport, limits: CostLimitSettings): GraphQLError | null {
  const { maxDepth, maxAliases, maxDirectives, maxRepeats, maxCost } = limits;
  const cost = report.cost;
  if (maxDepth !== null && report.depth > maxDepth) {
    return refuse(
      "OPERATION_TOO_DEEP",
      `This operation nests fields ${report.depth} deep, more than the limit of ${maxDepth}: ${report.deepest}.`,
      { depth: report.depth, limit: maxDepth, field: report.deepest, cost },
    );
  }
  if (maxAliases !== null && report.aliases > maxAliases) {
    return refuse(
      "TOO_MANY_ALIASES",
      `This operation has ${number(report.aliases)} aliases, more than the limit of ${maxAliases} ` +
        `(\`${report.mostAliased}\` has most of them).`,
      { aliases: report.aliases, limit: maxAliases, field: report.mostAliased, cost },
    );
  }
  if (maxDirectives !== null && report.directives > maxDirectives) {
    return refuse(
      "TOO_MANY_DIRECTIVES",
      `This operation has ${number(report.directives)} directives, more than the limit of ${maxDirectives} ` +
        `(most of them on \`${report.mostDirectives}\`).`,
      { directives: report.directives, limit: maxDirectives, field: report.mostDirectives, cost },
    );
  }
  if (maxRepeats !== null && report.repeats > maxRepeats) {
    return refuse(
      "TOO_MANY_REPEATS",
      `\`${report.mostRepeated}\` is selected ${number(report.repeats)} times in one place (fragments included), ` +
        `more than the limit of ${maxRepeats}: select a field once.`,
      { repeats: report.repeats, limit: maxRepeats, field: report.mostRepeated, cost },
    );
  }
  if (maxCost !== null && cost > maxCost) {
    return refuse(
      "OPERATION_TOO_COSTLY",
      `This operation costs ${number(cost)}, more than the limit of ${number(maxCost)}; \`${report.costliest}\` ` +
        "makes most of it. Every list multiplies what its items cost by its page size: ask for smaller pages " +
        "(first/last) or fewer nested lists.",
      { cost, limit: maxCost, field: report.costliest },
    );
  }
  return null;
}

function refuse(
  code: string,
  message: string,
  details: Record<string, unknown>,
  status = 400,
  headers?: HeaderMap,
): GraphQLError {
  // Apollo Server takes `http` (a HeaderMap's headers too) for the answer's status and headers.
  const extensions: Record<string, unknown> = { code, ...details, http: { status, ...(headers ? { headers } : {}) } };
  return new GraphQLError(message, { extensions });
}

function number(value: number): string {
  return value.toLocaleString("en-US");
}
