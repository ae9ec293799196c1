import type { DataSource } from "typeorm";
import type { Dialect } from "./dialect";

type Converter = (value: unknown) => unknown;
type Mapper = Array<[property: string, column: string, convert: Converter]>;
/** Compiled row shapes kept per entity; past this many, start again. */
const MAX_SHAPES = 256;

const hydrators = new WeakMap<DataSource, Hydrator>();

/** Builds one entity from one row of a given shape. */
type RowHydrator = (row: Record<string, unknown>) => unknown;

/**
 * Builds entity instances from raw rows using the entities' own column metadata, the same
 * way for both stores: the read side runs hand-built SQL (UNION ALL pages, batched
 * lookups) that TypeORM's query builder cannot express, and this keeps the mapping in the
 * entity declarations only.
 *
 * A row's shape (its column names) decides the work: for each entity, prefix and shape a
 * function is compiled once that reads exactly the columns present, converts them, and
 * sets the other properties to null. Hydrating a page was a loop over every column of
 * the entity, for every row, most of them absent from a projected list's rows; the
 * benchmark's profile showed it at about 5 % of a list request's CPU.
 */
export class Hydrator {
  /** The Hydrator of a DataSource: its compiled functions serve every request. */
  static of(dataSource: DataSource, dialect: Dialect): Hydrator {
    let hydrator = hydrators.get(dataSource);
    if (!hydrator) {
      hydrator = new Hydrator(dataSource, dialect);
      hydrators.set(dataSource, hydrator);
    }
    return hydrator;
  }

  private readonly mappers = new Map<Function, Mapper>();
  private readonly compiled = new Map<Function, Map<string, RowHydrator>>();

  private constructor(
    private readonly dataSource: DataSource,
    private readonly dialect: Dialect,
  ) {}

  /**
   * Entities from rows of one statement (one shape); `prefix` reads columns selected under
   * aliases made by `columns()`.
   */
  hydrateAll<T>(entity: new () => T, rows: Array<Record<string, unknown>>, prefix = ""): T[] {
    if (rows.length === 0) return [];
    const hydrate = this.hydratorFor(entity, prefix, rows[0]);
    return rows.map((row) => hydrate(row) as T);
  }

  /**
   * The rows' second table, selected under `prefix` by `columns()` through a LEFT JOIN: an
   * entity per row, or null where the join found none (its primary key column is null).
   */
  hydrateJoined<T>(entity: new () => T, rows: Array<Record<string, unknown>>, prefix: string): Array<T | null> {
    const key = prefix + this.dataSource.getMetadata(entity).primaryColumns[0].databaseName;
    const entities = this.hydrateAll(entity, rows, prefix);
    return rows.map((row, index) => (row[key] == null ? null : entities[index]));
  }

  private hydratorFor(entity: new () => unknown, prefix: string, row: Record<string, unknown>): RowHydrator {
    let byShape = this.compiled.get(entity);
    if (!byShape) this.compiled.set(entity, (byShape = new Map()));
    const shape = `${prefix}\u0000${Object.keys(row).join(",")}`;
    let hydrate = byShape.get(shape);
    if (!hydrate) {
      // Shapes come from the statements a server sends, a few dozen; a flood of distinct
      // projections must not grow this without bound.
      if (byShape.size >= MAX_SHAPES) byShape.clear();
      hydrate = compileHydrator(entity, this.mapper(entity), prefix, new Set(Object.keys(row)));
      byShape.set(shape, hydrate);
    }
    return hydrate;
  }

  /** `alias.column AS prefixcolumn, ...` for every column of an entity: a second table in one SELECT. */
  columns(entity: Function, alias: string, prefix: string): string {
    return this.mapper(entity)
      .map(([, column]) => `${alias}.${column} AS ${prefix}${column}`)
      .join(", ");
  }

  /** The columns of some properties of an entity, in declaration order; null if one is not a column. */
  columnsOfProperties(entity: Function, properties: ReadonlySet<string>): string[] | null {
    const mapper = this.mapper(entity);
    for (const property of properties) if (!mapper.some(([name]) => name === property)) return null;
    return mapper.filter(([property]) => properties.has(property)).map(([, column]) => column);
  }

  private mapper(entity: Function): Mapper {
    let mapper = this.mappers.get(entity);
    if (!mapper) {
      mapper = this.dataSource
        .getMetadata(entity)
        .columns.map((column) => [column.propertyName, column.databaseName, this.converter(String(column.type))]);
      this.mappers.set(entity, mapper);
    }
    return mapper;
  }

  private converter(type: string): Converter {
    const d = this.dialect;
    switch (type) {
      case "datetime":
        return (value) => d.readTime(value);
      case "boolean":
        return (value) => value === true || value === 1 || value === "1";
      case "bigint":
      case "int":
      case "integer":
        return (value) => Number(value);
      case "json":
        return (value) => d.readJson(value);
      default:
        return (value) => value;
    }
  }
}

/**
 * `row => instance` for rows that have exactly `columns`: straight-line code, one statement per
 * property. Property and column names come from the entities' metadata, never from input;
 * they are embedded as JSON string literals.
 */
function compileHydrator(
  entity: new () => unknown,
  mapper: Mapper,
  prefix: string,
  columns: ReadonlySet<string>,
): RowHydrator {
  const converters: Converter[] = [];
  const lines = mapper.map(([property, column, convert]) => {
    const target = `o[${JSON.stringify(property)}]`;
    if (!columns.has(prefix + column)) return `${target} = null;`;
    converters.push(convert);
    return `v = row[${JSON.stringify(prefix + column)}]; ${target} = v === null || v === undefined ? null : c[${converters.length - 1}](v);`;
  });
  const body = `return function hydrate(row) {\n const o = new E(); let v;\n ${lines.join("\n ")}\n return o;\n};`;
  return new Function("E", "c", body)(entity, converters) as RowHydrator;
}
