/**
 * Schemas and types between their JSON form (spec Appendix C "Schemas": `schema-id`,
 * `element-id`, `key-id`, `initial-default`, ...) and the domain types in types.ts.
 * Defaults of primitive fields are held as IcebergValues (Appendix D JSON single values decoded);
 * defaults of nested fields, which the spec limits to null or `{}`, are kept as their JSON.
 */
import { ValidationError, isRatError } from '../core/errors.js';
import { indexById } from './schema-index.js';
import { formatPrimitiveType, isPrimitive, parsePrimitiveType } from './type-parse.js';
import type { IcebergType, IcebergValue, ListType, MapType, Schema, StructField, StructType } from './types.js';
import { valueFromJson, valueToJson } from './values.js';
import {
  asInteger,
  asObject,
  fieldPath,
  type JsonObject,
  readArray,
  readBoolean,
  readInteger,
  readOptionalArray,
  readOptionalInteger,
  readOptionalString,
  readString,
  wrongField,
} from './wire-json.js';

function defaultFromJson(type: IcebergType, json: unknown, path: string): unknown {
  if (!isPrimitive(type)) return json;
  try {
    return valueFromJson(type, json);
  } catch (error) {
    if (isRatError(error)) throw new ValidationError('INVALID_ARGUMENT', `field "${path}": ${error.message}`, { cause: error });
    throw error;
  }
}

function defaultToJson(type: IcebergType, value: unknown): unknown {
  if (!isPrimitive(type)) return value;
  return valueToJson(type, value as IcebergValue);
}

function fieldFromJson(json: unknown, path: string): StructField {
  const obj = asObject(json, path);
  const type = typeFromJson(obj.type, fieldPath(path, 'type'));
  const field: StructField = {
    id: readInteger(obj, 'id', path),
    name: readString(obj, 'name', path),
    required: readBoolean(obj, 'required', path),
    type,
  };
  const doc = readOptionalString(obj, 'doc', path);
  if (doc !== undefined) field.doc = doc;
  // A present-but-null default is kept: it states "null" explicitly, which the spec asks writers to do.
  if ('initial-default' in obj) field.initialDefault = defaultFromJson(type, obj['initial-default'], fieldPath(path, 'initial-default'));
  if ('write-default' in obj) field.writeDefault = defaultFromJson(type, obj['write-default'], fieldPath(path, 'write-default'));
  return field;
}

function structFromJson(obj: JsonObject, path: string): StructType {
  const fields = readArray(obj, 'fields', path).map((field, i) => fieldFromJson(field, fieldPath(fieldPath(path, 'fields'), i)));
  const names = new Set<string>();
  for (const [i, field] of fields.entries()) {
    if (names.has(field.name)) throw wrongField(fieldPath(fieldPath(path, 'fields'), i), 'a field with a unique name', field.name);
    names.add(field.name);
  }
  return { type: 'struct', fields };
}

/** One type: a primitive type string or a struct/list/map object. */
export function typeFromJson(json: unknown, path = 'type'): IcebergType {
  if (typeof json === 'string') {
    try {
      return parsePrimitiveType(json);
    } catch (error) {
      if (isRatError(error)) throw new ValidationError(error.code, `field "${path}": ${error.message}`, { cause: error });
      throw error;
    }
  }
  const obj = asObject(json, path);
  switch (obj.type) {
    case 'struct':
      return structFromJson(obj, path);
    case 'list': {
      const list: ListType = {
        type: 'list',
        elementId: readInteger(obj, 'element-id', path),
        elementRequired: readBoolean(obj, 'element-required', path),
        element: typeFromJson(obj.element, fieldPath(path, 'element')),
      };
      return list;
    }
    case 'map': {
      const map: MapType = {
        type: 'map',
        keyId: readInteger(obj, 'key-id', path),
        key: typeFromJson(obj.key, fieldPath(path, 'key')),
        valueId: readInteger(obj, 'value-id', path),
        valueRequired: readBoolean(obj, 'value-required', path),
        value: typeFromJson(obj.value, fieldPath(path, 'value')),
      };
      return map;
    }
    default:
      throw wrongField(fieldPath(path, 'type'), 'a type ("struct", "list", "map" or a primitive)', obj.type);
  }
}

