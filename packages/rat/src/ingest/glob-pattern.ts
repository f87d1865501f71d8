/** Whether a path spec holds glob characters (`*`, `?`, `[`, `{`). */
export function hasGlob(spec: string): boolean {
  return /[*?[{]/.test(spec);
}

/** The part of a glob before its first glob character, cut at the last `/`: where to start listing. */
export function globBase(spec: string): string {
  const first = spec.search(/[*?[{]/);
  if (first < 0) return spec;
  const slash = spec.lastIndexOf('/', first);
  return slash < 0 ? '' : spec.slice(0, slash + 1);
}

/** A glob as a RegExp over '/'-separated paths: `*` and `?` stay within a segment, `**` crosses them, `{a,b}` alternates. */
export function globToRegExp(glob: string): RegExp {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        const slash = glob[i + 2] === '/';
        out += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else out += '[^/]*';
    } else if (ch === '?') out += '[^/]';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) out += '\\[';
      else {
        out += `[${glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (ch === '{') {
      const end = glob.indexOf('}', i + 1);
      if (end < 0) out += '\\{';
      else {
        out += `(?:${glob.slice(i + 1, end).split(',').map(escape).join('|')})`;
        i = end;
      }
    } else out += escape(ch);
  }
  return new RegExp(`^${out}$`);
}

function escape(text: string): string {
  return text.replace(/[.+^$()|\\\]}[{*?]/g, '\\$&');
}
