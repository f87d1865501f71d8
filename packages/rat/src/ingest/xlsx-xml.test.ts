import { describe, expect, it } from 'vitest';
import { attribute, decodeText, XmlError, type XmlHandler, XmlScanner } from './xlsx-xml.js';

/** Every event of a scan as text, with text only inside elements named in `textIn`. */
function events(xml: Buffer, split: (length: number) => number[], textIn = new Set(['t', 'v'])): string[] {
  const out: string[] = [];
  const handler: XmlHandler = {
    wantText: false,
    open(name, source, start, end, selfClosing) {
      const tag = source.slice(start, end);
      out.push(`open ${name}${selfClosing ? '/' : ''} ${tag}`);
      if (textIn.has(name) && !selfClosing) handler.wantText = true;
    },
    close(name) {
      out.push(`close ${name}`);
      handler.wantText = false;
    },
    text(raw) {
      if (out.at(-1)?.startsWith('text ')) out[out.length - 1] += raw;
      else out.push(`text ${raw}`);
    },
  };
  const scanner = new XmlScanner(handler, 'test.xml');
  let from = 0;
  for (const at of [...split(xml.length), xml.length]) {
    scanner.write(xml.subarray(from, at));
    from = at;
  }
  scanner.end();
  return out;
}

const whole = () => [];
const everyByte = (length: number) => Array.from({ length: length - 1 }, (_, i) => i + 1);

describe('XmlScanner', () => {
  const xml = Buffer.from(
    '<?xml version="1.0" encoding="UTF-8"?>\n<!-- a comment with <c> inside -->' +
      '<x:sheet xmlns:x="urn:x"><x:row r="1"><x:c r="A1" t="s" note="a>b"><x:v>12</x:v></x:c>' +
      '<c r="B1" t="inlineStr"><is><t>caf\u00e9 &amp; \u6f22\u5b57 \u{1F600}</t><t><![CDATA[<raw> &amp;]]></t></is></c><c r="C1"/></x:row></x:sheet>',
  );

  it('reports elements without their prefix, whole tags, and text only where asked', () => {
    expect(events(xml, whole)).toEqual([
      'open sheet <x:sheet xmlns:x="urn:x">',
      'open row <x:row r="1">',
      'open c <x:c r="A1" t="s" note="a>b">',
      'open v <x:v>',
      'text 12',
      'close v',
      'close c',
      'open c <c r="B1" t="inlineStr">',
      'open is <is>',
      'open t <t>',
      'text caf\u00e9 &amp; \u6f22\u5b57 \u{1F600}',
      'close t',
      'open t <t>',
      'text <raw> &amp;amp;',
      'close t',
      'close is',
      'close c',
      'open c/ <c r="C1"/>',
      'close c',
      'close row',
      'close sheet',
    ]);
  });

  it('gives the same events whatever the chunks, even one byte at a time (split UTF-8 characters, tags, comments, CDATA)', () => {
    const expected = events(xml, whole);
    expect(events(xml, everyByte)).toEqual(expected);
    for (let seed = 1; seed <= 20; seed++) {
      const cuts = new Set<number>();
      for (let n = 0; n < 8; n++) cuts.add(1 + ((seed * 7919 * (n + 3)) % (xml.length - 1)));
      expect(events(xml, () => [...cuts].sort((a, b) => a - b))).toEqual(expected);
    }
  });

  it('fails on XML that is cut off or does not nest, naming the part', () => {
    expect(() => events(Buffer.from('<sheet><row r="1"><c><v>1</v></c></row>'), whole)).toThrow(new XmlError('test.xml ends before </sheet> (the part is cut off)'));
    expect(() => events(Buffer.from('<sheet><row r="1"><c><v>1</v></c></ro'), whole)).toThrow(/test\.xml ends inside a tag: "<\/ro"/);
    expect(() => events(Buffer.from('<sheet><row><c></row></sheet>'), whole)).toThrow(/test\.xml: <\/row> at character 15 closes <c>/);
    expect(() => events(Buffer.from('<sheet></sheet></sheet>'), whole)).toThrow(/closes nothing/);
    expect(() => events(Buffer.from('<sheet>< x/></sheet>'), whole)).toThrow(/a tag without a name at character 7/);
  });

  it('stops when the handler has what it needs: nothing after that is read or checked', () => {
    const seen: string[] = [];
    const scanner: XmlScanner = new XmlScanner(
      {
        wantText: false,
        open: (name) => {
          seen.push(name);
          if (name === 'stop') scanner.stop();
        },
        close: () => undefined,
        text: () => undefined,
      },
      'test.xml',
    );
    scanner.write(Buffer.from('<a><b/><stop/><c/><broken'));
    scanner.write(Buffer.from('</nothing>'));
    scanner.end();
    expect(seen).toEqual(['a', 'b', 'stop']);
  });
});

describe('attribute', () => {
  it('finds whole attribute names only, in either quotes, decoded', () => {
    const tag = '<c spans="1:7" x14ac:r="9" r = \'B12\' t="s" note="a &amp; b &#x41;">';
    expect(attribute(tag, 'r')).toBe('B12');
    expect(attribute(tag, 't')).toBe('s');
    expect(attribute(tag, 'note')).toBe('a & b A');
    expect(attribute(tag, 's')).toBeUndefined();
    expect(attribute('<row>', 'r')).toBeUndefined();
  });
});

describe('decodeText', () => {
  it("decodes XML's entities and OOXML's _xHHHH_ escapes, and leaves unknown entities as they are", () => {
    expect(decodeText('a &lt;b&gt; &quot;c&quot; &apos;d&apos; &amp;amp; &#10;&#x1F600; &nbsp;')).toBe('a <b> "c" \'d\' &amp; \n\u{1F600} &nbsp;');
    expect(decodeText('line one_x000D_\nline two')).toBe('line one\r\nline two');
    // Excel writes a literal "_x0041_" with its underscore escaped.
    expect(decodeText('_x005F_x0041_')).toBe('_x0041_');
    expect(decodeText('plain text')).toBe('plain text');
  });
});
