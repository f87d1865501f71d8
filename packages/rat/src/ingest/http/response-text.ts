/**
 * The text of a response body. JSON is UTF-8 (RFC 8259 section 8.1) unless the content-type names
 * another charset (`application/json; charset=iso-8859-1`, which the WHATWG Encoding Standard reads
 * as windows-1252, as browsers do); a UTF-16 byte order mark is honoured too. Bytes that are not
 * valid in that encoding are a problem naming the first bad byte's offset, never replacement
 * characters in the stored rows.
 */
export function decodeBody(bytes: Uint8Array, contentType: string): { text: string } | { problem: string; advice: string } {
  const declared = declaredCharset(contentType);
  const encoding = declared ?? sniffedUtf16(bytes) ?? 'utf-8';
  let decoder: InstanceType<typeof TextDecoder>;
  try {
    decoder = new TextDecoder(encoding, { fatal: true });
  } catch {
    return { problem: `declares charset "${encoding}", which rat cannot decode`, advice: 'rat reads UTF-8 and the WHATWG encodings (iso-8859-1, windows-1252, utf-16le, shift_jis, ...)' };
  }
  try {
    return { text: decoder.decode(bytes) };
  } catch {
    const at = decoder.encoding === 'utf-8' ? invalidUtf8Offset(bytes) : -1;
    const where = at >= 0 ? ` at byte ${at} (0x${bytes[at]!.toString(16).padStart(2, '0')})` : '';
    const rule = declared === undefined ? 'JSON without a charset in its content-type must be UTF-8' : `its content-type declares charset ${declared}`;
    return { problem: `is not valid ${decoder.encoding.toUpperCase()}${where}`, advice: `${rule}: the API sends another encoding than it says; ask its owner to send UTF-8 or to declare the charset it uses` };
  }
}

/** The body as text for a message (an error page's first bytes): bad bytes become U+FFFD. */
export function decodeLeniently(bytes: Uint8Array, response: Response): string {
  try {
    return new TextDecoder(declaredCharset(response.headers.get('content-type') ?? '') ?? 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder().decode(bytes);
  }
}

function declaredCharset(contentType: string): string | undefined {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(contentType);
  return match?.[1]?.toLowerCase();
}

/** UTF-16 when the body starts with its byte order mark (TextDecoder then drops the mark). */
function sniffedUtf16(bytes: Uint8Array): string | undefined {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  return undefined;
}

/**
 * The offset of the first byte that does not start a well-formed UTF-8 sequence (Unicode table
 * 3-7: no overlong forms, no surrogates, nothing beyond U+10FFFF), or -1 when all are well formed.
 */
export function invalidUtf8Offset(bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; ) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i++;
      continue;
    }
    const length = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
    if (length === 0) return i;
    // The second byte's range is narrower after E0, ED, F0 and F4; the others are 80..BF.
    const low = lead === 0xe0 ? 0xa0 : lead === 0xf0 ? 0x90 : 0x80;
    const high = lead === 0xed ? 0x9f : lead === 0xf4 ? 0x8f : 0xbf;
    const second = bytes[i + 1];
    if (second === undefined || second < low || second > high) return i;
    for (let k = 2; k < length; k++) {
      const next = bytes[i + k];
      if (next === undefined || (next & 0xc0) !== 0x80) return i;
    }
    i += length;
  }
  return -1;
}
