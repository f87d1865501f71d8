import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { mappedFieldById, NAME_MAPPING_PROPERTY, nameMappingOf } from './name-mapping.js';

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

  it.each([
    ['{oops', /not JSON/],
    ['{"names": ["a"]}', /\$ must be a list of field mappings, found \{"names":\["a"\]\}/],
    ['[1]', /\$\[0\] must be an object with "names", found 1/],
    ['[{"field-id": 1}]', /\$\[0\]\.names must be a list of strings, found undefined/],
    ['[{"names": [1], "field-id": 1}]', /\$\[0\]\.names must be a list of strings, found \[1\]/],
    ['[{"names": ["a"], "field-id": 1.5}]', /\$\[0\]\.field-id must be an integer, found 1\.5/],
    ['[{"names": ["a"], "field-id": 1, "fields": [{"names": ["b"], "field-id": "2"}]}]', /\$\[0\]\.fields\[0\]\.field-id must be an integer, found "2"/],
  ])('refuses %s naming the table, the property and the path', (value, detail) => {
    expect(() => parse(value)).toThrow(expect.objectContaining({ code: 'INVALID_NAME_MAPPING', message: expect.stringMatching(/^table ns\.t: property schema\.name-mapping\.default is not a valid name mapping/) }));
    expect(() => parse(value)).toThrow(detail);
  });
});
