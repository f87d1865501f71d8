import { type DuckDBArrayType, type DuckDBDecimalType, type DuckDBListType, type DuckDBMapType, type DuckDBStructType, type DuckDBType, DuckDBTypeId, VARCHAR } from '@duckdb/node-api';
import type { LoadedTable } from '../catalog/catalog.js';
import { formatIdent, type TableIdent } from '../catalog/identifiers.js';
import { ValidationError } from '../core/errors.js';
import { type DuckDb, quoteIdent, quoteString } from '../engine/duckdb.js';
import { describeQuery } from '../engine/table-writer.js';
import { duckDbTypeOf, icebergTypeOf } from '../engine/type-mapping.js';
import { currentSchema, defaultSpec, newTableMetadata } from '../iceberg/metadata.js';
import { applySchemaChange, type SchemaChange } from '../iceberg/schema-update.js';
import { decimalParams, isPrimitive, primitiveKind, promotionAllowed } from '../iceberg/type-parse.js';
import { transformParts } from '../iceberg/transforms.js';
import type { IcebergType, PrimitiveType, Schema, StructField, TableMetadata, Transform } from '../iceberg/types.js';
import { LINEAGE_COLUMNS } from './column-names.js';
import { givenType, type ResolvedIngestOptions } from './ingest-options.js';
import { FLAG_SPELLING, type OptionSpelling } from './option-spelling.js';
import { InputFileError } from './input-file-error.js';
import { parsePartitionBy } from '../engine/partition-by.js';
import { LINE_COLUMN, ORDINAL_COLUMN, SOURCE_COLUMN, type StagedColumn, type StagedFile } from './staged-file.js';
import { infiniteTemporalReasonSql, infiniteTemporalSql } from './temporal-infinity.js';
import { anyLeafSql, type Step } from './json-nested.js';

/** How staged rows become rows of the target table. */
export interface ConformPlan {
  /** Metadata of a table the ingest creates (absent when the table exists). */
  create?: TableMetadata;
  /** Schema evolution applied in the same commit as the rows. */
  changes: SchemaChange[];
  /** What changed, for people: `added column region (string)`, `widened qty int -> long`. */
  notes: string[];
  /** Columns of the file that the table does not get (drift policy ignore). */
  dropped: string[];
  /** SELECT producing exactly the (evolved) table's columns, cast, from the good rows. */
  rowsSql: string;
  /**
   * SELECT line, reason, raw of the staged rows that cannot take the table's types; absent when none
   * can fail. A CSV file's rows (StagedFile.hasOrdinal) have a fourth column, `ord`, and no line yet.
   */
  badRowsSql?: string;
  /** Merge: SELECT n, the good rows that a later row with the same key replaces (the last row of a key wins). */
  duplicateKeysSql?: string;
}

export interface ConformInput {
  duck: DuckDb;
  staged: StagedFile;
  ident: TableIdent;
  target?: LoadedTable;
  /** Where a created table lives. */
  location: string;
  options: ResolvedIngestOptions;
  /** Lineage values of this file. */
  sourceFile: string;
  ingestedAt: Date;
  file: string;
}

interface ColumnPlan {
  field: StructField;
  /** SQL of the value from the staged row `s`. */
  expr: string;
  /** Condition under which the row cannot be converted, with the reason as SQL text. */
  bad?: { when: string; reason: string };
}

const LINEAGE_TYPES: Record<(typeof LINEAGE_COLUMNS)[number], IcebergType> = { _source_file: 'string', _ingested_at: 'timestamptz' };
const INTEGER_TYPES = new Set<DuckDBTypeId>([
  DuckDBTypeId.TINYINT,
  DuckDBTypeId.SMALLINT,
  DuckDBTypeId.INTEGER,
  DuckDBTypeId.BIGINT,
  DuckDBTypeId.HUGEINT,
  DuckDBTypeId.UTINYINT,
  DuckDBTypeId.USMALLINT,
  DuckDBTypeId.UINTEGER,
  DuckDBTypeId.UBIGINT,
]);
const NUMERIC_TYPES = new Set<DuckDBTypeId>([...INTEGER_TYPES, DuckDBTypeId.FLOAT, DuckDBTypeId.DOUBLE, DuckDBTypeId.DECIMAL, DuckDBTypeId.UBIGINT, DuckDBTypeId.UINTEGER]);
const TIMESTAMP_TYPES = new Set<DuckDBTypeId>([DuckDBTypeId.TIMESTAMP, DuckDBTypeId.TIMESTAMP_TZ, DuckDBTypeId.TIMESTAMP_S, DuckDBTypeId.TIMESTAMP_MS, DuckDBTypeId.TIMESTAMP_NS]);

/**
 * Decides, for one staged file and the target as it is now, the schema changes (by the drift
 * policy), the casts, and which rows are bad: a value that does not convert to its column's type
 * (or only with loss, e.g. 1.5 into a bigint) makes the row bad; a wider type (int -> long,
 * float -> double, wider decimal) widens the column when some value needs it and the policy is evolve.
 */
