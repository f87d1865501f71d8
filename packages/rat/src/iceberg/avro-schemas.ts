/**
 * The plain (JSON) Avro schemas of Iceberg v2 manifest lists and manifests, with every `field-id`
 * and `element-id` the spec requires. Spec: "Manifest Lists", "Manifests" ("Manifest Entry
 * Fields", "Data File Fields") and Appendix A "Avro" (type mapping, where ids live).
 *
 * These objects are handed unchanged to the Avro writer: the header schema must carry the ids,
 * and avsc only keeps custom attributes when it is given the plain object, not a parsed `Type`.
 */
import { ValidationError } from '../core/errors.js';
import { decimalParams, fixedLength, primitiveKind } from './type-parse.js';
import type { PrimitiveType } from './types.js';

/** A plain Avro schema as written into a file header (Avro 1.11 "Schema Declaration"). */
export type AvroSchema = AvroPrimitiveName | AvroUnionSchema | AvroComplexSchema | string;
export type AvroPrimitiveName = 'null' | 'boolean' | 'int' | 'long' | 'float' | 'double' | 'bytes' | 'string';
export type AvroUnionSchema = AvroSchema[];
export type AvroComplexSchema =
  | AvroRecordSchema
  | AvroArraySchema
  | AvroMapSchema
  | AvroFixedSchema
  | AvroAnnotatedSchema;

export interface AvroField {
  name: string;
  type: AvroSchema;
  doc?: string;
  default?: null;
  'field-id'?: number;
}

export interface AvroRecordSchema {
  type: 'record';
  name: string;
  fields: AvroField[];
}

export interface AvroArraySchema {
  type: 'array';
  items: AvroSchema;
  'element-id'?: number;
  logicalType?: 'map';
}

export interface AvroMapSchema {
  type: 'map';
  values: AvroSchema;
  'key-id'?: number;
  'value-id'?: number;
}

export interface AvroFixedSchema {
  type: 'fixed';
  name: string;
  size: number;
  logicalType?: 'decimal' | 'uuid';
  precision?: number;
  scale?: number;
}

/** A primitive carrying a logical type (`date`, `timestamp-micros`, ...). */
export interface AvroAnnotatedSchema {
  type: 'int' | 'long' | 'bytes' | 'string';
  logicalType: string;
  'adjust-to-utc'?: boolean;
  precision?: number;
  scale?: number;
}

/** One field of a manifest's partition struct: partition field id, name and transform result type. */
export interface PartitionFieldType {
  fieldId: number;
  name: string;
  type: PrimitiveType;
}

/** The partition struct type of a spec (spec "Partitioning": result types of the transforms). */
export interface PartitionStructType {
  fields: PartitionFieldType[];
}

/** Spec "Manifest Lists": the v2 `manifest_file` struct, field ids 500-519. */
export function manifestListSchema(): AvroRecordSchema {
  return {
    type: 'record',
    name: 'manifest_file',
    fields: [
      required('manifest_path', 500, 'string', 'Location URI with FS scheme'),
      required('manifest_length', 501, 'long', 'Total file size in bytes'),
      required('partition_spec_id', 502, 'int', 'Spec ID used to write'),
      required('content', 517, 'int', 'Contents of the manifest: 0=data, 1=deletes'),
      required('sequence_number', 515, 'long', 'Sequence number when the manifest was added'),
      required('min_sequence_number', 516, 'long', 'Lowest sequence number in the manifest'),
      required('added_snapshot_id', 503, 'long', 'Snapshot ID that added the manifest'),
      required('added_files_count', 504, 'int', 'Added entry count'),
      required('existing_files_count', 505, 'int', 'Existing entry count'),
      required('deleted_files_count', 506, 'int', 'Deleted entry count'),
      required('added_rows_count', 512, 'long', 'Added rows count'),
      required('existing_rows_count', 513, 'long', 'Existing rows count'),
      required('deleted_rows_count', 514, 'long', 'Deleted rows count'),
      optional(
        'partitions',
        507,
        {
          type: 'array',
          items: {
            type: 'record',
            name: 'r508',
            fields: [
              required('contains_null', 509, 'boolean', 'True if any file has a null partition value'),
              optional('contains_nan', 518, 'boolean', 'True if any file has a nan partition value'),
              optional('lower_bound', 510, 'bytes', 'Partition lower bound for all files'),
              optional('upper_bound', 511, 'bytes', 'Partition upper bound for all files'),
            ],
          },
          'element-id': 508,
        },
        'Summary for each partition',
      ),
      optional('key_metadata', 519, 'bytes', 'Encryption key metadata blob'),
    ],
  };
}

