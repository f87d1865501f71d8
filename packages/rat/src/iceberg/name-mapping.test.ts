import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mappedFieldById, NAME_MAPPING_PROPERTY, nameMappingOf, nameMappingToJson, updateNameMapping } from './name-mapping.js';
import type { Schema, StructField } from './types.js';

const COLUMN_MAPPING = fileURLToPath(
  new URL('../../../../../shared/reference/iceberg/tables/column_mapping/warehouse/default.db/my_table/metadata/00001-75643dae-a7a7-46ae-ab30-ea80d3793f3f.metadata.json', import.meta.url),
);

function parse(value: string) {
  return nameMappingOf({ [NAME_MAPPING_PROPERTY]: value }, 'ns.t');
}

describe('schema.name-mapping.default (spec Appendix C)', () => {
  it('parses the spec example: aliases, nested fields', () => {
    const mapping = parse(`[ { "field-id": 1, "names": ["id", "record_id"] },
       { "field-id": 2, "names": ["data"] },
       { "field-id": 3, "names": ["location"], "fields": [
           { "field-id": 4, "names": ["latitude", "lat"] },
           { "field-id": 5, "names": ["longitude", "long"] }
         ] } ]`)!;
    expect(mapping).toEqual([
      { names: ['id', 'record_id'], fieldId: 1, fields: [] },
      { names: ['data'], fieldId: 2, fields: [] },
      {
        names: ['location'],
        fieldId: 3,
        fields: [
          { names: ['latitude', 'lat'], fieldId: 4, fields: [] },
          { names: ['longitude', 'long'], fieldId: 5, fields: [] },
        ],
      },
    ]);
    expect(mappedFieldById(mapping[2]!.fields, 5)?.names).toEqual(['longitude', 'long']);
  });

  it('parses the mapping PyIceberg wrote for column_mapping (map key/value, list element, struct)', async () => {
    const metadata = JSON.parse(await readFile(COLUMN_MAPPING, 'utf8')) as { properties: Record<string, string> };
    const mapping = nameMappingOf(metadata.properties, 'default.my_table')!;
    expect(mapping.map((f) => [f.names[0], f.fieldId])).toEqual([
      ['id', 1],
      ['name', 2],
      ['age', 3],
      ['attributes', 4],
      ['scores', 5],
      ['profile', 6],
    ]);
    expect(mapping[3]!.fields.map((f) => [f.names[0], f.fieldId])).toEqual([
      ['key', 7],
      ['value', 8],
    ]);
  });

  it('no property: no mapping; a field without field-id, empty names and null fields are allowed', () => {
    expect(nameMappingOf({}, 'ns.t')).toBeUndefined();
    expect(parse('[{"names": ["extra"]}, {"names": [], "field-id": 2, "fields": null}]')).toEqual([
      { names: ['extra'], fields: [] },
      { names: [], fieldId: 2, fields: [] },
    ]);
  });

  it('a name may repeat at another nesting level', () => {
    expect(parse('[{"names": ["a"], "field-id": 1, "fields": [{"names": ["a"], "field-id": 2}]}]')).toEqual([{ names: ['a'], fieldId: 1, fields: [{ names: ['a'], fieldId: 2, fields: [] }] }]);
  });

  it.each([
    ['{oops', /not JSON/],
    ['{"names": ["a"]}', /\$ must be a list of field mappings, found \{"names":\["a"\]\}/],
    ['[1]', /\$\[0\] must be an object with "names", found 1/],
    ['[{"field-id": 1}]', /\$\[0\]\.names must be a list of strings, found undefined/],
    ['[{"names": [1], "field-id": 1}]', /\$\[0\]\.names must be a list of strings, found \[1\]/],
    ['[{"names": ["a"], "field-id": 1.5}]', /\$\[0\]\.field-id must be an integer, found 1\.5/],
    ['[{"names": ["a"], "field-id": 1, "fields": [{"names": ["b"], "field-id": "2"}]}]', /\$\[0\]\.fields\[0\]\.field-id must be an integer, found "2"/],
    ['[{"names": ["a"], "field-id": 1}, {"names": ["a", "b"], "field-id": 2}]', /the name "a" is under both \$\[0\] and \$\[1\]/],
    ['[{"names": ["s"], "field-id": 1, "fields": [{"names": ["x"], "field-id": 2}, {"names": ["x"], "field-id": 3}]}]', /the name "x" is under both \$\[0\]\.fields\[0\] and \$\[0\]\.fields\[1\]/],
    ['[{"names": ["a"], "field-id": 1}, {"names": ["x"], "field-id": 1}, {"names": ["b"], "field-id": 2}]', /field-id 1 is given to both \$\[0\] and \$\[1\]/],
    ['[{"names": ["s"], "field-id": 1, "fields": [{"names": ["x"], "field-id": 1}]}]', /field-id 1 is given to both \$\[0\] and \$\[0\]\.fields\[0\]/],
  ])('refuses %s naming the table, the property and the path', (value, detail) => {
    expect(() => parse(value)).toThrow(expect.objectContaining({ code: 'INVALID_NAME_MAPPING', message: expect.stringMatching(/^table ns\.t: property schema\.name-mapping\.default is not a valid name mapping/) }));
    expect(() => parse(value)).toThrow(detail);
  });

  describe('kept in step with schema changes (as Java and PyIceberg update it)', () => {
    const schema = (...fields: StructField[]): Schema => ({ type: 'struct', schemaId: 0, fields });
    const field = (id: number, name: string, type: StructField['type'] = 'long'): StructField => ({ id, name, required: false, type });
    const start = parse('[{"field-id": 1, "names": ["id", "record_id"]}, {"field-id": 2, "names": ["name"]}, {"names": ["extra"]}]')!;
    const v0 = schema(field(1, 'id'), field(2, 'name', 'string'));

    it('a renamed field gains its new name and keeps the old ones', () => {
      const mapping = updateNameMapping(start, v0, schema(field(1, 'id'), field(2, 'full_name', 'string')));
      expect(nameMappingToJson(mapping)).toBe('[{"names":["id","record_id"],"field-id":1},{"names":["name","full_name"],"field-id":2},{"names":["extra"]}]');
    });

    it('an added field gets an entry, children included (list element, map key and value, struct fields)', () => {
      const added = field(3, 'tags', { type: 'map', keyId: 4, key: 'string', valueId: 5, valueRequired: false, value: { type: 'list', elementId: 6, elementRequired: false, element: { type: 'struct', fields: [field(7, 'w', 'double')] } } });
      const mapping = updateNameMapping(start, v0, schema(...v0.fields, added));
      expect(mapping.at(-1)).toEqual({
        names: ['tags'],
        fieldId: 3,
        fields: [
          { names: ['key'], fieldId: 4, fields: [] },
          { names: ['value'], fieldId: 5, fields: [{ names: ['element'], fieldId: 6, fields: [{ names: ['w'], fieldId: 7, fields: [] }] }] },
        ],
      });
    });

    it('a name taken by another field moves to it; an entry left without names goes', () => {
      // name -> label, then a new column takes "name", another takes "extra".
      const v1 = schema(field(1, 'id'), field(2, 'label', 'string'));
      const step1 = updateNameMapping(start, v0, v1);
      const step2 = updateNameMapping(step1, v1, schema(...v1.fields, field(3, 'name', 'string'), field(4, 'extra', 'string')));
      expect(nameMappingToJson(step2)).toBe('[{"names":["id","record_id"],"field-id":1},{"names":["label"],"field-id":2},{"names":["name"],"field-id":3},{"names":["extra"],"field-id":4}]');
    });

    it('a field added inside a struct gets an entry under the struct', () => {
      const before = schema(field(1, 'point', { type: 'struct', fields: [field(2, 'x', 'double')] }));
      const after = schema(field(1, 'point', { type: 'struct', fields: [field(2, 'x', 'double'), field(3, 'y', 'double')] }));
      const mapping = updateNameMapping(parse('[{"field-id": 1, "names": ["point"], "fields": [{"field-id": 2, "names": ["x", "lon"]}]}]')!, before, after);
      expect(nameMappingToJson(mapping)).toBe('[{"names":["point"],"field-id":1,"fields":[{"names":["x","lon"],"field-id":2},{"names":["y"],"field-id":3}]}]');
    });
  });
});