export async function planConform(input: ConformInput): Promise<ConformPlan> {
  const { duck, staged, options, target } = input;
  const table = formatIdent(input.ident);
  const source = (c: StagedColumn) => `s.${quoteIdent(c.name)}`;
  checkTypedColumns(options, staged, target, table, input.file);
  // The type each column is read as: its --type, else the staged one.
  const duckTypes = new Map<StagedColumn, DuckDBType>();
  for (const c of staged.columns) {
    const wanted = givenType(options.types, c.name, c.source) ?? givenType(options.sourceTypes, c.name, c.source);
    duckTypes.set(c, wanted ? await describeType(duck, wanted, `${table}.${c.name}`) : c.type);
  }
  const lineage = options.lineage ? LINEAGE_COLUMNS.map((name) => ({ name, type: LINEAGE_TYPES[name], value: lineageValue(name, input) })) : [];
  const notes: string[] = [];
  const dropped: string[] = [];

  if (!target) {
    refuseUnstorable(staged.columns, duckTypes, table, input.file, options.spelling);
    let nextId = 0;
    const plans: { name: string; type: IcebergType; expr: string; bad?: ColumnPlan['bad'] }[] = [];
    for (const column of staged.columns) {
      const duckType = duckTypes.get(column)!;
      const type = icebergTypeOf(duckType, `${table}.${column.name}`, () => ++nextId);
      plans.push({ name: column.name, type, ...conversion(source(column), column, type, staged.infiniteTemporal) });
    }
    for (const l of lineage) plans.push({ name: l.name, type: l.type, expr: l.value });
    // Field ids: top-level columns 1..n, nested ids after them (as CREATE TABLE numbers them).
    let id = plans.length;
    const renumber = (type: IcebergType): IcebergType => {
      if (typeof type === 'string') return type;
      if (type.type === 'struct') return { type: 'struct', fields: type.fields.map((f) => ({ ...f, id: ++id, type: renumber(f.type) })) };
      if (type.type === 'list') return { ...type, elementId: ++id, element: renumber(type.element) };
      return { ...type, keyId: ++id, valueId: ++id, key: renumber(type.key), value: renumber(type.value) };
    };
    const fields: StructField[] = plans.map((p, i) => ({ id: i + 1, name: p.name, required: false, type: p.type }));
    fields.forEach((f) => (f.type = renumber(f.type)));
    const schema: Schema = { type: 'struct', schemaId: 0, fields };
    const create = newTableMetadata({ location: input.location, schema, spec: { fields: parsePartitionBy(options.partitionBy, schema, table) } });
    checkKeys(options, schema, table);
    const columnPlans: ColumnPlan[] = fields.map((field, i) => ({ field, expr: plans[i]!.expr, ...(plans[i]!.bad ? { bad: plans[i]!.bad } : {}) }));
    return { create, changes: [], notes: [`created ${table} with ${staged.columns.length} columns`], dropped, ...selects(columnPlans, staged, options) };
  }

  if (options.partitionBy.length > 0) checkPartitioning(options.partitionBy, target.metadata, table, options.spelling);
  const schema = currentSchema(target.metadata);
  const changes: SchemaChange[] = [];
  const byName = new Map<string, ColumnPlan>();
  const fieldOf = (name: string) => schema.fields.find((f) => f.name.toLowerCase() === name.toLowerCase());
  const newColumns = staged.columns.filter((c) => !fieldOf(c.name));
  if (newColumns.length > 0 && options.schemaDrift === 'strict') {
    throw new InputFileError(
      'INGEST_SCHEMA_DRIFT',
      input.file,
      { column: newColumns[0]!.source },
      `brings ${newColumns.length === 1 ? 'a column' : 'columns'} ${newColumns.map((c) => `"${c.source}"`).join(', ')} that ${table} does not have (schema drift policy strict; ${driftAdvice(options)})`,
    );
  }
  refuseUnstorable(options.schemaDrift === 'ignore' ? staged.columns.filter((c) => fieldOf(c.name)) : staged.columns, duckTypes, table, input.file, options.spelling);
  let counter = 0;
  for (const column of staged.columns) {
    const field = fieldOf(column.name);
    const duckType = duckTypes.get(column)!;
    if (!field) {
      if (options.schemaDrift === 'ignore') {
        dropped.push(column.name);
        continue;
      }
      const type = icebergTypeOf(duckType, `${table}.${column.name}`, () => ++counter);
      changes.push({ kind: 'addColumn', name: column.name, type });
      notes.push(`added column ${column.name} (${typeText(type)})`);
      byName.set(column.name, { field: { id: 0, name: column.name, required: false, type }, ...conversion(source(column), column, type, staged.infiniteTemporal) });
      continue;
    }
    const fileType = icebergTypeOf(duckType, `${table}.${column.name}`, () => ++counter);
    refuseTypeOption(options, column, field, fileType, table);
    // Fields the file's structs have and the table's do not: a cast to the table's type would drop them without a word.
    const nested = nestedFieldsAdded(field.type, fileType, field.name);
    let tableType = field.type;
    if (nested.added.length > 0) {
      const listed = nested.added.map((a) => `${a.path} (${typeText(a.type)})`).join(', ');
      if (options.schemaDrift === 'strict') {
        throw new InputFileError(
          'INGEST_SCHEMA_DRIFT',
          input.file,
          { column: column.source },
          `brings ${nested.added.length === 1 ? 'a field' : 'fields'} ${listed} inside ${table}.${field.name} that the table does not have (schema drift policy strict; ${driftAdvice(options)})`,
        );
      }
      if (options.schemaDrift === 'evolve') {
        notes.push(`added field${nested.added.length === 1 ? '' : 's'} ${listed}`);
        tableType = nested.type;
      } else dropped.push(...nested.added.map((a) => a.path));
    }
    // Fields inside the column whose values need a wider type, as a column's do (below); under ignore, such values are bad rows.
    const widened = options.schemaDrift === 'ignore' ? [] : await nestedFieldsWidened(duck, staged.relation, source(column), column.type, tableType, field.name);
    if (widened.length > 0) {
      if (options.schemaDrift === 'strict') {
        const { n, path, from, to } = widened[0]!;
        throw new InputFileError('INGEST_SCHEMA_DRIFT', input.file, { column: column.source }, `${n} values need ${to}, wider than ${table}.${path} (${from}) (schema drift policy strict; use ${options.spelling.schemaDrift('evolve')} to widen it)`);
      }
      for (const w of widened) {
        tableType = withLeafType(tableType, w.steps, w.to);
        notes.push(`widened ${w.path} ${w.from} -> ${w.to}`);
      }
    }
    if (tableType !== field.type) changes.push({ kind: 'alterNestedType', name: field.name, type: tableType });
    let plan: ColumnPlan = { field, ...conversion(source(column), column, tableType, staged.infiniteTemporal) };
    const wider = isPrimitive(field.type) && isPrimitive(fileType) && fileType !== field.type ? widerType(field.type, fileType) : undefined;
    if (wider) {
      const value = source(column);
      const [row] = await duck.rows<{ n: bigint }>(`SELECT count(*) AS n FROM ${quoteIdent(staged.relation)} s WHERE ${needsWiderSql(value, column.type, field.type as PrimitiveType, wider, fileType as PrimitiveType)}`);
      if (Number(row!.n) > 0) {
        if (options.schemaDrift === 'strict') {
          throw new InputFileError('INGEST_SCHEMA_DRIFT', input.file, { column: column.source }, `${row!.n} values need ${wider}, wider than ${table}.${field.name} (${field.type}) (schema drift policy strict; use ${options.spelling.schemaDrift('evolve')} to widen it)`);
        }
        if (options.schemaDrift === 'evolve') {
          changes.push({ kind: 'alterType', name: field.name, type: wider });
          notes.push(`widened ${field.name} ${field.type} -> ${wider}`);
          // A value of the wider type as it is; into the widest decimal, one with more fraction digits than its scale is still a bad row.
          plan = wider === fileType ? { field: { ...field, type: wider }, expr: `CAST(${value} AS ${duckDbTypeOf(wider)})` } : { field: { ...field, type: wider }, ...conversion(value, column, wider, staged.infiniteTemporal) };
        }
      }
    }
    if (field.required) {
      const value = source(column);
      const nullCheck = { when: `${value} IS NULL`, reason: quoteString(`column ${field.name}: NULL in a required (NOT NULL) column`) };
      plan = { ...plan, bad: plan.bad ? { when: `(${plan.bad.when}) OR (${nullCheck.when})`, reason: `coalesce(CASE WHEN ${plan.bad.when} THEN ${plan.bad.reason} END, ${nullCheck.reason})` } : nullCheck };
    }
    byName.set(field.name.toLowerCase(), plan);
  }
  refuseOwnLineageNames(lineage.map((l) => fieldOf(l.name)).filter((f): f is StructField => f !== undefined), table);
  const lineageLeftOut: string[] = [];
  for (const l of lineage) {
    const field = fieldOf(l.name);
    if (field) byName.set(field.name.toLowerCase(), { field, expr: l.value });
    else if (options.schemaDrift === 'evolve') {
      changes.push({ kind: 'addColumn', name: l.name, type: l.type });
      notes.push(`added lineage column ${l.name}`);
      byName.set(l.name, { field: { id: 0, name: l.name, required: false, type: l.type }, expr: l.value });
    } else lineageLeftOut.push(l.name);
  }
  if (lineageLeftOut.length > 0) {
    notes.push(`lineage columns ${lineageLeftOut.join(', ')} not added: ${table} has none, and schema drift policy ${options.schemaDrift} adds no columns (ingest once with --schema-drift evolve to add them, or with --no-lineage)`);
  }
  const evolved = changes.reduce((metadata, change) => applySchemaChange(metadata, table, change), target.metadata);
  const evolvedSchema = currentSchema(evolved);
  const missingRequired = evolvedSchema.fields.filter((f) => f.required && !byName.has(f.name.toLowerCase()));
  if (missingRequired.length > 0) {
    throw new InputFileError('INGEST_FILE_INVALID', input.file, {}, `has no column ${missingRequired.map((f) => `"${f.name}"`).join(', ')}, which ${table} requires (NOT NULL)`);
  }
  checkKeys(options, schema, table, evolvedSchema);
  const columnPlans: ColumnPlan[] = evolvedSchema.fields.map((field) => {
    const plan = byName.get(field.name.toLowerCase());
    return plan ? { ...plan, field } : { field, expr: 'NULL' };
  });
  return { changes, notes, dropped, ...selects(columnPlans, staged, options) };
}