/**
 * Spec "Manifest Entry Fields" and "Data File Fields", v2: `manifest_entry` with the `data_file`
 * struct (record `r2`) whose partition struct (record `r102`) has one field per partition field,
 * keyed by the partition field id. Partition values are optional: every transform may yield null.
 */
export function manifestEntrySchema(partitionType: PartitionStructType): AvroRecordSchema {
  return {
    type: 'record',
    name: 'manifest_entry',
    fields: [
      required('status', 0, 'int'),
      optional('snapshot_id', 1, 'long'),
      optional('sequence_number', 3, 'long'),
      optional('file_sequence_number', 4, 'long'),
      {
        name: 'data_file',
        type: {
          type: 'record',
          name: 'r2',
          fields: [
            required('content', 134, 'int', 'Contents of the file: 0=data, 1=position deletes, 2=equality deletes'),
            required('file_path', 100, 'string', 'Location URI with FS scheme'),
            required('file_format', 101, 'string', 'File format name: avro, orc, or parquet'),
            {
              name: 'partition',
              type: partitionRecordSchema(partitionType),
              doc: 'Partition data tuple, schema based on the partition spec',
              'field-id': 102,
            },
            required('record_count', 103, 'long', 'Number of records in the file'),
            required('file_size_in_bytes', 104, 'long', 'Total file size in bytes'),
            mapField('column_sizes', 108, 117, 118, 'long', 'Map of column id to total size on disk'),
            mapField('value_counts', 109, 119, 120, 'long', 'Map of column id to total count, including null and NaN'),
            mapField('null_value_counts', 110, 121, 122, 'long', 'Map of column id to null value count'),
            mapField('nan_value_counts', 137, 138, 139, 'long', 'Map of column id to number of NaN values in the column'),
            mapField('lower_bounds', 125, 126, 127, 'bytes', 'Map of column id to lower bound'),
            mapField('upper_bounds', 128, 129, 130, 'bytes', 'Map of column id to upper bound'),
            optional('key_metadata', 131, 'bytes', 'Encryption key metadata blob'),
            optional('split_offsets', 132, { type: 'array', items: 'long', 'element-id': 133 }, 'Splittable offsets'),
            optional('equality_ids', 135, { type: 'array', items: 'int', 'element-id': 136 }, 'Equality comparison field IDs'),
            optional('sort_order_id', 140, 'int', 'Sort order ID'),
            optional('referenced_data_file', 143, 'string', 'Fully qualified location of a data file that all deletes reference'),
          ],
        },
        'field-id': 2,
      },
    ],
  };
}

/** The partition struct (`r102`) of a manifest written with `partitionType`. */
export function partitionRecordSchema(partitionType: PartitionStructType): AvroRecordSchema {
  const names = new Set<string>();
  const fields = partitionType.fields.map((field): AvroField => {
    const name = avroName(field.name);
    if (names.has(name)) {
      throw new ValidationError('INVALID_PARTITION', `partition field "${field.name}" (id ${field.fieldId}) has the same Avro name "${name}" as another field`);
    }
    names.add(name);
    return { name, type: ['null', avroPrimitiveSchema(field.type, field.fieldId)], default: null, 'field-id': field.fieldId };
  });
  return { type: 'record', name: 'r102', fields };
}

