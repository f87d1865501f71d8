import { describe, expect, it } from 'vitest';
import { obviousDelimiter } from './csv-reader.js';

describe('obviousDelimiter', () => {
  it.each([
    ['a comma file', 'id,name,amount\n1,x,2.5\n2,y,3\n', ','],
    ['a tab file whose text holds commas', 'id\tnote\n1\thello, world\n2\tno comma\n', '\t'],
    ['a semicolon file with decimal commas', 'id;amount\n1;2,5\n2;3,75\n', ';'],
    ['a pipe file ending inside a line', 'a|b|c\n1|2|3\n4|5|6\n7|8', '|'],
    ['CRLF line ends', 'a,b\r\n1,2\r\n3,4\r\n', ','],
  ])('finds the delimiter of %s', (_, sample, expected) => {
    expect(obviousDelimiter(sample)).toBe(expected);
  });

  it.each([
    ['quoted fields', 'id,name\n1,"a, b"\n2,c\n'],
    ['an apostrophe', "id,name\n1,O'Brien\n"],
    ['a ragged line', 'a,b,c\n1,2\n3,4,5\n'],
    ['two candidates that both fit', 'a,b;c\n1,2;3\n4,5;6\n'],
    ['one column', 'value\n1\n2\n'],
    ['a header alone', 'a,b,c\n'],
    ['no complete line', 'a,b,c'],
  ])('leaves %s to the sniffer', (_, sample) => {
    expect(obviousDelimiter(sample)).toBeUndefined();
  });
});
