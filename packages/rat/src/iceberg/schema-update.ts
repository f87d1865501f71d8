import { NotFoundError, ValidationError } from '../core/errors.js';
import { withNameMappingUpdated } from './name-mapping.js';
import { highestFieldId } from './schema-index.js';
import { schemaToJson } from './schema-json.js';
import { isPrimitive, promotionAllowed } from './type-parse.js';
import type { IcebergType, Schema, StructField, TableMetadata } from './types.js';

/**
 * Schema evolution (spec "Schema Evolution"): every change makes a new schema; columns keep their
 * field ids, so files written under older schemas are read by id. Names are matched case-insensitively.
 */
export type SchemaChange =
  | { kind: 'addColumn'; name: string; type: IcebergType; required?: boolean }
  | { kind: 'renameColumn'; from: string; to: string }
  | { kind: 'dropColumn'; name: string }
  | { kind: 'alterType'; name: string; type: IcebergType }
  | { kind: 'dropNotNull'; name: string }
  | { kind: 'moveColumn'; name: string; position: 'first' | { after: string } }
  /**
   * A nested column's type changed inside (at any depth, through lists and map values): `type` is the
   * column's type with new struct fields in place, given field id 0, and primitives widened as
   * Iceberg promotes them (int -> long, float -> double, a wider decimal); existing ids stay as they are.
   */
  | { kind: 'alterNestedType'; name: string; type: IcebergType };

export function applySchemaChange(metadata: TableMetadata, table: string, change: SchemaChange): TableMetadata {
  const schema = metadata.schemas.find((s) => s.schemaId === metadata.currentSchemaId)!;
  const fields = [...schema.fields];
  const find = (name: string): number => {
    const index = fields.findIndex((f) => f.name.toLowerCase() === name.toLowerCase());
    if (index < 0) throw new NotFoundError('COLUMN_NOT_FOUND', `column "${name}" does not exist in ${table} (columns: ${fields.map((f) => f.name).join(', ')})`);
    return index;
  };
  const mustBeNew = (name: string) => {
    if (fields.some((f) => f.name.toLowerCase() === name.toLowerCase())) throw new ValidationError('COLUMN_EXISTS', `column "${name}" already exists in ${table}`);
  };
  let lastColumnId = metadata.lastColumnId;
  switch (change.kind) {
    case 'addColumn': {
      mustBeNew(change.name);
      if (change.required) {
        throw new ValidationError('INVALID_ARGUMENT', `cannot add required column "${change.name}" to ${table}: existing rows have no value for it; add it as nullable`);
      }
      const id = ++lastColumnId;
      fields.push({ id, name: change.name, required: false, type: renumber(change.type, () => ++lastColumnId) });
      break;
    }
    case 'renameColumn': {
      const index = find(change.from);
      mustBeNew(change.to);
      fields[index] = { ...fields[index]!, name: change.to };
      break;
    }
    case 'dropColumn': {
      const index = find(change.name);
      const field = fields[index]!;
      const partitioned = metadata.partitionSpecs.find((s) => s.specId === metadata.defaultSpecId)?.fields.some((p) => p.sourceId === field.id);
      if (partitioned) throw new ValidationError('INVALID_PARTITION', `cannot drop column "${field.name}" of ${table}: the table is partitioned by it`);
      if (schema.identifierFieldIds?.includes(field.id)) throw new ValidationError('INVALID_ARGUMENT', `cannot drop column "${field.name}" of ${table}: it is an identifier field`);
      if (fields.length === 1) throw new ValidationError('INVALID_ARGUMENT', `cannot drop column "${field.name}": it is the only column of ${table}`);
      fields.splice(index, 1);
      break;
    }
    case 'alterType': {
      const index = find(change.name);
      const field = fields[index]!;
      if (!isPrimitive(field.type) || !isPrimitive(change.type) || !promotionAllowed(field.type, change.type)) {
        const from = typeName(field.type);
        const to = typeName(change.type);
        if (from === to) return metadata;
        throw new ValidationError(
          'TYPE_MISMATCH',
          `cannot change column ${table}.${field.name} from ${from} to ${to}: Iceberg allows only int -> long, float -> double and wider decimal precision`,
        );
      }
      fields[index] = { ...field, type: change.type };
      break;
    }
    case 'alterNestedType': {
      const index = find(change.name);
      refuseNestedChange(fields[index]!.type, change.type, `${table}.${fields[index]!.name}`);
      fields[index] = { ...fields[index]!, type: numberNewFields(change.type, () => ++lastColumnId) };
      break;
    }
    case 'dropNotNull': {
      const index = find(change.name);
      fields[index] = { ...fields[index]!, required: false };
      break;
    }
    case 'moveColumn': {
      const index = find(change.name);
      const [field] = fields.splice(index, 1);
      if (change.position === 'first') fields.unshift(field!);
      else {
        if (change.position.after.toLowerCase() === change.name.toLowerCase()) throw new ValidationError('INVALID_ARGUMENT', `cannot move column "${change.name}" after itself`);
        const after = fields.findIndex((f) => f.name.toLowerCase() === (change.position as { after: string }).after.toLowerCase());
        if (after < 0) throw new NotFoundError('COLUMN_NOT_FOUND', `column "${change.position.after}" does not exist in ${table}`);
        fields.splice(after + 1, 0, field!);
      }
      break;
    }
  }
  const next = withSchema(metadata, { type: 'struct', schemaId: 0, fields, ...(schema.identifierFieldIds ? { identifierFieldIds: schema.identifierFieldIds } : {}) }, lastColumnId);
  return withNameMappingUpdated(metadata, next, table);
}

