import { ValidationError } from '../core/errors.js';

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
  return parseFields(json, '$', fail);
}

function parseFields(json: unknown, path: string, fail: (detail: string) => never): MappedField[] {
  if (!Array.isArray(json)) return fail(`${path} must be a list of field mappings, found ${describe(json)}`);
  return json.map((item: unknown, index) => {
    const at = `${path}[${index}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item)) return fail(`${at} must be an object with "names", found ${describe(item)}`);
    const record = item as Record<string, unknown>;
    const names = record['names'];
    if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) return fail(`${at}.names must be a list of strings, found ${describe(names)}`);
    const fieldId = record['field-id'];
    if (fieldId !== undefined && fieldId !== null && !(typeof fieldId === 'number' && Number.isInteger(fieldId))) return fail(`${at}.field-id must be an integer, found ${describe(fieldId)}`);
    const fields = record['fields'];
    return {
      names: names as string[],
      ...(typeof fieldId === 'number' ? { fieldId } : {}),
      fields: fields === undefined || fields === null ? [] : parseFields(fields, `${at}.fields`, fail),
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