/**
 * The struct fields (at any depth, through lists and map values) that `fileType` has and
 * `tableType` lacks, matched by name ignoring case, with `tableType` extended by them (new fields
 * get id 0, numbered when the change is applied). Types that differ in shape add nothing here: the
 * cast decides about those.
 */
export function nestedFieldsAdded(tableType: IcebergType, fileType: IcebergType, path: string): { type: IcebergType; added: { path: string; type: IcebergType }[] } {
  const added: { path: string; type: IcebergType }[] = [];
  const extend = (table: IcebergType, file: IcebergType, at: string): IcebergType => {
    if (typeof table === 'string' || typeof file === 'string' || table.type !== file.type) return table;
    if (table.type === 'list' && file.type === 'list') return { ...table, element: extend(table.element, file.element, `${at}.element`) };
    if (table.type === 'map' && file.type === 'map') return { ...table, value: extend(table.value, file.value, `${at}.value`) };
    if (table.type !== 'struct' || file.type !== 'struct') return table;
    const fields = table.fields.map((f) => {
      const match = file.fields.find((g) => g.name.toLowerCase() === f.name.toLowerCase());
      return match ? { ...f, type: extend(f.type, match.type, `${at}.${f.name}`) } : f;
    });
    for (const g of file.fields) {
      if (table.fields.some((f) => f.name.toLowerCase() === g.name.toLowerCase())) continue;
      added.push({ path: `${at}.${g.name}`, type: g.type });
      fields.push({ ...g, id: 0, required: false });
    }
    return { type: 'struct', fields };
  };
  const type = extend(tableType, fileType, path);
  return { type, added };
}

/**
 * SQL: whether `value` (staged as `source`, of Iceberg type `fileType`) needs `wider` rather than the
 * table's `tableType`: the file's type holds it exactly and the table's does not; or, into the
 * widest decimal of the table's scale (wider is not the file's type), the table's type cannot hold
 * it and that decimal can without rounding (a value it would round is a bad row, which widens nothing).
 */
function needsWiderSql(value: string, source: DuckDBType, tableType: PrimitiveType, wider: PrimitiveType, fileType: PrimitiveType): string {
  const tableSql = duckDbTypeOf(tableType);
  const widerSql = duckDbTypeOf(wider);
  const rounded = wider === fileType ? undefined : lossyCastSql(value, source, widerSql);
  const needs = `${wider === fileType ? `CAST(TRY_CAST(${value} AS ${tableSql}) AS ${widerSql}) <> ${value}` : 'false'}${rounded ? ` AND NOT coalesce(${rounded}, false)` : ''}`;
  return `${value} IS NOT NULL AND TRY_CAST(${value} AS ${widerSql}) IS NOT NULL AND (TRY_CAST(${value} AS ${tableSql}) IS NULL OR ${needs})`;
}

/** A primitive inside a nested column that some value of the file needs wider: where it is (`s.n`, `l.element.n`), the steps to it in the table's type, and how many rows need it. */
interface NestedWidening {
  path: string;
  steps: readonly TypeStep[];
  from: PrimitiveType;
  to: PrimitiveType;
  n: bigint;
}

/** One step into an Iceberg type: a struct field by name, a list's element, a map's value. */
type TypeStep = { field: string } | 'element' | 'value';

/**
 * The struct fields, list elements and map values inside a column whose values in the staged file
 * need a wider type than the table's (widerType: int -> long, float -> double, a wider decimal), as
 * a top-level column's do, each with the count of rows that need it; one pass over the file, and
 * none when no field's type in the file is wider. Map keys are left as they are. A column staged as
 * text (a custom parser's or a source's objects, as JSON) is read in the table's shape with text
 * leaves, and its int and float fields looked at for numbers only long or double holds.
 */
async function nestedFieldsWidened(duck: DuckDb, relation: string, value: string, source: DuckDBType, tableType: IcebergType, column: string): Promise<NestedWidening[]> {
  const found: { path: string; steps: TypeStep[]; sqlSteps: Step[]; needs: (v: string) => string; from: PrimitiveType; to: PrimitiveType }[] = [];
  const walk = (table: IcebergType, file: DuckDBType | 'text', path: string, steps: TypeStep[], sqlSteps: Step[]) => {
    const at = { path, steps, sqlSteps };
    if (typeof table === 'string') {
      if (steps.length === 0) return;
      if (file === 'text') {
        const to = primitiveKind(table) === 'int' ? 'long' : primitiveKind(table) === 'float' ? 'double' : undefined;
        if (to) found.push({ ...at, from: table, to, needs: (v) => textNeedsWiderSql(v, table, to) });
        return;
      }
      if (NESTED_TYPES.has(file.typeId)) return;
      let fileType: IcebergType;
      try {
        fileType = icebergTypeOf(file, path, () => 0);
      } catch {
        return;
      }
      const to = isPrimitive(fileType) && fileType !== table ? widerType(table, fileType) : undefined;
      if (to) found.push({ ...at, from: table, to, needs: (v) => needsWiderSql(v, file, table, to, fileType as PrimitiveType) });
      return;
    }
    if (table.type === 'struct' && (file === 'text' || file.typeId === DuckDBTypeId.STRUCT)) {
      const names = file === 'text' ? table.fields.map((f) => f.name) : (file as DuckDBStructType).entryNames;
      for (const f of table.fields) {
        const i = names.findIndex((n) => n.toLowerCase() === f.name.toLowerCase());
        if (i >= 0) walk(f.type, file === 'text' ? 'text' : (file as DuckDBStructType).entryTypes[i]!, `${path}.${f.name}`, [...steps, { field: f.name }], [...sqlSteps, { field: names[i]! }]);
      }
    } else if (table.type === 'list' && (file === 'text' || file.typeId === DuckDBTypeId.LIST || file.typeId === DuckDBTypeId.ARRAY)) {
      walk(table.element, file === 'text' ? 'text' : (file as DuckDBListType | DuckDBArrayType).valueType, `${path}.element`, [...steps, 'element'], [...sqlSteps, { each: 'list' }]);
    } else if (table.type === 'map' && (file === 'text' || file.typeId === DuckDBTypeId.MAP)) {
      walk(table.value, file === 'text' ? 'text' : (file as DuckDBMapType).valueType, `${path}.value`, [...steps, 'value'], [...sqlSteps, { each: 'map' }]);
    }
  };
  const text = source.typeId === DuckDBTypeId.VARCHAR;
  walk(tableType, text ? 'text' : source, column, [], []);
  if (found.length === 0) return [];
  const shaped = text ? `TRY_CAST(${value} AS ${duckDbTypeOf(textLeaves(tableType))})` : value;
  const counts = found.map((f, i) => `count(*) FILTER (WHERE ${anyLeafSql(shaped, f.sqlSteps, f.needs)}) AS n${i}`);
  const [row] = await duck.rows<Record<string, bigint>>(`SELECT ${counts.join(', ')} FROM ${quoteIdent(relation)} s`);
  return found.flatMap((f, i) => (row![`n${i}`]! > 0n ? [{ path: f.path, steps: f.steps, from: f.from, to: f.to, n: row![`n${i}`]! }] : []));
}

