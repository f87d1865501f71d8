import { ExternalError } from '../core/errors.js';
import { type DuckDb, quoteFilePath } from './duckdb.js';

/**
 * A column of a Parquet file's schema as DuckDB reads it: the LIST and MAP wrapper groups are folded
 * away, so a list has one child (its element) and a map two (key, value), whatever the writer named them.
 */
export interface FooterColumn {
  name: string;
  fieldId?: number;
  kind: 'primitive' | 'struct' | 'list' | 'map';
  /** DuckDB's type for a primitive column. */
  type?: string;
  /** The Parquet physical type of a primitive column (`INT32`, `BYTE_ARRAY`, `FIXED_LEN_BYTE_ARRAY`, ...), and a fixed one's length. */
  physicalType?: string;
  typeLength?: number;
  /** A DECIMAL column's precision and scale, as the file declares them. */
  decimal?: { precision: number; scale: number };
  children: FooterColumn[];
}

export interface ParquetFooter {
  columns: FooterColumn[];
  /** The columns' names, nesting and types as one string: files of equal shape can be read by one read_parquet. */
  shape: string;
  /** Every field id the file stores, nested ones included. */
  fieldIds: Set<number>;
}

interface SchemaRow {
  file_name: string;
  name: string;
  field_id: number | bigint | null;
  type: string | null;
  type_length: number | bigint | string | null;
  num_children: number | bigint | null;
  converted_type: string | null;
  logical_type: string | null;
  scale: number | bigint | null;
  precision: number | bigint | null;
  repetition_type: string | null;
  duckdb_type: string | null;
}

/** Reads the footers of `paths` not in `cache` with one parquet_schema call; data files never change, so entries stay valid. */
export async function readParquetFooters(db: DuckDb, paths: string[], cache: Map<string, ParquetFooter>): Promise<Map<string, ParquetFooter>> {
  const missing = [...new Set(paths.filter((p) => !cache.has(p)))];
  if (missing.length > 0) {
    const rows = await db.rows<SchemaRow>(
      `SELECT file_name, name, field_id, type, type_length, num_children, converted_type, logical_type, scale, precision, repetition_type, duckdb_type
       FROM parquet_schema([${missing.map(quoteFilePath).join(', ')}]) ORDER BY file_name, column_id`,
    );
    const byFile = new Map<string, SchemaRow[]>();
    for (const row of rows) {
      const list = byFile.get(row.file_name) ?? [];
      list.push(row);
      byFile.set(row.file_name, list);
    }
    for (const path of missing) {
      const schema = byFile.get(path);
      // parquet_schema names each file as it was given; a file without even a root element was not matched.
      if (!schema) throw new ExternalError('STORAGE_ERROR', `cannot read the Parquet schema of ${path}: DuckDB reported none for it (files: ${[...byFile.keys()].join(', ')})`);
      cache.set(path, footerOf(schema));
    }
  }
  return new Map(paths.map((p) => [p, cache.get(p)!]));
}

/** Builds the column tree from the depth-first element list (the first element is the root). */
function footerOf(rows: SchemaRow[]): ParquetFooter {
  const fieldIds = new Set<number>();
  for (const row of rows) if (row.field_id !== null) fieldIds.add(Number(row.field_id));
  let next = 1;
  const element = (wrapped = false): FooterColumn => {
    const row = rows[next++]!;
    const annotation = `${row.converted_type ?? ''} ${row.logical_type ?? ''}`;
    const isList = /\bLIST\b|ListType/.test(annotation);
    const isMap = /\bMAP\b|MAP_KEY_VALUE|MapType/.test(annotation);
    const children = Array.from({ length: Number(row.num_children ?? 0) }, () => element(isList || isMap));
    const base = { name: row.name, ...(row.field_id !== null ? { fieldId: Number(row.field_id) } : {}) };
    // parquet-format LogicalTypes.md: LIST = group { repeated group list { element } } (a repeated group of
    // several fields, or a repeated primitive, is itself the element); MAP = group { repeated group key_value { key; value } }.
    if (isList && children.length === 1) {
      const repeated = children[0]!;
      return { ...base, kind: 'list', children: [repeated.kind === 'struct' && repeated.children.length === 1 ? repeated.children[0]! : repeated] };
    }
    if (isMap && children.length === 1 && children[0]!.children.length === 2) return { ...base, kind: 'map', children: children[0]!.children };
    const column: FooterColumn = children.length > 0 ? { ...base, kind: 'struct', children } : { ...base, kind: 'primitive', ...primitiveTypes(row), children };
    // An unannotated repeated field is a list of itself (LogicalTypes.md, backward-compatibility rules).
    return row.repetition_type === 'REPEATED' && !wrapped ? { name: row.name, kind: 'list', children: [column] } : column;
  };
  const columns: FooterColumn[] = [];
  const top = Number(rows[0]?.num_children ?? 0);
  for (let i = 0; i < top && next < rows.length; i++) columns.push(element());
  return { columns, shape: JSON.stringify(columns), fieldIds };
}

function primitiveTypes(row: SchemaRow): Pick<FooterColumn, 'type' | 'physicalType' | 'typeLength' | 'decimal'> {
  const decimal = row.converted_type === 'DECIMAL' || /^DecimalType\(/.test(row.logical_type ?? '');
  return {
    ...(row.duckdb_type ? { type: row.duckdb_type } : {}),
    ...(row.type ? { physicalType: row.type } : {}),
    ...(row.type_length !== null && row.type_length !== undefined ? { typeLength: Number(row.type_length) } : {}),
    ...(decimal && row.precision !== null ? { decimal: { precision: Number(row.precision), scale: Number(row.scale ?? 0) } } : {}),
  };
}

/** Whether the file stores field ids at all (as Iceberg's readers decide: any id means the file is read by id). */
export function hasFieldIds(footer: ParquetFooter): boolean {
  return footer.fieldIds.size > 0;
}