/**
 * Appendix A "Avro", data type mappings. `fieldId` names the fixed types (Avro named types must be
 * unique in one schema, and two decimal partition fields may share precision and scale).
 */
export function avroPrimitiveSchema(type: PrimitiveType, fieldId: number): AvroSchema {
  const kind = primitiveKind(type);
  switch (kind) {
    case 'boolean':
    case 'int':
    case 'long':
    case 'float':
    case 'double':
    case 'string':
      return kind;
    case 'binary':
      return 'bytes';
    case 'date':
      return { type: 'int', logicalType: 'date' };
    case 'time':
      return { type: 'long', logicalType: 'time-micros' };
    case 'timestamp':
    case 'timestamptz':
      return { type: 'long', logicalType: 'timestamp-micros', 'adjust-to-utc': kind === 'timestamptz' };
    case 'timestamp_ns':
    case 'timestamptz_ns':
      return { type: 'long', logicalType: 'timestamp-nanos', 'adjust-to-utc': kind === 'timestamptz_ns' };
    case 'uuid':
      return { type: 'fixed', name: `uuid_fixed_${fieldId}`, size: 16, logicalType: 'uuid' };
    case 'fixed':
      return { type: 'fixed', name: `fixed_${fieldId}`, size: fixedLength(type) };
    case 'decimal': {
      const { precision, scale } = decimalParams(type);
      return {
        type: 'fixed',
        name: `decimal_${precision}_${scale}_${fieldId}`,
        size: decimalFixedSize(precision),
        logicalType: 'decimal',
        precision,
        scale,
      };
    }
  }
}

/**
 * Appendix A: decimals are stored as fixed "using the minimum number of bytes for the given
 * precision": the smallest n with 2^(8n-1) > 10^P - 1.
 */
export function decimalFixedSize(precision: number): number {
  const largest = 10n ** BigInt(precision) - 1n;
  let size = 1;
  while (1n << BigInt(8 * size - 1) <= largest) size += 1;
  return size;
}

/**
 * Avro names match [A-Za-z_][A-Za-z0-9_]* (Avro spec "Names"). Other characters become `_x` plus
 * their hex code point and a leading digit gets a `_` prefix, the convention the Java reference
 * uses, so partition names stay readable. Readers resolve fields by id, never by this name.
 */
export function avroName(name: string): string {
  let out = '';
  for (const char of name) {
    const code = char.codePointAt(0) ?? 0;
    const valid = /[A-Za-z0-9_]/.test(char);
    if (out === '' && /[0-9]/.test(char)) out += `_${char}`;
    else out += valid ? char : `_x${code.toString(16).toUpperCase()}`;
  }
  return out === '' ? '_' : out;
}

function required(name: string, fieldId: number, type: AvroSchema, doc?: string): AvroField {
  return doc === undefined ? { name, type, 'field-id': fieldId } : { name, type, doc, 'field-id': fieldId };
}

/** Appendix A: optional fields are `["null", T]` unions with an Avro default of null. */
function optional(name: string, fieldId: number, type: AvroSchema, doc?: string): AvroField {
  const field: AvroField = { name, type: ['null', type], default: null, 'field-id': fieldId };
  if (doc !== undefined) field.doc = doc;
  return field;
}

/** Appendix A: maps with int keys are arrays of key/value records with logical type `map`. */
function mapField(name: string, fieldId: number, keyId: number, valueId: number, valueType: 'long' | 'bytes', doc: string): AvroField {
  return optional(
    name,
    fieldId,
    {
      type: 'array',
      items: {
        type: 'record',
        name: `k${keyId}_v${valueId}`,
        fields: [
          { name: 'key', type: 'int', 'field-id': keyId },
          { name: 'value', type: valueType, 'field-id': valueId },
        ],
      },
      logicalType: 'map',
    },
    doc,
  );
}
