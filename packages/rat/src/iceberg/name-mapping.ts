import { ValidationError } from '../core/errors.js';
import { currentSchema } from './metadata.js';
import type { IcebergType, Schema, StructField, TableMetadata } from './types.js';

/**
 * The table property holding the fallback field ids for data files written without them (PyIceberg
 * and Spark `add_files`, Hive migrations). Spec "Column Projection", Appendix C "Name Mapping Serialization".
 */
export const NAME_MAPPING_PROPERTY = 'schema.name-mapping.default';

/** One field mapping: the names a field may have in a data file, its field id, its children's mappings. */
export interface MappedField {
  names: string[];
  /** Absent for a column that exists only in imported files and not in the Iceberg schema. */
  fieldId?: number;
  /** Struct children; `element` of a list; `key` and `value` of a map. */
  fields: MappedField[];
}

export type NameMapping = MappedField[];

/**
 * The table's name mapping, or undefined when it has none. Throws INVALID_NAME_MAPPING naming the
 * table, the property and the offending path: a mapping that cannot be read would otherwise make
 * every file without field ids read as NULLs, a silently wrong result.
 */
export function nameMappingOf(properties: Record<string, string>, table: string): NameMapping | undefined {
  const text = properties[NAME_MAPPING_PROPERTY];
  if (text === undefined) return undefined;
  const fail = (detail: string): never => {
    throw new ValidationError('INVALID_NAME_MAPPING', `table ${table}: property ${NAME_MAPPING_PROPERTY} is not a valid name mapping (spec Appendix C): ${detail}`);
  };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return fail(`not JSON (${(error as Error).message})`);
  }
  return parseFields(json, '$', fail, new Map());
}

/**
 * One level of the mapping. A name under two entries of one level, or a field id given twice anywhere,
 * would make the file column's field depend on entry order; Java's MappedFields and MappingUtil refuse
 * both, and so does this (`ids` holds the path of each id seen so far).
 */