/** SQL: whether the text `value` is a number that `wider` holds as written and `tableType` does not (5000000000 for an int, 1.123456789012 for a float; 2.5 for neither). */
function textNeedsWiderSql(value: string, tableType: PrimitiveType, wider: PrimitiveType): string {
  const changes = (sqlType: string) => `coalesce(${lossyCastSql(value, VARCHAR, sqlType) ?? 'false'}, false)`;
  const [tableSql, widerSql] = [duckDbTypeOf(tableType), duckDbTypeOf(wider)];
  return `TRY_CAST(${value} AS ${widerSql}) IS NOT NULL AND NOT ${changes(widerSql)} AND (TRY_CAST(${value} AS ${tableSql}) IS NULL OR ${changes(tableSql)})`;
}

/** The type with the primitive at `steps` replaced by `to`; every field keeps its id. */
function withLeafType(type: IcebergType, steps: readonly TypeStep[], to: PrimitiveType): IcebergType {
  const [step, ...rest] = steps;
  if (step === undefined || typeof type === 'string') return step === undefined ? to : type;
  if (step === 'element' && type.type === 'list') return { ...type, element: withLeafType(type.element, rest, to) };
  if (step === 'value' && type.type === 'map') return { ...type, value: withLeafType(type.value, rest, to) };
  if (typeof step === 'object' && type.type === 'struct') return { ...type, fields: type.fields.map((f) => (f.name === step.field ? { ...f, type: withLeafType(f.type, rest, to) } : f)) };
  return type;
}

/**
 * The type a column of `tableType` widens to for values of `fileType`: the file's type where Iceberg
 * promotes to it (int -> long, float -> double, a decimal of more digits and the same scale), else,
 * for a decimal column and integers or decimals of another scale whose type has more whole digits
 * than the column (a Parquet DECIMAL(12,1) into decimal(10, 2)), the widest decimal of the column's
 * scale, as a CSV file's numbers are read (csv-reader.ts readType). Not for doubles (JSON numbers
 * with a fraction): any of them may need it, so every file would cost a pass over its values.
 */
function widerType(tableType: PrimitiveType, fileType: PrimitiveType): PrimitiveType | undefined {
  if (promotionAllowed(tableType, fileType)) return fileType;
  if (primitiveKind(tableType) !== 'decimal') return undefined;
  const { precision, scale } = decimalParams(tableType);
  const kind = primitiveKind(fileType);
  const wholeDigits = kind === 'int' ? 10 : kind === 'long' ? 19 : kind === 'decimal' ? decimalParams(fileType).precision - decimalParams(fileType).scale : 0;
  return precision < 38 && wholeDigits > precision - scale ? `decimal(38, ${scale})` : undefined;
}

/**
 * Refuses, all at once, the columns whose type Iceberg v2 cannot store (a nested INTERVAL, BIT,
 * UNION, ...: icebergTypeOf says which), naming the --type options that load each as text.
 */
function refuseUnstorable(columns: readonly StagedColumn[], duckTypes: ReadonlyMap<StagedColumn, DuckDBType>, table: string, file: string, spelling: OptionSpelling): void {
  const refused = columns.filter((c) => {
    try {
      icebergTypeOf(duckTypes.get(c)!, `${table}.${c.name}`, () => 0);
      return false;
    } catch (error) {
      if (error instanceof ValidationError && error.code === 'INVALID_TYPE') return true;
      throw error;
    }
  });
  if (refused.length === 0) return;
  const listed = refused.map((c) => `${c.name} (${duckTypes.get(c)!.toString()})`).join(', ');
  throw new InputFileError(
    'INVALID_TYPE',
    file,
    { column: refused[0]!.source },
    `${refused.length === 1 ? 'column' : 'columns'} ${listed} of ${table} ${refused.length === 1 ? 'has a type' : 'have types'} Iceberg v2 tables cannot store; load ${refused.length === 1 ? 'it' : 'them'} as text: ${refused.map((c) => spelling.type(c.name, 'VARCHAR')).join(spelling.separator)}`,
  );
}

/** A cast that cannot fail silently: TRY_CAST, and a bad-row condition where the value does not convert (or changes: loses its fraction, digits or offset). */
function conversion(value: string, column: StagedColumn, type: IcebergType, checkInfinite = false): Pick<ColumnPlan, 'expr' | 'bad'> {
  const sqlType = duckDbTypeOf(type);
  const sourceSql = column.type.toString();
  if (sourceSql === sqlType) {
    // Only once a write found one (StagedFile.infiniteTemporal): `infinity` read as a date or timestamp needs no cast to be one.
    const infinite = checkInfinite ? infiniteTemporalSql(value, sqlType) : undefined;
    return infinite ? { expr: value, bad: { when: infinite, reason: infiniteTemporalReasonSql(column.name, value, sqlType) } } : { expr: value };
  }
  // Casting 2.5 (or '2.5') to an integer rounds, a timestamp to a date drops its time: such a value is a bad row, not a silent change.
  // Into a struct, list or map, from one or from text (JSON): a value inside that does not convert becomes NULL without failing the cast.
  const nested = NESTED_TYPES.has(column.type.typeId) || typeof type !== 'string';
  const changed = nested
    ? [nestedLossSql(value, type), nestedLeafLossSql(value, column.type, type), NESTED_TYPES.has(column.type.typeId) ? shapeLossSql(value, column.type, type, 0) : undefined].filter((c) => c !== undefined).join(' OR ')
    : lossyCastSql(value, column.type, sqlType);
  // Text such as 'infinity' casts to DuckDB's infinite date or timestamp, which Iceberg cannot hold (temporal-infinity.ts).
  const infinite = infiniteTemporalSql(`TRY_CAST(${value} AS ${sqlType})`, sqlType);
  // Text a number cast reads in a notation of its own ('0x10' as 16, '1_000' as 1000, '007' as 7), as the CSV guards refuse it for integers.
  const notation = !nested && column.type.typeId === DuckDBTypeId.VARCHAR ? numberNotationSql(value, sqlType) : undefined;
  const lossy = `${changed ? ` OR ${changed}` : ''}${infinite ? ` OR ${infinite}` : ''}${notation ? ` OR ${notation}` : ''}`;
  // As the CSV guards name a decimal type: DECIMAL(12,2).
  const shown = DECIMAL_SQL.test(sqlType) ? sqlType.replace(/\s+/g, '') : sqlType;
  const cannotConvert = `'column ${column.name}: cannot convert ' || left(CAST(${value} AS VARCHAR), 200) || ' to ${shown}'`;
  // Into a timestamp without a zone, a value that converts with a zone (an offset, or a zone's name) is refused for it: say so, not "cannot convert".
  const zoned = !nested && changed && /^TIMESTAMP(_NS)?$/.test(sqlType) ? `WHEN TRY_CAST(${value} AS TIMESTAMPTZ) IS NOT NULL THEN ${zoneLossReasonSql(column.name, value)} ` : '';
  const plainly = notation
    ? `WHEN ${notation} THEN ${quoteString(`column ${column.name}: `)} || left(${value}, 200) || ${quoteString(` is not written as a plain ${INTEGER_TYPES.has(typeIdOf(sqlType)) ? 'integer (a leading zero, 0x or _)' : 'number (_)'}, which ${shown} would not keep`)} `
    : '';
  const reasons = `${infinite ? `WHEN ${infinite} THEN ${infiniteTemporalReasonSql(column.name, value, sqlType)} ` : ''}${zoned}${plainly}`;
  return {
    expr: `TRY_CAST(${value} AS ${sqlType})`,
    bad: {
      when: `${value} IS NOT NULL AND (TRY_CAST(${value} AS ${sqlType}) IS NULL${lossy})`,
      reason: reasons ? `CASE ${reasons}ELSE ${cannotConvert} END` : cannotConvert,
    },
  };
}