export function typeToJson(type: IcebergType): unknown {
  if (isPrimitive(type)) return formatPrimitiveType(type);
  switch (type.type) {
    case 'struct':
      return { type: 'struct', fields: type.fields.map(fieldToJson) };
    case 'list':
      return { type: 'list', 'element-id': type.elementId, 'element-required': type.elementRequired, element: typeToJson(type.element) };
    case 'map':
      return {
        type: 'map',
        'key-id': type.keyId,
        key: typeToJson(type.key),
        'value-id': type.valueId,
        'value-required': type.valueRequired,
        value: typeToJson(type.value),
      };
  }
}

function fieldToJson(field: StructField): JsonObject {
  const json: JsonObject = { id: field.id, name: field.name, required: field.required, type: typeToJson(field.type) };
  if (field.doc !== undefined) json.doc = field.doc;
  if (field.initialDefault !== undefined) json['initial-default'] = defaultToJson(field.type, field.initialDefault);
  if (field.writeDefault !== undefined) json['write-default'] = defaultToJson(field.type, field.writeDefault);
  return json;
}

/**
 * Spec "Identifier Field IDs": identifier fields are required primitives other than float and
 * double, and may sit in structs (required ones) but not in lists or maps.
 */
function checkIdentifierFields(schema: Schema, path: string): void {
  const index = indexById(schema);
  for (const id of schema.identifierFieldIds ?? []) {
    const entry = index.get(id);
    const where = fieldPath(path, 'identifier-field-ids');
    if (!entry) throw wrongField(where, 'ids of fields in the schema', id);
    const name = entry.path.join('.');
    const { field } = entry;
    if (!isPrimitive(field.type) || field.type === 'float' || field.type === 'double' || !field.required) {
      throw new ValidationError('INVALID_ARGUMENT', `field "${where}": identifier field "${name}" must be a required primitive other than float and double`);
    }
    for (const parentId of entry.parentIds) {
      const parent = index.get(parentId)?.field;
      if (!parent || isPrimitive(parent.type) || parent.type.type !== 'struct' || !parent.required) {
        throw new ValidationError('INVALID_ARGUMENT', `field "${where}": identifier field "${name}" must not be nested in a list, map or optional struct`);
      }
    }
  }
}

/**
 * A schema from its JSON object. `schema-id` defaults to 0 (it is optional in v1). Field ids must be
 * unique across the whole schema and names unique within each struct.
 */
export function schemaFromJson(json: unknown, path = 'schema'): Schema {
  const obj = asObject(json, path);
  if (obj.type !== undefined && obj.type !== 'struct') throw wrongField(fieldPath(path, 'type'), '"struct"', obj.type);
  const struct = structFromJson(obj, path);
  const schema: Schema = { type: 'struct', schemaId: readOptionalInteger(obj, 'schema-id', path) ?? 0, fields: struct.fields };
  const identifierIds = readOptionalArray(obj, 'identifier-field-ids', path);
  if (identifierIds !== undefined) {
    schema.identifierFieldIds = identifierIds.map((id, i) => asInteger(id, fieldPath(fieldPath(path, 'identifier-field-ids'), i)));
  }
  try {
    indexById(schema);
  } catch (error) {
    if (isRatError(error)) throw new ValidationError('INVALID_ARGUMENT', `field "${path}": ${error.message}`, { cause: error });
    throw error;
  }
  checkIdentifierFields(schema, path);
  return schema;
}

export function schemaToJson(schema: Schema): JsonObject {
  const json: JsonObject = { type: 'struct', 'schema-id': schema.schemaId };
  if (schema.identifierFieldIds !== undefined) json['identifier-field-ids'] = [...schema.identifierFieldIds];
  json.fields = schema.fields.map(fieldToJson);
  return json;
}