function parseFields(json: unknown, path: string, fail: (detail: string) => never, ids: Map<number, string>): MappedField[] {
  if (!Array.isArray(json)) return fail(`${path} must be a list of field mappings, found ${describe(json)}`);
  const names = new Map<string, string>();
  return json.map((item: unknown, index) => {
    const at = `${path}[${index}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return fail(`${at} must be an object with "names", found ${describe(item)}`);
    const record = item as Record<string, unknown>;
    const entryNames = record['names'];
    if (!Array.isArray(entryNames) || entryNames.some((n) => typeof n !== 'string')) return fail(`${at}.names must be a list of strings, found ${describe(entryNames)}`);
    const fieldId = record['field-id'];
    if (fieldId !== undefined && fieldId !== null && !(typeof fieldId === 'number' && Number.isInteger(fieldId))) return fail(`${at}.field-id must be an integer, found ${describe(fieldId)}`);
    for (const name of entryNames as string[]) {
      const other = names.get(name);
      if (other !== undefined) return fail(`the name ${JSON.stringify(name)} is under both ${other} and ${at}; names must be unique among siblings`);
      names.set(name, at);
    }
    if (typeof fieldId === 'number') {
      const other = ids.get(fieldId);
      if (other !== undefined) return fail(`field-id ${fieldId} is given to both ${other} and ${at}; field ids must be unique`);
      ids.set(fieldId, at);
    }
    const fields = record['fields'];
    return {
      names: entryNames as string[],
      ...(typeof fieldId === 'number' ? { fieldId } : {}),
      fields: fields === undefined || fields === null ? [] : parseFields(fields, `${at}.fields`, fail, ids),
    };
  });
}

/** The mapping of a field id among siblings. */
export function mappedFieldById(fields: MappedField[] | undefined, fieldId: number): MappedField | undefined {
  return fields?.find((f) => f.fieldId === fieldId);
}

function describe(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** The property's JSON (Appendix C spelling), without empty `fields` lists. */
export function nameMappingToJson(mapping: NameMapping): string {
  const toJson = (fields: MappedField[]): unknown[] =>
    fields.map((f) => ({ names: f.names, ...(f.fieldId !== undefined ? { 'field-id': f.fieldId } : {}), ...(f.fields.length > 0 ? { fields: toJson(f.fields) } : {}) }));
  return JSON.stringify(toJson(mapping));
}

/**
 * The mapping after a schema change, as Java's and PyIceberg's schema updates keep it: a renamed field
 * gains its new name (old files still carry the old one), an added field gets an entry with its name
 * (and its children's), and a name now held by another field is taken from the field that had it, so
 * files imported later under that name map to the field that has it now. Entries left without names
 * are dropped.
 */
export function updateNameMapping(mapping: NameMapping, before: Schema, after: Schema): NameMapping {
  return updateLevel(mapping, before.fields.map(childOf), after.fields.map(childOf));
}

/**
 * `after` (a schema change of `before`) with its name mapping updated to the new schema. A mapping that
 * does not parse is left as it is: the change is not about it, and reads that need it name the problem.
 */
export function withNameMappingUpdated(before: TableMetadata, after: TableMetadata, table: string): TableMetadata {
  let mapping: NameMapping | undefined;
  try {
    mapping = nameMappingOf(after.properties, table);
  } catch (error) {
    if (error instanceof ValidationError) return after;
    throw error;
  }
  if (!mapping) return after;
  const text = nameMappingToJson(updateNameMapping(mapping, currentSchema(before), currentSchema(after)));
  return text === after.properties[NAME_MAPPING_PROPERTY] ? after : { ...after, properties: { ...after.properties, [NAME_MAPPING_PROPERTY]: text } };
}

interface Child {
  id: number;
  name: string;
  type: IcebergType;
}

function childOf(field: StructField): Child {
  return { id: field.id, name: field.name, type: field.type };
}

/** A type's children as the mapping names them: struct fields, a list's `element`, a map's `key` and `value`. */
function childrenOf(type: IcebergType): Child[] {
  if (typeof type === 'string') return [];
  switch (type.type) {
    case 'struct':
      return type.fields.map(childOf);
    case 'list':
      return [{ id: type.elementId, name: 'element', type: type.element }];
    case 'map':
      return [
        { id: type.keyId, name: 'key', type: type.key },
        { id: type.valueId, name: 'value', type: type.value },
      ];
  }
}

function updateLevel(entries: MappedField[], before: Child[], after: Child[]): MappedField[] {
  const beforeById = new Map(before.map((c) => [c.id, c]));
  const afterById = new Map(after.map((c) => [c.id, c]));
  // Names given to a field by this change: renamed or added.
  const assigned = new Map(after.filter((c) => beforeById.get(c.id)?.name !== c.name).map((c) => [c.name, c.id]));
  const updated: MappedField[] = [];
  for (const entry of entries) {
    const child = entry.fieldId !== undefined ? afterById.get(entry.fieldId) : undefined;
    let names = entry.names.filter((n) => assigned.get(n) === undefined || assigned.get(n) === entry.fieldId);
    if (child && assigned.get(child.name) === child.id && !names.includes(child.name)) names = [...names, child.name];
    if (names.length === 0 && entry.names.length > 0) continue;
    const previous = entry.fieldId !== undefined ? beforeById.get(entry.fieldId) : undefined;
    const fields = child ? updateLevel(entry.fields, previous ? childrenOf(previous.type) : [], childrenOf(child.type)) : entry.fields;
    updated.push({ ...entry, names, fields });
  }
  for (const child of after) {
    if (beforeById.has(child.id) || entries.some((e) => e.fieldId === child.id)) continue;
    updated.push({ names: [child.name], fieldId: child.id, fields: updateLevel([], [], childrenOf(child.type)) });
  }
  return updated;
}
