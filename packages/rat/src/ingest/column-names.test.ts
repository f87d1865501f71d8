import { describe, expect, it } from 'vitest';
import { mapColumnNames } from './column-names.js';

const options = (rename: Record<string, string> = {}) => ({ rename, safeNames: true, lineage: true });
const names = (sources: string[], rename?: Record<string, string>) => mapColumnNames('f.csv', sources, options(rename), new Set(['select'])).map((m) => m.name);

describe('--rename', () => {
  it('matches the exact source name first, then ignoring case and surrounding spaces', () => {
    expect(names(['Name', 'name'], { name: 'name2' })).toEqual(['name', 'name2']);
    expect(names(['Name', 'name'], { Name: 'n1', name: 'n2' })).toEqual(['n1', 'n2']);
    expect(names(['Order Date', 'id'], { 'order date': 'ordered_on', ' ID ': 'key' })).toEqual(['ordered_on', 'key']);
    // A key spelled as neither column falls back to the one the other key leaves.
    expect(names(['Name', 'name'], { name: 'n2', NAME: 'n1' })).toEqual(['n1', 'n2']);
  });

  it('keeps names that differ only in case as columns of their own, and makes the rename a name clash suggests one that works', () => {
    // Whichever comes first, `name` keeps the name and `Name` gets `name_2`: a later file with the columns the other way round fills the same ones.
    expect(names(['Name', 'name'])).toEqual(['name_2', 'name']);
    expect(names(['name', 'Name'])).toEqual(['name', 'name_2']);
    expect(names(['Name', 'NAME', 'x'])).toEqual(['name_2', 'name', 'x']);
    expect(names(['NAME', 'Name', 'x'])).toEqual(['name', 'name_2', 'x']);
    expect(names(['Name', 'name'], { name: 'other_name' })).toEqual(['name', 'other_name']);
    expect(() => names(['Order Date', 'order_date'])).toThrow('columns 1 ("Order Date") and 2 ("order_date") both become "order_date"; rename one: --rename "order_date=other_name"');
    expect(names(['Order Date', 'order_date'], { order_date: 'other_name' })).toEqual(['order_date', 'other_name']);
  });

  it('keeps letters of scripts other than Latin (so the column is named, not numbered), and drops Latin accents as before', () => {
    expect(names(['Имя клиента (ID)', 'Город', '名前', 'Йогурт', 'مبلغ', 'Café', 'Größe', '2024 продажи'])).toEqual(['имя_клиента_id', 'город', '名前', 'йогурт', 'مبلغ', 'cafe', 'gro_e', '_2024_продажи']);
    expect(names(['Имя', 'Город'])).toEqual(['имя', 'город']);
    expect(names(['Город', 'Имя'])).toEqual(['город', 'имя']);
    expect(names(['!!', '—'])).toEqual(['column_1', 'column_2']);
  });

  it('refuses a key that matches several columns only ignoring case, or none', () => {
    expect(() => names(['Name', 'name'], { NAME: 'x' })).toThrow('--rename names column "NAME", which matches "Name" and "name" only ignoring case; spell it as one of them exactly');
    expect(() => names(['Name'], { nom: 'x' })).toThrow('--rename names column "nom", which the file does not have (columns: Name)');
  });
});
