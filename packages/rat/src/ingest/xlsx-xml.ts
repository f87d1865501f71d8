import { StringDecoder } from 'node:string_decoder';

/**
 * What a scan reports. `name` is the local name (a namespace prefix such as `x:` dropped: some
 * writers, the OpenXML SDK among them, prefix every SpreadsheetML element). The tag, `<` to `>`, is
 * `source.slice(start, end)`, passed as a span so that the millions of tags whose attributes nobody
 * reads are never copied (`attributeIn` reads one in place). Text is reported raw (entities not yet decoded) and only while
 * `wantText` is true, so the whitespace and values a handler does not need are never sliced out.
 */
export interface XmlHandler {
  wantText: boolean;
  open(name: string, source: string, start: number, end: number, selfClosing: boolean): void;
  close(name: string): void;
  text(raw: string): void;
}

/**
 * A streaming scanner for the XML parts of a workbook: enough of XML for SpreadsheetML (elements,
 * attributes, text, CDATA, comments, processing instructions), fed in chunks of any size, split
 * anywhere, even inside a UTF-8 character. It checks that elements nest, since a cut-off or
 * damaged part must fail rather than lose its last rows; it does not validate what XML a
 * workbook never holds (DTDs). Made for speed: a 60 MB sheet is 6 million tags.
 */
export class XmlScanner {
  private readonly decoder = new StringDecoder('utf8');
  private carry = '';
  private readonly open: string[] = [];
  private stopped = false;
  /** Characters of the part consumed before the current chunk, for error positions. */
  private consumed = 0;

  constructor(
    private readonly handler: XmlHandler,
    private readonly part: string,
  ) {}

  /** Stops the scan: later chunks are ignored (the handler has what it needs). */
  stop(): void {
    this.stopped = true;
  }

  write(chunk: Buffer): void {
    if (this.stopped) return;
    this.scan(this.carry + this.decoder.write(chunk));
  }

  /** The same for a part already held as text. */
  writeText(text: string): void {
    if (this.stopped) return;
    this.scan(this.carry + text);
  }

  /** Ends the part: it must not stop inside a tag or an element. */
  end(): void {
    if (this.stopped) return;
    this.scan(this.carry + this.decoder.end());
    if (this.carry.trim() !== '') throw new XmlError(`${this.part} ends inside a tag: ${JSON.stringify(this.carry.slice(0, 40))}`);
    if (this.open.length > 0) throw new XmlError(`${this.part} ends before </${this.open.at(-1)}> (the part is cut off)`);
  }

  private scan(s: string): void {
    const handler = this.handler;
    const open = this.open;
    let i = 0;
    for (;;) {
      const lt = s.indexOf('<', i);
      if (lt < 0) {
        if (handler.wantText && i < s.length) handler.text(s.slice(i));
        i = s.length;
        break;
      }
      if (lt > i && handler.wantText) handler.text(s.slice(i, lt));
      i = lt;
      const next = s.charCodeAt(i + 1);
      if (next === 33 /* ! */) {
        if (s.startsWith('<![CDATA[', i)) {
          const end = s.indexOf(']]>', i + 9);
          if (end < 0) break;
          if (handler.wantText) handler.text(escapeText(s.slice(i + 9, end)));
          i = end + 3;
          continue;
        }
        const comment = s.startsWith('<!--', i);
        const end = s.indexOf(comment ? '-->' : '>', i + 2);
        if (end < 0) break;
        i = end + (comment ? 3 : 1);
        continue;
      }
      if (next === 63 /* ? */) {
        const end = s.indexOf('?>', i + 2);
        if (end < 0) break;
        i = end + 2;
        continue;
      }
      const gt = tagEnd(s, i + 1);
      if (gt < 0) break;
      if (next === 47 /* / */) {
        // Compared in place: the name is the one on the stack, so no close tag is copied out.
        const expected = open.pop();
        const end = nameEnd(s, i + 2, gt);
        const from = end - (expected?.length ?? 0);
        if (expected === undefined || from < i + 2 || !s.startsWith(expected, from) || (from > i + 2 && s.charCodeAt(from - 1) !== 58)) {
          const name = localName(s, i + 2, gt);
          throw new XmlError(`${this.part}: </${name}> at character ${this.consumed + i} closes ${expected === undefined ? 'nothing' : `<${expected}>`}`);
        }
        i = gt + 1;
        handler.close(expected);
      } else {
        const selfClosing = s.charCodeAt(gt - 1) === 47;
        const name = localName(s, i + 1, selfClosing ? gt - 1 : gt);
        if (name === '') throw new XmlError(`${this.part}: a tag without a name at character ${this.consumed + i}`);
        const start = i;
        i = gt + 1;
        if (!selfClosing) open.push(name);
        handler.open(name, s, start, i, selfClosing);
        if (selfClosing) handler.close(name);
      }
      if (this.stopped) return;
    }
    this.consumed += i;
    this.carry = i < s.length ? s.slice(i) : '';
  }
}

