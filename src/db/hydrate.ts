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

  hydrate<T>(entity: new () => T, row: Record<string, unknown>): T {
    const instance = new entity() as Record<string, unknown>;
    for (const [property, column, convert] of this.mapper(entity)) {
      const value = row[column];
      instance[property] = value === null || value === undefined ? null : convert(value);
    }
    return instance as T;
  }

  hydrateAll<T>(entity: new () => T, rows: Array<Record<string, unknown>>): T[] {
    return rows.map((row) => this.hydrate(entity, row));
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