const NESTED_TYPES = new Set<DuckDBTypeId>([DuckDBTypeId.STRUCT, DuckDBTypeId.LIST, DuckDBTypeId.ARRAY, DuckDBTypeId.MAP]);

/**
 * A struct, list or map whose cast turns some value inside it into NULL (`{"x": "abc"}` into
 * STRUCT(x BIGINT) gives `{"x": null}`): TRY_CAST fails only as a whole. So the NULLs in the JSON of
 * the cast value are counted against those of the value cast to the same shape with text leaves,
 * which every value converts to: fields the target adds or leaves out count the same in both, and a
 * value lost to its type makes one more NULL.
 */
function nestedLossSql(value: string, type: IcebergType): string {
  const nulls = (json: string) => `length(regexp_extract_all(CAST(to_json(${json}) AS VARCHAR), '[\\[:,]null'))`;
  return `${nulls(`TRY_CAST(${value} AS ${duckDbTypeOf(type)})`)} > ${nulls(`TRY_CAST(${value} AS ${duckDbTypeOf(textLeaves(type))})`)}`;
}

/**
 * A value inside a struct, list or map that its cast changes without making it NULL (`{"amt": 12.345}`
 * into STRUCT(amt DECIMAL(12,2)) gives 12.35): lossyCastSql on each leaf the source and the target
 * both have (struct fields matched by name ignoring case, as the cast matches them), through lists
 * and map keys and values. Text (a custom parser's object as JSON) is first cast to the target's
 * shape with text leaves, as nestedLossSql does, and each leaf checked as text. Undefined when no
 * leaf can change so.
 */
function nestedLeafLossSql(value: string, source: DuckDBType, type: IcebergType): string | undefined {
  if (source.typeId === DuckDBTypeId.VARCHAR && typeof type !== 'string') return leafLossSql(`TRY_CAST(${value} AS ${duckDbTypeOf(textLeaves(type))})`, 'text', type, 0);
  return leafLossSql(value, source, type, 0);
}

/** nestedLeafLossSql at one level; `text`: the value has the target's shape with text leaves. */
function leafLossSql(value: string, source: DuckDBType | 'text', type: IcebergType, depth: number): string | undefined {
  if (typeof type === 'string') {
    if (source !== 'text' && NESTED_TYPES.has(source.typeId)) return undefined;
    const loss = lossyCastSql(value, source === 'text' ? VARCHAR : source, duckDbTypeOf(type));
    return loss ? `coalesce(${loss}, false)` : undefined;
  }
  const each = (list: string, element: DuckDBType | 'text', target: IcebergType) => {
    const x = `e${depth}`;
    const inner = leafLossSql(x, element, target, depth + 1);
    return inner ? `coalesce(list_bool_or(list_transform(${list}, lambda ${x}: ${inner})), false)` : undefined;
  };
  if (type.type === 'struct' && (source === 'text' || source.typeId === DuckDBTypeId.STRUCT)) {
    return anyOf(
      type.fields.map((f) => {
        if (source === 'text') return leafLossSql(`struct_extract(${value}, ${quoteString(f.name)})`, 'text', f.type, depth);
        const struct = source as DuckDBStructType;
        const i = struct.entryNames.findIndex((n) => n.toLowerCase() === f.name.toLowerCase());
        return i < 0 ? undefined : leafLossSql(`struct_extract(${value}, ${quoteString(struct.entryNames[i]!)})`, struct.entryTypes[i]!, f.type, depth);
      }),
    );
  }
  if (type.type === 'list' && (source === 'text' || source.typeId === DuckDBTypeId.LIST || source.typeId === DuckDBTypeId.ARRAY)) {
    return each(value, source === 'text' ? 'text' : (source as DuckDBListType | DuckDBArrayType).valueType, type.element);
  }
  if (type.type === 'map' && (source === 'text' || source.typeId === DuckDBTypeId.MAP)) {
    const map = source === 'text' ? undefined : (source as DuckDBMapType);
    return anyOf([each(`map_keys(${value})`, map?.keyType ?? 'text', type.key), each(`map_values(${value})`, map?.valueType ?? 'text', type.value)]);
  }
  return undefined;
}

/**
 * A value inside a struct, list or map where the target has a struct, list or map of another shape
 * (`{"x": 5}` or `{"x": [1]}` into STRUCT(x STRUCT(y BIGINT)), `[5]` into a list of structs): the
 * cast makes it NULL, and so does the cast to the target's shape with text leaves, so nestedLossSql
 * counts no NULL more. Found by walking both types: where the shapes part, a value that is there
 * and does not cast is lost. An empty JSON object (read as an empty MAP) holds nothing to lose.
 * Undefined when the shapes agree down to the target's primitives (which nestedLossSql checks).
 */
function shapeLossSql(value: string, source: DuckDBType, type: IcebergType, depth: number): string | undefined {
  if (typeof type === 'string') return undefined;
  const each = (list: string, element: DuckDBType, target: IcebergType) => {
    const x = `e${depth}`;
    const inner = shapeLossSql(x, element, target, depth + 1);
    return inner ? `coalesce(list_bool_or(list_transform(${list}, lambda ${x}: ${inner})), false)` : undefined;
  };
  if (type.type === 'struct' && source.typeId === DuckDBTypeId.STRUCT) {
    const struct = source as DuckDBStructType;
    return anyOf(
      type.fields.map((f) => {
        const i = struct.entryNames.findIndex((n) => n.toLowerCase() === f.name.toLowerCase());
        return i < 0 ? undefined : shapeLossSql(`struct_extract(${value}, ${quoteString(struct.entryNames[i]!)})`, struct.entryTypes[i]!, f.type, depth);
      }),
    );
  }
  if (type.type === 'list' && (source.typeId === DuckDBTypeId.LIST || source.typeId === DuckDBTypeId.ARRAY)) return each(value, (source as DuckDBListType | DuckDBArrayType).valueType, type.element);
  if (type.type === 'map' && source.typeId === DuckDBTypeId.MAP) {
    const map = source as DuckDBMapType;
    return anyOf([each(`map_keys(${value})`, map.keyType, type.key), each(`map_values(${value})`, map.valueType, type.value)]);
  }
  const empty = source.typeId === DuckDBTypeId.MAP ? ` AND cardinality(${value}) > 0` : '';
  return `(${value} IS NOT NULL${empty} AND TRY_CAST(${value} AS ${duckDbTypeOf(type)}) IS NULL)`;
}

/** The conditions joined with OR; undefined when there are none. */
function anyOf(checks: (string | undefined)[]): string | undefined {
  const found = checks.filter((c) => c !== undefined);
  return found.length > 0 ? `(${found.join(' OR ')})` : undefined;
}

/** The same nested type with every primitive as string. */
function textLeaves(type: IcebergType): IcebergType {
  if (typeof type === 'string') return 'string';
  switch (type.type) {
    case 'struct':
      return { type: 'struct', fields: type.fields.map((f) => ({ ...f, type: textLeaves(f.type) })) };
    case 'list':
      return { ...type, element: textLeaves(type.element) };
    case 'map':
      return { ...type, key: textLeaves(type.key), value: textLeaves(type.value) };
  }
}

/**
 * The condition under which casting `value` (of type `source`) to `sqlType` changes it without an
 * error, as DuckDB's casts do: a number or text losing its fraction into an integer ('2.5' becomes 3),
 * digits into a float (1.123456789012 becomes 1.1234568)
 * or fraction digits into a decimal ('1.005' into DECIMAL(12,2) becomes 1.01), a timestamp or text
 * losing its time of day into a date, a UTC offset lost into a timestamp without a zone. Undefined
 * when the cast cannot do that. One check for every reader: the CSV guards (csv-guard.ts) use it on
 * text, the conversion plan on whatever type a reader staged.
 */
