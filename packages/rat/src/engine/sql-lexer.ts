/**
 * A small SQL tokenizer: enough to split statements, find `namespace.table` references and the
 * clauses the platform handles itself (PARTITIONED BY, targets of DML), while string literals,
 * quoted identifiers and comments stay opaque.
 */
export type TokenKind = 'word' | 'quoted' | 'string' | 'number' | 'symbol';

export interface Token {
  kind: TokenKind;
  /** Identifier text: lower-cased for bare words, unescaped for quoted identifiers. */
  value: string;
  start: number;
  end: number;
}

export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
    } else if (c === '/' && sql[i + 1] === '*') {
      const close = sql.indexOf('*/', i + 2);
      i = close === -1 ? sql.length : close + 2;
    } else if (c === "'" || ((c === 'e' || c === 'E') && sql[i + 1] === "'")) {
      const start = i;
      i = c === "'" ? i + 1 : i + 2;
      let value = '';
      while (i < sql.length) {
        if (sql[i] === "'" && sql[i + 1] === "'") {
          value += "'";
          i += 2;
        } else if (sql[i] === "'") {
          i++;
          break;
        } else value += sql[i++];
      }
      tokens.push({ kind: 'string', value, start, end: i });
    } else if (c === '"') {
      const start = i++;
      let value = '';
      while (i < sql.length) {
        if (sql[i] === '"' && sql[i + 1] === '"') {
          value += '"';
          i += 2;
        } else if (sql[i] === '"') {
          i++;
          break;
        } else value += sql[i++];
      }
      tokens.push({ kind: 'quoted', value, start, end: i });
    } else if (c === '$' && /[A-Za-z_$]/.test(sql[i + 1] ?? '')) {
      // dollar-quoted string: $tag$ ... $tag$
      const tagEnd = sql.indexOf('$', i + 1);
      const tag = sql.slice(i, tagEnd + 1);
      const close = sql.indexOf(tag, tagEnd + 1);
      const end = close === -1 ? sql.length : close + tag.length;
      tokens.push({ kind: 'string', value: sql.slice(tagEnd + 1, close === -1 ? sql.length : close), start: i, end });
      i = end;
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      const start = i;
      while (i < sql.length && /[A-Za-z0-9_$\u0080-\uffff]/.test(sql[i]!)) i++;
      tokens.push({ kind: 'word', value: sql.slice(start, i).toLowerCase(), start, end: i });
    } else if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(sql[i + 1] ?? ''))) {
      const start = i;
      while (i < sql.length && /[0-9._eE]/.test(sql[i]!)) i++;
      tokens.push({ kind: 'number', value: sql.slice(start, i), start, end: i });
    } else {
      const two = sql.slice(i, i + 2);
      const width = ['::', '<=', '>=', '<>', '!=', '=>', '->', '||'].includes(two) ? 2 : 1;
      tokens.push({ kind: 'symbol', value: sql.slice(i, i + width), start: i, end: i + width });
      i += width;
    }
  }
  return tokens;
}

/** Splits a script into statements at top-level semicolons (not inside strings, identifiers or comments). */
export function splitStatements(sql: string): string[] {
  const statements: string[] = [];
  let from = 0;
  for (const token of tokenize(sql)) {
    if (token.kind === 'symbol' && token.value === ';') {
      const text = sql.slice(from, token.start).trim();
      if (text) statements.push(text);
      from = token.end;
    }
  }
  const rest = sql.slice(from).trim();
  if (rest && tokenize(rest).length > 0) statements.push(rest);
  return statements;
}

export function isWord(token: Token | undefined, ...words: string[]): boolean {
  return token !== undefined && token.kind === 'word' && words.includes(token.value);
}

export function isSymbol(token: Token | undefined, symbol: string): boolean {
  return token !== undefined && token.kind === 'symbol' && token.value === symbol;
}

export function isIdentifier(token: Token | undefined): boolean {
  return token !== undefined && (token.kind === 'word' || token.kind === 'quoted');
}

/** Index of the token closing the parenthesis opened at `open`. */
export function matchParen(tokens: Token[], open: number): number {
  let depth = 0;
  for (let i = open; i < tokens.length; i++) {
    if (isSymbol(tokens[i], '(')) depth++;
    else if (isSymbol(tokens[i], ')')) {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

export interface TableReference {
  namespace: string;
  table: string;
  /** Token index of the namespace part. */
  index: number;
  start: number;
  end: number;
}

/** The first part of every dotted name (`x` of `x.y`, not of `db.x.y`), lowercased: the names that could be namespaces. */
export function qualifiers(tokens: Token[]): Set<string> {
  const found = new Set<string>();
  for (let i = 0; i + 2 < tokens.length; i++) {
    if (!isIdentifier(tokens[i]) || !isSymbol(tokens[i + 1], '.') || !isIdentifier(tokens[i + 2])) continue;
    if (i > 0 && isSymbol(tokens[i - 1], '.')) continue;
    found.add(tokens[i]!.value.toLowerCase());
  }
  return found;
}

/**
 * Every `ns.table` where `ns` is a catalog namespace (case-insensitive); `ns.table.column` counts too.
 * A name preceded by a dot (`db.ns.table`) belongs to another catalog and is skipped.
 */
export function findTableReferences(tokens: Token[], namespaces: ReadonlySet<string>): TableReference[] {
  const refs: TableReference[] = [];
  for (let i = 0; i + 2 < tokens.length; i++) {
    const ns = tokens[i]!;
    if (!isIdentifier(ns) || !isSymbol(tokens[i + 1], '.') || !isIdentifier(tokens[i + 2])) continue;
    if (i > 0 && isSymbol(tokens[i - 1], '.')) continue;
    const namespace = ns.value.toLowerCase();
    if (!namespaces.has(namespace)) continue;
    refs.push({ namespace, table: tokens[i + 2]!.value.toLowerCase(), index: i, start: ns.start, end: tokens[i + 2]!.end });
  }
  return refs;
}
