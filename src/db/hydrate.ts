import type { DataSource } from "typeorm";
import type { Dialect } from "./dialect";

type Converter = (value: unknown) => unknown;
type Mapper = Array<[property: string, column: string, convert: Converter]>;

/**
 * Builds entity instances from raw rows using the entities' own column metadata, the same
 * way for both stores: the read side runs hand-built SQL (UNION ALL pages, batched
 * lookups) that TypeORM's query builder cannot express, and this keeps the mapping in the
 * entity declarations only.
 */
export class Hydrator {
  private readonly mappers = new Map<Function, Mapper>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly dialect: Dialect,
  ) {}

  /** An entity from a row; `prefix` reads columns selected under aliases made by `columns()`. */
  hydrate<T>(entity: new () => T, row: Record<string, unknown>, prefix = ""): T {
    const instance = new entity() as Record<string, unknown>;
    for (const [property, column, convert] of this.mapper(entity)) {
      const value = row[prefix + column];
      instance[property] = value === null || value === undefined ? null : convert(value);
    }
    return instance as T;
  }

  hydrateAll<T>(entity: new () => T, rows: Array<Record<string, unknown>>): T[] {
    return rows.map((row) => this.hydrate(entity, row));
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