export function lossyCastSql(value: string, source: DuckDBType, sqlType: string): string | undefined {
  const target = typeIdOf(sqlType);
  const from = source.typeId;
  if (INTEGER_TYPES.has(target) && !INTEGER_TYPES.has(from) && (NUMERIC_TYPES.has(from) || from === DuckDBTypeId.VARCHAR)) {
    const asDouble = `TRY_CAST(${value} AS DOUBLE) <> CAST(TRY_CAST(${value} AS ${sqlType}) AS DOUBLE)`;
    // As doubles, a fraction past 2^53 is lost on both sides (9007199254740993.5 and the 9007199254740994 it rounds to are one
    // double): there a decimal is compared with its whole part, and text by the digits after its point. Plain string functions:
    // a regexp (compiled once per column and statement) or a CASE made a file of 1,500 integer columns twice as slow to
    // quarantine a row, and a cast of text to DECIMAL(38, s) takes about 20 µs. Text with an exponent is left to the double.
    const beyondDouble = `abs(TRY_CAST(${value} AS DOUBLE)) >= 9007199254740992`;
    if (from === DuckDBTypeId.DECIMAL) return `(${asDouble} OR (${beyondDouble} AND ${value} <> trunc(${value})))`;
    if (from !== DuckDBTypeId.VARCHAR) return asDouble;
    return `(${asDouble} OR (rtrim(split_part(${value}, '.', 2), '0 ') <> '' AND NOT contains(lower(${value}), 'e') AND ${beyondDouble}))`;
  }
  if (target === DuckDBTypeId.FLOAT && from !== DuckDBTypeId.FLOAT && (NUMERIC_TYPES.has(from) || from === DuckDBTypeId.VARCHAR)) {
    // A float keeps about 7 digits: 1.123456789012 would become 1.1234568, 16777217 16777216. The float's shortest text (`0.1`)
    // is compared, so a number it holds as well as a double does loads; and its exact value, so a float written with all
    // its digits (0.12345679104328156, as a MySQL FLOAT reads) loads too.
    const float = `TRY_CAST(${value} AS FLOAT)`;
    const double = `TRY_CAST(${value} AS DOUBLE)`;
    return `(TRY_CAST(CAST(${float} AS VARCHAR) AS DOUBLE) <> ${double} AND CAST(${float} AS DOUBLE) <> ${double})`;
  }
  if (target === DuckDBTypeId.DATE && (TIMESTAMP_TYPES.has(from) || from === DuckDBTypeId.VARCHAR)) {
    return `TRY_CAST(${value} AS TIMESTAMP) <> CAST(TRY_CAST(${value} AS TIMESTAMP) AS DATE)`;
  }
  if (target === DuckDBTypeId.DECIMAL) return decimalLossSql(value, source, sqlType);
  if (target === DuckDBTypeId.TIMESTAMP || target === DuckDBTypeId.TIMESTAMP_NS) {
    // A timestamp without a zone cannot hold an instant without choosing one: DuckDB drops text's offset, and shifts an instant to UTC.
    if (from === DuckDBTypeId.VARCHAR) return `regexp_matches(${value}, ${quoteString(OFFSET_TEXT)})`;
    if (from === DuckDBTypeId.TIMESTAMP_TZ) return 'true';
  }
  return undefined;
}

/**
 * True for text the integer cast takes but that is not the integer written plainly: a leading zero
 * (`01234`, a zip code; `007`), a base prefix (`0x1F`, `0b11`) or digit separators (`1_000`). Read as
 * a number, the zeros and the notation are gone; such text goes to the quarantine, as `abc` does.
 * `0` followed by a digit, a letter but `e`, or `_` after the sign (`0`, `0.0` and `0e3` are plain).
 * No regexp: compiled once per column and statement, it made a file of 1,500 integer columns 2.3x slower to quarantine a row.
 */
export function nonIntegerTextSql(value: string): string {
  return `(contains(${value}, '_') OR ltrim(${value}, ' +-') GLOB '0[0-9a-df-zA-DF-Z]*')`;
}

/** True for text a cast to `sqlType` reads as a number other than as written (see nonIntegerTextSql; `1_000` into a decimal or double), or undefined for other types. */
function numberNotationSql(value: string, sqlType: string): string | undefined {
  const target = typeIdOf(sqlType);
  if (INTEGER_TYPES.has(target)) return nonIntegerTextSql(value);
  return target === DuckDBTypeId.DECIMAL || target === DuckDBTypeId.DOUBLE || target === DuckDBTypeId.FLOAT ? `contains(${value}, '_')` : undefined;
}

/** The reason for a timestamp with a zone (text with an offset, or a TIMESTAMPTZ) that a column without one would have to drop or shift. */
export function zoneLossReasonSql(column: string, value: string): string {
  return `${quoteString(`column ${column}: `)} || left(CAST(${value} AS VARCHAR), 200) || ' has a time zone, which a TIMESTAMP column cannot hold (TIMESTAMPTZ can)'`;
}

/** A time of day followed by a zone: Z, +05, +05:00, +0500. */
export const OFFSET_TEXT = '\\d:\\d\\d(:\\d\\d(\\.\\d*)?)?\\s*([zZ]|[+-]\\d\\d(:?\\d\\d)?)\\s*$';

/** A decimal type, its scale in group 2. */
const DECIMAL_SQL = /^DECIMAL\((\d+),\s*(\d+)\)$/i;

/**
 * Into a decimal: text with more fraction digits (other than trailing zeros) than the scale, which
 * the cast would round away (an exponent is compared as a double); a float, double or decimal of a
 * larger scale that does not come back unchanged from the decimal. Integers only overflow, which
 * TRY_CAST makes NULL.
 */
/** Relative difference a double's arithmetic leaves behind (about 9 units in the last place, 2^-52 each). */
const DOUBLE_NOISE = '2e-15';

function decimalLossSql(value: string, source: DuckDBType, sqlType: string): string | undefined {
  const scale = Number(DECIMAL_SQL.exec(sqlType)?.[2] ?? 0);
  if (source.typeId === DuckDBTypeId.VARCHAR) {
    const exponent = `TRY_CAST(${value} AS DOUBLE) <> CAST(TRY_CAST(${value} AS ${sqlType}) AS DOUBLE)`;
    return `CASE WHEN regexp_matches(${value}, '[eE]') THEN ${exponent} ELSE length(rtrim(split_part(trim(${value}), '.', 2), '0')) > ${scale} END`;
  }
  if (source.typeId === DuckDBTypeId.DECIMAL && (source as DuckDBDecimalType).scale <= scale) return undefined;
  if (source.typeId === DuckDBTypeId.DOUBLE) {
    // A double is binary: 59.97 computed in a spreadsheet is 59.97000000000001, and 0.1 + 0.2 is
    // 0.30000000000000004. A difference within a few units of the double's last place is that noise,
    // not a digit anyone wrote, and the decimal is the value meant; 12.345 into scale 2 is a digit lost.
    return `abs(CAST(TRY_CAST(${value} AS ${sqlType}) AS DOUBLE) - ${value}) > abs(${value}) * ${DOUBLE_NOISE}`;
  }
  if (source.typeId === DuckDBTypeId.DECIMAL || source.typeId === DuckDBTypeId.FLOAT) {
    return `CAST(TRY_CAST(${value} AS ${sqlType}) AS ${source.toString()}) <> ${value}`;
  }
  return undefined;
}

