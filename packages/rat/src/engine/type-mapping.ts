import {
  DuckDBArrayType,
  DuckDBDecimalType,
  DuckDBListType,
  DuckDBMapType,
  DuckDBStructType,
  type DuckDBType,
  DuckDBTypeId,
} from '@duckdb/node-api';
import { ValidationError } from '../core/errors.js';
import type { IcebergType, PrimitiveType, StructField } from '../iceberg/types.js';

/** The DuckDB SQL type that holds an Iceberg type (spec: "Schemas and Data Types"). */
export function duckDbTypeOf(type: IcebergType): string {
  if (typeof type === 'string') return duckDbPrimitive(type);
  switch (type.type) {
    case 'struct':
      return `STRUCT(${type.fields.map((f) => `"${f.name.replaceAll('"', '""')}" ${duckDbTypeOf(f.type)}`).join(', ')})`;
    case 'list':
      return `${duckDbTypeOf(type.element)}[]`;
    case 'map':
      return `MAP(${duckDbTypeOf(type.key)}, ${duckDbTypeOf(type.value)})`;
  }
}

function duckDbPrimitive(type: PrimitiveType): string {
  const decimal = /^decimal\((\d+),\s*(\d+)\)$/.exec(type);
  if (decimal) return `DECIMAL(${decimal[1]}, ${decimal[2]})`;
  if (type.startsWith('fixed[')) return 'BLOB';
  switch (type) {
    case 'boolean':
      return 'BOOLEAN';
    case 'int':
      return 'INTEGER';
    case 'long':
      return 'BIGINT';
    case 'float':
      return 'FLOAT';
    case 'double':
      return 'DOUBLE';
    case 'date':
      return 'DATE';
    case 'time':
      return 'TIME';
    case 'timestamp':
      return 'TIMESTAMP';
    case 'timestamptz':
      return 'TIMESTAMPTZ';
    case 'timestamp_ns':
      return 'TIMESTAMP_NS';
    case 'timestamptz_ns':
      return 'TIMESTAMPTZ';
    case 'string':
      return 'VARCHAR';
    case 'uuid':
      return 'UUID';
    case 'binary':
      return 'BLOB';
  }
  throw new ValidationError('INVALID_TYPE', `unknown Iceberg type "${type}"`);
}

/**
 * The Iceberg type for a DuckDB column type, for CREATE TABLE and CTAS. Narrow integers widen to int;
 * unsigned and huge integers go to the smallest type that holds every value; types Iceberg v2 has
 * no equivalent for (INTERVAL, UNION, BIT, ...) are refused with the column named.
 */
export function icebergTypeOf(type: DuckDBType, column: string, nextId: () => number): IcebergType {
  switch (type.typeId) {
    case DuckDBTypeId.BOOLEAN:
      return 'boolean';
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
      return 'int';
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.UINTEGER:
      return 'long';
    case DuckDBTypeId.UBIGINT:
      return 'decimal(20, 0)';
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UHUGEINT:
      return 'decimal(38, 0)';
    case DuckDBTypeId.FLOAT:
      return 'float';
    case DuckDBTypeId.DOUBLE:
      return 'double';
    case DuckDBTypeId.DECIMAL: {
      const decimal = type as DuckDBDecimalType;
      return `decimal(${decimal.width}, ${decimal.scale})`;
    }
    case DuckDBTypeId.DATE:
      return 'date';
    case DuckDBTypeId.TIME:
      return 'time';
    case DuckDBTypeId.TIMESTAMP:
    case DuckDBTypeId.TIMESTAMP_S:
    case DuckDBTypeId.TIMESTAMP_MS:
      return 'timestamp';
    // Iceberg v2 has no nanosecond timestamps (v3 adds them): store microseconds.
    case DuckDBTypeId.TIMESTAMP_NS:
      return 'timestamp';
    case DuckDBTypeId.TIMESTAMP_TZ:
      return 'timestamptz';
    case DuckDBTypeId.VARCHAR:
    case DuckDBTypeId.ENUM:
      return 'string';
    case DuckDBTypeId.BLOB:
      return 'binary';
    case DuckDBTypeId.UUID:
      return 'uuid';
    case DuckDBTypeId.STRUCT: {
      const struct = type as DuckDBStructType;
      const fields: StructField[] = struct.entryNames.map((name, index) => {
        const id = nextId();
        return { id, name, required: false, type: icebergTypeOf(struct.entryTypes[index]!, `${column}.${name}`, nextId) };
      });
      return { type: 'struct', fields };
    }
    case DuckDBTypeId.LIST:
    case DuckDBTypeId.ARRAY: {
      const list = type as DuckDBListType | DuckDBArrayType;
      const elementId = nextId();
      return { type: 'list', elementId, elementRequired: false, element: icebergTypeOf(list.valueType, `${column}.element`, nextId) };
    }
    case DuckDBTypeId.MAP: {
      const map = type as DuckDBMapType;
      const keyId = nextId();
      const valueId = nextId();
      return {
        type: 'map',
        keyId,
        key: icebergTypeOf(map.keyType, `${column}.key`, nextId),
        valueId,
        valueRequired: false,
        value: icebergTypeOf(map.valueType, `${column}.value`, nextId),
      };
    }
    default:
      throw new ValidationError('INVALID_TYPE', `column "${column}" has type ${type.toString()}, which Iceberg v2 tables cannot store; cast it (e.g. to VARCHAR or BIGINT)`);
  }
}

/** DuckDB's `FIELD_IDS` copy option value for a list of fields (nested ids included). */
export function fieldIdsOption(fields: StructField[]): string {
  return `{${fields.map((f) => `${quoteKey(f.name)}: ${nestedFieldIds(f.id, f.type)}`).join(', ')}}`;
}

function nestedFieldIds(id: number, type: IcebergType): string {
  if (typeof type === 'string') return String(id);
  switch (type.type) {
    case 'struct':
      return `{__duckdb_field_id: ${id}, ${type.fields.map((f) => `${quoteKey(f.name)}: ${nestedFieldIds(f.id, f.type)}`).join(', ')}}`;
    case 'list':
      return `{__duckdb_field_id: ${id}, element: ${nestedFieldIds(type.elementId, type.element)}}`;
    case 'map':
      return `{__duckdb_field_id: ${id}, key: ${nestedFieldIds(type.keyId, type.key)}, value: ${nestedFieldIds(type.valueId, type.value)}}`;
  }
}

function quoteKey(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