/** The `>` that ends the tag, outside quoted attribute values (a number format such as `[>=100]0` may hold one); -1 when the tag is not complete yet. */
function tagEnd(s: string, from: number): number {
  let quote = 0;
  for (let j = from; j < s.length; j++) {
    const c = s.charCodeAt(j);
    if (quote !== 0) {
      if (c === quote) quote = 0;
    } else if (c === 62 /* > */) return j;
    else if (c === 34 || c === 39) quote = c;
  }
  return -1;
}

/** A part's XML is not well formed. */
export class XmlError extends Error {}

/** Where the name starting at `from` ends: at whitespace, `/` or `>`. */
function nameEnd(s: string, from: number, to: number): number {
  let end = from;
  while (end < to) {
    const c = s.charCodeAt(end);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 47) break;
    end++;
  }
  return end;
}

/** The name of the tag starting at `from`, up to whitespace, `/` or `>`, without its namespace prefix. */
function localName(s: string, from: number, to: number): string {
  let end = from;
  let colon = -1;
  while (end < to) {
    const c = s.charCodeAt(end);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 47) break;
    if (c === 58) colon = end;
    end++;
  }
  return s.slice(colon >= 0 ? colon + 1 : from, end);
}

/** CDATA holds text literally; it is handed on like other raw text, so its `&` must not decode. */
function escapeText(text: string): string {
  return text.includes('&') ? text.replaceAll('&', '&amp;') : text;
}

/**
 * One attribute of a tag (`<c r="B2" s="3" t="s">`), by its exact name, decoded; undefined when
 * absent. Matches whole names only (`r` is not found in `spans="1:7"` or `x14ac:r`).
 */
export function attribute(tag: string, name: string): string | undefined {
  return attributeIn(tag, 0, tag.length, name);
}

/** The same for the tag at `source.slice(start, end)`, read in place. */
export function attributeIn(source: string, start: number, end: number, name: string): string | undefined {
  let from = start;
  for (;;) {
    const at = source.indexOf(name, from);
    if (at < 0 || at >= end) return undefined;
    from = at + name.length;
    const before = source.charCodeAt(at - 1);
    if (before !== 32 && before !== 9 && before !== 10 && before !== 13) continue;
    let j = from;
    while (source.charCodeAt(j) === 32) j++;
    if (source.charCodeAt(j) !== 61 /* = */) continue;
    j++;
    while (source.charCodeAt(j) === 32) j++;
    const quote = source[j];
    if (quote !== '"' && quote !== "'") return undefined;
    const close = source.indexOf(quote, j + 1);
    if (close < 0 || close >= end) return undefined;
    const value = source.slice(j + 1, close);
    return value.includes('&') ? decodeText(value) : value;
  }
}

const NAMED: Record<string, string> = { lt: '<', gt: '>', quot: '"', apos: "'", amp: '&' };

/** XML entities and character references, then OOXML's `_xHHHH_` escapes (how Excel writes a control character such as a carriage return). */
export function decodeText(raw: string): string {
  let text = raw;
  if (text.includes('&')) {
    text = text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, e: string) => {
      if (e[0] !== '#') return NAMED[e] ?? whole;
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    });
  }
  if (text.includes('_x')) text = text.replace(/_x([0-9a-fA-F]{4})_/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return text;
}