function typeIdOf(sqlType: string): DuckDBTypeId {
  if (DECIMAL_SQL.test(sqlType)) return DuckDBTypeId.DECIMAL;
  const map: Record<string, DuckDBTypeId> = {
    TINYINT: DuckDBTypeId.TINYINT,
    SMALLINT: DuckDBTypeId.SMALLINT,
    INTEGER: DuckDBTypeId.INTEGER,
    INT: DuckDBTypeId.INTEGER,
    BIGINT: DuckDBTypeId.BIGINT,
    HUGEINT: DuckDBTypeId.HUGEINT,
    UTINYINT: DuckDBTypeId.UTINYINT,
    USMALLINT: DuckDBTypeId.USMALLINT,
    UINTEGER: DuckDBTypeId.UINTEGER,
    UBIGINT: DuckDBTypeId.UBIGINT,
    FLOAT: DuckDBTypeId.FLOAT,
    DATE: DuckDBTypeId.DATE,
    TIMESTAMP: DuckDBTypeId.TIMESTAMP,
    TIMESTAMP_NS: DuckDBTypeId.TIMESTAMP_NS,
  };
  return map[sqlType] ?? DuckDBTypeId.VARCHAR;
}

/** Per row of a merge, the position of the last good row with its key (selects). */
const LAST_GOOD = '__rat_last_good';

function selects(plans: ColumnPlan[], staged: StagedFile, options: ResolvedIngestOptions): Pick<ConformPlan, 'rowsSql' | 'badRowsSql' | 'duplicateKeysSql'> {
  const keyNames = options.mode === 'merge' ? options.keys : [];
  // A row without its merge key matches nothing and would be added again by every run.
  const keyChecks = keyNames.map((k) => ({ when: `s.${quoteIdent(k)} IS NULL`, reason: quoteString(`merge key ${k} is NULL`) }));
  const bad = [...plans.filter((p) => p.bad).map((p) => p.bad!), ...keyChecks];
  const from = `${quoteIdent(staged.relation)} s`;
  const good = bad.length > 0 ? ` WHERE NOT (${bad.map((b) => `coalesce(${b.when}, false)`).join(' OR ')})` : '';
  const converted = (p: ColumnPlan) => `CAST(${p.expr} AS ${duckDbTypeOf(p.field.type)})`;
  const projection = plans.map((p) => `${converted(p)} AS ${quoteIdent(p.field.name)}`);
  // Rows share a key by its value in the table's type, as the merge matches them: the JSON values 2 and "2.0" are one key of a bigint column.
  const keys = keyNames.map((k) => {
    const plan = plans.find((p) => p.field.name.toLowerCase() === k.toLowerCase());
    return plan ? converted(plan) : `s.${quoteIdent(k)}`;
  });
  // Of the rows sharing a key, the last in the file wins: by line, or by position in the read (CSV).
  const position = staged.hasLine ? `s.${LINE_COLUMN}` : staged.hasOrdinal ? `s.${ORDINAL_COLUMN}` : undefined;
  // The last position of each key, then the rows at those positions: a window over the rows would hold all of them, every
  // column, in memory (0.96 GB for a 500 MB CSV file); the positions and keys alone take a fraction of that, and can spill.
  const lastOfKey = position ? `${position} IN (SELECT max(${position}) FROM ${from}${good} GROUP BY ${keys.join(', ')})` : undefined;
  const dedupe = keys.length === 0 ? '' : lastOfKey ? `${good ? ' AND' : ' WHERE'} ${lastOfKey}` : ` QUALIFY row_number() OVER (PARTITION BY ${keys.join(', ')}) = 1`;
  const rowsSql = `SELECT ${projection.join(', ')} FROM ${from}${good}${dedupe}`;
  const badWhen = bad.map((b) => `coalesce(${b.when}, false)`).join(' OR ');
  // A bad row that a later good row with its key replaces is replaced like any earlier row of the key,
  // not quarantined: replayed, it would be merged over the later row.
  const replaced = keys.length > 0 && position && bad.length > 0 ? `coalesce(${position} < s.${LAST_GOOD}, false)` : undefined;
  const rows = replaced ? `(SELECT s.*, max(CASE WHEN NOT (${badWhen}) THEN ${position} END) OVER (PARTITION BY ${keys.join(', ')}) AS ${LAST_GOOD} FROM ${from}) s` : from;
  const replacedCount = replaced ? ` + (SELECT count(*) FROM ${rows} WHERE (${badWhen}) AND ${replaced})` : '';
  const duplicateKeysSql = keys.length > 0 ? `SELECT count(*) - count(DISTINCT (${keys.join(', ')}))${replacedCount} AS n FROM ${from}${good}` : undefined;
  if (bad.length === 0) return { rowsSql, ...(duplicateKeysSql ? { duplicateKeysSql } : {}) };
  const raw = staged.columns.length > 0 ? `to_json(struct_pack(${staged.columns.map((c) => `${quoteIdent(c.name)} := ${rawValueSql(c)}`).join(', ')}))::VARCHAR` : `'{}'`;
  const line = staged.hasLine ? `s.${LINE_COLUMN}` : 'CAST(NULL AS BIGINT)';
  const reason = `concat_ws('; ', ${bad.map((b) => `CASE WHEN coalesce(${b.when}, false) THEN ${b.reason} END`).join(', ')})`;
  // A CSV row's position in the read, so the ingest can find its line and text in the file (a fourth column).
  const ordinal = !staged.hasLine && staged.hasOrdinal ? `, s.${ORDINAL_COLUMN} AS ord` : '';
  const badRowsSql = `SELECT ${line} AS line, ${reason} AS reason, ${raw} AS raw${ordinal} FROM ${rows} WHERE (${badWhen})${replaced ? ` AND NOT ${replaced}` : ''}`;
  return { rowsSql, badRowsSql, ...(duplicateKeysSql ? { duplicateKeysSql } : {}) };
}

/**
 * Types whose values JSON would write as numbers a JSON reader takes back as doubles: a replay of the
 * row would load `1234567890123456789.0123456789` as `1234567890123456822.7576610816`. As text they
 * convert exactly.
 */
const WIDE_NUMBER_TYPES = new Set<DuckDBTypeId>([DuckDBTypeId.DECIMAL, DuckDBTypeId.HUGEINT, DuckDBTypeId.UHUGEINT, DuckDBTypeId.UBIGINT]);

/** A staged column's value as a quarantined row's JSON holds it: numbers of WIDE_NUMBER_TYPES as their digits. */
function rawValueSql(column: StagedColumn): string {
  const value = `s.${quoteIdent(column.name)}`;
  return WIDE_NUMBER_TYPES.has(column.type.typeId) ? `CAST(${value} AS VARCHAR)` : value;
}

/**
 * The lineage columns of a table are rat's when it has both, able to hold the source file and the load
 * time; else they are columns of the table's own data (kept with --no-lineage --keep-names), which
 * lineage would write over.
 */
function refuseOwnLineageNames(present: StructField[], table: string): void {
  const holds = (f: StructField) => (f.name.toLowerCase() === '_source_file' ? f.type === 'string' : typeof f.type === 'string' && f.type.startsWith('timestamp'));
  if (present.length === 0 || (present.length === LINEAGE_COLUMNS.length && present.every(holds))) return;
  throw new ValidationError(
    'INVALID_ARGUMENT',
    `${table} has ${present.map((f) => `${f.name} (${typeText(f.type)})`).join(' and ')} of its own data, not the lineage columns _source_file (string) and _ingested_at (timestamptz) that lineage fills with the source file and the load time: ingest into ${table} with --no-lineage (SDK lineage: false) to keep ${present.length === 1 ? 'its' : 'their'} values`,
  );
}