/** Makes `schema` current, reusing the id of an identical existing schema (spec: schemas are reused). */
export function withSchema(metadata: TableMetadata, schema: Schema, lastColumnId = metadata.lastColumnId): TableMetadata {
  const shape = (s: Schema) => JSON.stringify({ ...schemaToJson({ ...s, schemaId: 0 }) });
  const existing = metadata.schemas.find((s) => shape(s) === shape(schema));
  if (existing) return { ...metadata, currentSchemaId: existing.schemaId, lastColumnId: Math.max(lastColumnId, metadata.lastColumnId) };
  const schemaId = Math.max(...metadata.schemas.map((s) => s.schemaId)) + 1;
  return {
    ...metadata,
    schemas: [...metadata.schemas, { ...schema, schemaId }],
    currentSchemaId: schemaId,
    lastColumnId: Math.max(lastColumnId, highestFieldId(schema)),
  };
}

function renumber(type: IcebergType, nextId: () => number): IcebergType {
  if (typeof type === 'string') return type;
  switch (type.type) {
    case 'struct':
      return { type: 'struct', fields: type.fields.map((f: StructField) => ({ ...f, id: nextId(), type: renumber(f.type, nextId) })) };
    case 'list':
      return { ...type, elementId: nextId(), element: renumber(type.element, nextId) };
    case 'map':
      return { ...type, keyId: nextId(), valueId: nextId(), key: renumber(type.key, nextId), value: renumber(type.value, nextId) };
  }
}

/**
 * Refuses a nested type that is not `from` with new struct fields (id 0) and promoted primitives:
 * every field `from` has keeps its id and its shape, and a primitive only widens as Iceberg allows.
 */
function refuseNestedChange(from: IcebergType, to: IcebergType, path: string): void {
  const refuse = () => {
    throw new ValidationError('TYPE_MISMATCH', `cannot change ${path} from ${typeName(from)} to ${typeName(to)}: Iceberg allows only int -> long, float -> double and wider decimal precision`);
  };
  if (isPrimitive(from) || isPrimitive(to)) {
    if (!isPrimitive(from) || !isPrimitive(to) || !promotionAllowed(from, to)) refuse();
    return;
  }
  if (from.type === 'struct' && to.type === 'struct') {
    for (const field of from.fields) {
      const kept = to.fields.find((f) => f.id === field.id);
      if (!kept) throw new ValidationError('TYPE_MISMATCH', `cannot change ${path}: it has no field ${field.name} (id ${field.id}), which a change of its type cannot drop`);
      refuseNestedChange(field.type, kept.type, `${path}.${field.name}`);
    }
  } else if (from.type === 'list' && to.type === 'list') refuseNestedChange(from.element, to.element, `${path}.element`);
  else if (from.type === 'map' && to.type === 'map') {
    refuseNestedChange(from.key, to.key, `${path}.key`);
    refuseNestedChange(from.value, to.value, `${path}.value`);
  } else refuse();
}

/** Gives the struct fields whose id is 0 (new ones) fresh ids, with everything inside them. */
function numberNewFields(type: IcebergType, nextId: () => number): IcebergType {
  if (typeof type === 'string') return type;
  switch (type.type) {
    case 'struct':
      return {
        type: 'struct',
        fields: type.fields.map((f: StructField) => (f.id === 0 ? { ...f, required: false, id: nextId(), type: renumber(f.type, nextId) } : { ...f, type: numberNewFields(f.type, nextId) })),
      };
    case 'list':
      return { ...type, element: numberNewFields(type.element, nextId) };
    case 'map':
      return { ...type, value: numberNewFields(type.value, nextId) };
  }
}

function typeName(type: IcebergType): string {
  return typeof type === 'string' ? type : type.type;
}
