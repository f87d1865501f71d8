/**
 * How many terminal columns text takes, for aligning table output: East Asian wide and fullwidth
 * characters and emoji take 2 (Unicode UAX #11, https://www.unicode.org/reports/tr11/), combining
 * marks and other zero-width characters 0, everything else 1. Counted per grapheme (what a terminal
 * draws as one character), so `e` plus a combining accent is 1 and a flag or ZWJ emoji sequence is 2.
 */
const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

// Code point ranges of East_Asian_Width W and F (UAX #11), outside the emoji that the regex below covers.
const WIDE_RANGES: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f], // Hangul Jamo initial consonants
  [0x2329, 0x232a],
  [0x2e80, 0x303e], // CJK radicals, Kangxi, ideographic description, CJK symbols and punctuation
  [0x3041, 0x33ff], // Hiragana, Katakana, Bopomofo, Hangul compatibility Jamo, Kanbun, CJK compatibility
  [0x3400, 0x4dbf], // CJK extension A
  [0x4e00, 0x9fff], // CJK unified ideographs
  [0xa000, 0xa4cf], // Yi
  [0xa960, 0xa97f], // Hangul Jamo extended A
  [0xac00, 0xd7a3], // Hangul syllables
  [0xf900, 0xfaff], // CJK compatibility ideographs
  [0xfe10, 0xfe19], // vertical forms
  [0xfe30, 0xfe6f], // CJK compatibility forms, small form variants
  [0xff00, 0xff60], // fullwidth forms
  [0xffe0, 0xffe6],
  [0x16fe0, 0x16fe4],
  [0x17000, 0x18cff], // Tangut, Khitan
  [0x1aff0, 0x1b2ff], // Kana supplement and extensions, Nushu
  [0x1f200, 0x1f2ff], // enclosed ideographic supplement
  [0x20000, 0x2fffd], // CJK extensions B-F, compatibility supplement
  [0x30000, 0x3fffd], // CJK extensions G, H
];

const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}\p{Cc}]+$/u;
const EMOJI_PRESENTATION = /\p{Emoji_Presentation}|\uFE0F/u;

/** Printable ASCII, the common case: one column per character. */
const PLAIN = /^[\x20-\x7e]*$/;

export function displayWidth(text: string): number {
  if (PLAIN.test(text)) return text.length;
  let width = 0;
  for (const { segment } of graphemes.segment(text)) width += graphemeWidth(segment);
  return width;
}

/** The longest start of `text` that fits in `width` columns (a wide character that would straddle the end is left out). */
export function sliceToWidth(text: string, width: number): string {
  // Segmenting costs microseconds a character: a long result of plain text must not pay it.
  if (PLAIN.test(text)) return text.slice(0, Math.max(0, width));
  let used = 0;
  let end = 0;
  for (const { segment, index } of graphemes.segment(text)) {
    const next = used + graphemeWidth(segment);
    if (next > width) break;
    used = next;
    end = index + segment.length;
  }
  return text.slice(0, end);
}

function graphemeWidth(grapheme: string): number {
  if (ZERO_WIDTH.test(grapheme)) return 0;
  if (EMOJI_PRESENTATION.test(grapheme)) return 2;
  const first = grapheme.codePointAt(0) ?? 0;
  return WIDE_RANGES.some(([low, high]) => first >= low && first <= high) ? 2 : 1;
}