/**
 * A partitioning given for a table that exists: the one it has is no change (a batch's files after
 * the one that created the table, the next run of a scheduled load); another is refused, since an
 * ingest partitions only a table it creates.
 */
function checkPartitioning(partitionBy: string[], metadata: TableMetadata, table: string, spelling: OptionSpelling): void {
  const schema = currentSchema(metadata);
  const given = parsePartitionBy(partitionBy, schema, table);
  const { fields } = defaultSpec(metadata);
  if (given.length === fields.length && given.every((f, i) => f.sourceId === fields[i]!.sourceId && f.transform === fields[i]!.transform)) return;
  const text = (list: readonly { sourceId: number; transform: Transform }[]) =>
    list.map((f) => partitionText(f.transform, schema.fields.find((c) => c.id === f.sourceId)?.name ?? `field ${f.sourceId}`)).join(', ');
  throw new ValidationError(
    'INVALID_PARTITION',
    `${table} exists already, ${fields.length > 0 ? `partitioned by ${text(fields)}` : 'not partitioned'}: ${spelling.partitionBy} ${text(given)} applies only to a table the ingest creates; leave it out to load into ${table} as it is partitioned`,
  );
}

/** A partition field as PARTITIONED BY and --partition-by write it: `month(day)`, `bucket(16, id)`, `region`. */
function partitionText(transform: Transform, column: string): string {
  const { name, param } = transformParts(transform);
  if (name === 'identity') return column;
  return param === undefined ? `${name}(${column})` : `${name}(${param}, ${column})`;
}

/**
 * Merge keys must be columns of the table as it is (matched ignoring case, as the file's columns are:
 * a table made in SQL may have `OrderId`). A key the file adds as a new column matches no row of the
 * table, which holds no value in it.
 */
function checkKeys(options: ResolvedIngestOptions, schema: Schema, table: string, evolved?: Schema): void {
  const has = (fields: Schema, key: string) => fields.fields.some((f) => f.name.toLowerCase() === key.toLowerCase());
  for (const key of options.keys) {
    if (has(schema, key)) continue;
    const columns = `(columns: ${schema.fields.map((f) => f.name).join(', ')})`;
    if (evolved && has(evolved, key)) {
      throw new ValidationError('COLUMN_NOT_FOUND', `merge key "${key}" is not a column of ${table} ${columns}: the file brings it as a new column, in which no row of ${table} has a value to match; merge by columns ${table} has`);
    }
    throw new ValidationError('COLUMN_NOT_FOUND', `merge key "${key}" is not a column of ${table} ${columns}`);
  }
}

function lineageValue(name: (typeof LINEAGE_COLUMNS)[number], input: ConformInput): string {
  if (name === '_source_file') return input.staged.hasSource ? `s.${SOURCE_COLUMN}` : quoteString(input.sourceFile);
  return `TIMESTAMPTZ ${quoteString(input.ingestedAt.toISOString())}`;
}

/** `use --schema-drift evolve to add them, --schema-drift ignore to drop them`, as the caller spells the option. */
function driftAdvice({ spelling }: ResolvedIngestOptions): string {
  return `use ${spelling.schemaDrift('evolve')} to add them, ${spelling.schemaDrift('ignore')} to drop them`;
}

/** A --type naming a column neither the file nor the table has is a typo that would leave the column its detected type. */
function checkTypedColumns(options: ResolvedIngestOptions, staged: StagedFile, target: LoadedTable | undefined, table: string, file: string): void {
  const known = new Set([...staged.columns.flatMap((c) => [c.name, c.source]), ...(target ? currentSchema(target.metadata).fields.map((f) => f.name) : [])].map((n) => n.toLowerCase()));
  // One column typed under its name in the file and its name in the table, two ways: which was meant cannot be told.
  for (const c of staged.columns) {
    const [asColumn, asSource] = [givenType(options.types, c.name), givenType(options.types, c.source)];
    if (c.name === c.source || asColumn === undefined || asSource === undefined || asColumn === asSource) continue;
    throw new ValidationError(
      'INVALID_ARGUMENT',
      `${file}: ${options.spelling.types} gives column ${c.name} two types, ${options.spelling.type(c.source, asSource)} by its name in the file and ${options.spelling.type(c.name, asColumn)}: give one`,
    );
  }
  const unknown = Object.keys(options.types).filter((key) => !known.has(key.toLowerCase()));
  if (unknown.length === 0) return;
  throw new ValidationError(
    'COLUMN_NOT_FOUND',
    `${file}: ${options.spelling.types} names ${unknown.length === 1 ? 'column' : 'columns'} ${unknown.map((k) => `"${k}"`).join(', ')}, which neither the file nor ${table} has (the file's columns: ${staged.columns.map((c) => c.source).join(', ')})`,
  );
}

/**
 * A --type for a column the table has must be a type the column can take: its own, a narrower one
 * (read as int into a long column), or a widening Iceberg allows (the plan widens the column when a
 * value needs it). Any other (VARCHAR for a double column) would be cast back to the table's type,
 * ignoring the option: refused, naming the column, both types and the way out.
 */
function refuseTypeOption(options: ResolvedIngestOptions, column: StagedColumn, field: StructField, wanted: IcebergType, table: string): void {
  const given = givenType(options.types, column.name) !== undefined ? column.name : column.source;
  const sqlType = givenType(options.types, given);
  if (sqlType === undefined || !isPrimitive(field.type) || !isPrimitive(wanted)) return;
  if (promotionAllowed(field.type, wanted) || promotionAllowed(wanted, field.type)) return;
  throw new ValidationError(
    'TYPE_MISMATCH',
    `${options.spelling.type(given, sqlType)}: ${table}.${field.name} is ${typeText(field.type)}, and the table's type wins: Iceberg changes a column's type only by widening it (int -> long, float -> double, a wider decimal), so it cannot become ${typeText(wanted)}. Leave out ${options.spelling.type(given)} to load the values as ${typeText(field.type)} (values that do not convert go to the quarantine), or load them into a new table with ${options.spelling.type(given, sqlType)}`,
  );
}

/** Checks each --type once, before any file is read: an unknown type names the option and the value. */
export async function checkTypeOptions(duck: DuckDb, types: Readonly<Record<string, string>>, spelling: OptionSpelling = FLAG_SPELLING): Promise<void> {
  for (const [column, sqlType] of Object.entries(types)) {
    try {
      await describeQuery(duck, `SELECT CAST(NULL AS ${sqlType}) AS v`);
    } catch (error) {
      // A type that exists with parameters it cannot take (DECIMAL(40,2)): DuckDB's binder says which.
      const misused = error instanceof Error ? /^Binder Error: (.+)/.exec(error.message)?.[1] : undefined;
      const what = misused ? `"${sqlType}" is not a valid type: ${misused}` : `there is no type "${sqlType}"`;
      throw new ValidationError('INVALID_TYPE', `${spelling.type(column, sqlType)}: ${what}; use a DuckDB type such as BIGINT, DOUBLE, DECIMAL(12,2), DATE, TIMESTAMP, TIMESTAMPTZ or VARCHAR`, { cause: error });
    }
  }
}

async function describeType(duck: DuckDb, sqlType: string, column: string) {
  try {
    return (await describeQuery(duck, `SELECT CAST(NULL AS ${sqlType}) AS v`)).types[0]!;
  } catch (error) {
    throw new ValidationError('INVALID_TYPE', `unknown type "${sqlType}" given for column ${column}`, { cause: error });
  }
}

export function typeText(type: IcebergType): string {
  return typeof type === 'string' ? type : type.type;
}
