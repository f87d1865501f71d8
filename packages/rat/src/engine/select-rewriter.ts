import { parseJsonBigint, stringifyJsonBigint } from '../core/json.js';
import type { CompareOp } from '../iceberg/predicate.js';
import { type DuckDb, quoteIdent, quoteString } from './duckdb.js';
import { isIdentifier, isSymbol, isWord, matchParen, type Token, tokenize } from './sql-lexer.js';

/** A literal from the SQL text, before it is given the type of the column it is compared with. */
export type SqlLiteral =
  | { kind: 'int'; value: bigint }
  | { kind: 'decimal'; unscaled: bigint; scale: number }
  | { kind: 'double'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'bool'; value: boolean }
  | { kind: 'date'; text: string }
  | { kind: 'timestamp'; text: string };

export type ColumnFilter =
  | { kind: 'compare'; column: string; op: CompareOp; literal: SqlLiteral }
  | { kind: 'in'; column: string; literals: SqlLiteral[] }
  | { kind: 'isNull' | 'notNull'; column: string };

export interface TableRead {
  namespace: string;
  table: string;
  /** Filters from the WHERE clause of the SELECT that reads the table (a conjunction). */
  filters: ColumnFilter[];
  /** `AT (VERSION => ...)` / `AT (TIMESTAMP => ...)`, evaluated. */
  at?: { kind: 'version'; value: bigint | string } | { kind: 'timestamp'; epochMs: number };
}

/** What `rewriteSelect` reads in place of a catalog table reference. */
export interface ResolvedRead {
  /** DuckDB SQL reading the planned scan; spliced into the statement text as a subquery. */
  sql: string;
  /** A relation over the same SQL, used only when the statement text cannot be edited in place. */
  view(): Promise<{ schema: string; table: string }>;
}

/**
 * Uses DuckDB's own parser (json_serialize_sql) to find catalog tables in a SELECT, the filters that
 * apply to each, and time travel clauses; `resolve` returns the planned scan to read instead, or
 * undefined to leave the reference alone. Each replaced `ns.table [AT (...)]` is swapped in the SQL
 * text for `(<scan sql>) [AS table]` at the position DuckDB reports for it (the user's alias stays);
 * when a position is missing or does not point at `ns.table` exactly, the AST itself is rewritten to
 * read `resolved.view()` and turned back into SQL (json_deserialize_sql). Returns the rewritten SQL,
 * or undefined when the statement is not a plain SELECT DuckDB can serialize.
 */
export async function rewriteSelect(
  db: DuckDb,
  sql: string,
  namespaces: ReadonlySet<string>,
  resolve: (read: TableRead) => Promise<ResolvedRead | undefined>,
): Promise<string | undefined> {
  const [row] = await db.rows<{ j: string }>(`SELECT json_serialize_sql(${quoteString(sql)}) AS j`);
  const ast = parseJsonBigint(row!.j) as AstNode;
  if (ast.error) return undefined;
  const selects: AstNode[] = [];
  collectSelectNodes(ast, selects);
  const replacements: { ref: AstNode; target: ResolvedRead }[] = [];
  for (const select of selects) {
    const refs: AstNode[] = [];
    const outer = collectBaseTables(select.from_table as AstNode | undefined, refs);
    const catalogRefs = refs.filter((r) => r.catalog_name === '' && namespaces.has(String(r.schema_name).toLowerCase()));
    if (catalogRefs.length === 0) continue;
    const conjuncts: AstNode[] = [];
    flattenAnd(select.where_clause as AstNode | undefined, conjuncts);
    for (const ref of catalogRefs) {
      const namespace = String(ref.schema_name).toLowerCase();
      const table = String(ref.table_name).toLowerCase();
      const names = new Set([String(ref.alias || ref.table_name).toLowerCase()]);
      const filters: ColumnFilter[] = [];
      for (const conjunct of conjuncts) {
        for (const filter of toFilters(conjunct, (columnNames) => bindColumn(columnNames, names, namespace, table, catalogRefs.length === 1 && refs.length === 1))) {
          // IS NULL keeps rows an outer join produced without a match: pruning on it would change results.
          if (!(outer && filter.kind === 'isNull')) filters.push(filter);
        }
      }
      const at = ref.at_clause ? await evaluateAt(db, ref.at_clause as AstNode) : undefined;
      const target = await resolve({ namespace, table, filters, ...(at ? { at } : {}) });
      if (target) replacements.push({ ref, target });
    }
  }
  if (replacements.length === 0) return sql;
  const spliced = spliceScans(sql, replacements);
  if (spliced !== undefined) return spliced;
  for (const { ref, target } of replacements) {
    const view = await target.view();
    if (!ref.alias) ref.alias = ref.table_name;
    ref.schema_name = view.schema;
    ref.table_name = view.table;
    ref.at_clause = null;
  }
  const [out] = await db.rows<{ s: string }>(`SELECT json_deserialize_sql(${quoteString(stringifyJsonBigint(ast))}) AS s`);
  return out!.s;
}

interface TextEdit {
  start: number;
  end: number;
  text: string;
}

/**
 * Replaces each reference's `ns.table` tokens by `(<scan sql>)` (plus `AS table` when the user gave no
 * alias) and removes its `AT (...)` clause; undefined unless every reference is found exactly where
 * DuckDB's parser located it (`query_location`, a UTF-8 byte offset of the namespace token).
 */
function spliceScans(sql: string, replacements: { ref: AstNode; target: ResolvedRead }[]): string | undefined {
  const tokens = tokenize(sql);
  const tokenAtByte = new Map<number, number>();
  // eslint-disable-next-line no-control-regex
  const ascii = /^[\x00-\x7f]*$/.test(sql);
  let bytes = 0;
  let chars = 0;
  tokens.forEach((token, index) => {
    if (!ascii) {
      bytes += Buffer.byteLength(sql.slice(chars, token.start));
      chars = token.start;
    }
    tokenAtByte.set(ascii ? token.start : bytes, index);
  });
  const edits: TextEdit[] = [];
  for (const { ref, target } of replacements) {
    const found = referenceEdits(tokens, tokenAtByte, ref, target.sql);
    if (!found) return undefined;
    edits.push(...found);
  }
  edits.sort((a, b) => a.start - b.start);
  for (let i = 1; i < edits.length; i++) if (edits[i]!.start < edits[i - 1]!.end) return undefined;
  let out = sql;
  for (const edit of edits.reverse()) out = out.slice(0, edit.start) + edit.text + out.slice(edit.end);
  return out;
}

function referenceEdits(tokens: Token[], tokenAtByte: Map<number, number>, ref: AstNode, scan: string): TextEdit[] | undefined {
  const location = ref.query_location;
  if (typeof location !== 'number' && typeof location !== 'bigint') return undefined;
  const i = tokenAtByte.get(Number(location));
  if (i === undefined || (i > 0 && isSymbol(tokens[i - 1], '.'))) return undefined;
  const [ns, dot, name] = [tokens[i], tokens[i + 1], tokens[i + 2]];
  const same = (token: Token | undefined, value: unknown) => isIdentifier(token) && token!.value.toLowerCase() === String(value).toLowerCase();
  if (!same(ns, ref.schema_name) || !isSymbol(dot, '.') || !same(name, ref.table_name)) return undefined;
  const alias = String(ref.alias ?? '');
  const edits: TextEdit[] = [{ start: ns!.start, end: name!.end, text: alias ? `(${scan})` : `(${scan}) AS ${quoteIdent(String(ref.table_name))}` }];
  if (!ref.at_clause) return edits;
  // `ns.table [[AS] alias [(columns)]] AT (...)`: find the AT clause to remove it.
  let j = i + 3;
  if (alias) {
    if (isWord(tokens[j], 'as')) j++;
    if (!same(tokens[j], alias)) return undefined;
    j++;
    if (isSymbol(tokens[j], '(')) {
      const close = matchParen(tokens, j);
      if (close < 0) return undefined;
      j = close + 1;
    }
  }
  if (!isWord(tokens[j], 'at') || !isSymbol(tokens[j + 1], '(')) return undefined;
  const close = matchParen(tokens, j + 1);
  if (close < 0) return undefined;
  edits.push({ start: tokens[j]!.start, end: tokens[close]!.end, text: '' });
  return edits;
}

// The serialized AST is loosely typed; only the fields read below matter.
type AstNode = Record<string, unknown> & { [key: string]: unknown };

function collectSelectNodes(node: unknown, out: AstNode[]): void {
  if (Array.isArray(node)) {
    for (const item of node) collectSelectNodes(item, out);
    return;
  }
  if (node === null || typeof node !== 'object') return;
  const record = node as AstNode;
  if (record.type === 'SELECT_NODE') out.push(record);
  for (const value of Object.values(record)) collectSelectNodes(value, out);
}

/** Base tables of a FROM tree; returns true when an outer join is involved. */
function collectBaseTables(node: AstNode | undefined, out: AstNode[]): boolean {
  if (!node) return false;
  if (node.type === 'BASE_TABLE') {
    out.push(node);
    return false;
  }
  if (node.type === 'JOIN') {
    const joinType = String(node.join_type ?? 'INNER');
    const left = collectBaseTables(node.left as AstNode, out);
    const right = collectBaseTables(node.right as AstNode, out);
    return left || right || !['INNER', 'CROSS'].includes(joinType) || node.ref_type === 'ASOF';
  }
  return false;
}

function flattenAnd(node: AstNode | undefined, out: AstNode[]): void {
  if (!node) return;
  if (node.type === 'CONJUNCTION_AND') {
    for (const child of node.children as AstNode[]) flattenAnd(child, out);
  } else out.push(node);
}

function bindColumn(columnNames: string[], names: Set<string>, namespace: string, table: string, onlyTable: boolean): string | undefined {
  const parts = columnNames.map((p) => p.toLowerCase());
  if (parts.length === 1) return onlyTable ? parts[0] : undefined;
  if (parts.length === 2) return names.has(parts[0]!) ? parts[1] : undefined;
  if (parts.length === 3) return parts[0] === namespace && parts[1] === table ? parts[2] : undefined;
  return undefined;
}

const COMPARISONS: Record<string, CompareOp> = {
  COMPARE_EQUAL: 'eq',
  COMPARE_NOTEQUAL: 'neq',
  COMPARE_LESSTHAN: 'lt',
  COMPARE_LESSTHANOREQUALTO: 'lte',
  COMPARE_GREATERTHAN: 'gt',
  COMPARE_GREATERTHANOREQUALTO: 'gte',
};
const FLIPPED: Record<CompareOp, CompareOp> = { eq: 'eq', neq: 'neq', lt: 'gt', lte: 'gte', gt: 'lt', gte: 'lte' };

function toFilters(node: AstNode, bind: (columnNames: string[]) => string | undefined): ColumnFilter[] {
  if (node.type === 'COMPARE_BETWEEN') {
    const column = (node.input as AstNode)?.class === 'COLUMN_REF' ? bind((node.input as AstNode).column_names as string[]) : undefined;
    const lower = toLiteral(node.lower);
    const upper = toLiteral(node.upper);
    const filters: ColumnFilter[] = [];
    if (column && lower) filters.push({ kind: 'compare', column, op: 'gte', literal: lower });
    if (column && upper) filters.push({ kind: 'compare', column, op: 'lte', literal: upper });
    return filters;
  }
  const filter = toFilter(node, bind);
  return filter ? [filter] : [];
}

function toFilter(node: AstNode, bind: (columnNames: string[]) => string | undefined): ColumnFilter | undefined {
  const columnOf = (n: unknown): string | undefined => {
    const c = n as AstNode | undefined;
    return c?.class === 'COLUMN_REF' ? bind(c.column_names as string[]) : undefined;
  };
  const type = String(node.type);
  if (type in COMPARISONS) {
    const op = COMPARISONS[type]!;
    const leftColumn = columnOf(node.left);
    const rightColumn = columnOf(node.right);
    if (leftColumn) {
      const literal = toLiteral(node.right);
      return literal ? { kind: 'compare', column: leftColumn, op, literal } : undefined;
    }
    if (rightColumn) {
      const literal = toLiteral(node.left);
      return literal ? { kind: 'compare', column: rightColumn, op: FLIPPED[op], literal } : undefined;
    }
    return undefined;
  }
  if (type === 'COMPARE_IN') {
    const [first, ...rest] = node.children as AstNode[];
    const column = columnOf(first);
    const literals = rest.map(toLiteral);
    if (!column || literals.some((l) => l === undefined)) return undefined;
    return { kind: 'in', column, literals: literals as SqlLiteral[] };
  }
  if (type === 'OPERATOR_IS_NULL' || type === 'OPERATOR_IS_NOT_NULL') {
    const column = columnOf((node.children as AstNode[])[0]);
    return column ? { kind: type === 'OPERATOR_IS_NULL' ? 'isNull' : 'notNull', column } : undefined;
  }
  return undefined;
}

function toLiteral(node: unknown): SqlLiteral | undefined {
  const n = node as AstNode | undefined;
  if (!n) return undefined;
  if (n.class === 'CONSTANT') return constantLiteral(n.value as AstNode);
  if (n.class === 'CAST' && !n.try_cast) {
    const child = n.child as AstNode;
    const target = String((n.cast_type as AstNode).id);
    if (child.class !== 'CONSTANT') return undefined;
    const inner = constantLiteral(child.value as AstNode);
    if (!inner) return undefined;
    if (inner.kind === 'string' && target === 'DATE') return { kind: 'date', text: inner.value };
    if (inner.kind === 'string' && (target === 'TIMESTAMP' || target === 'TIMESTAMP WITH TIME ZONE' || target === 'TIMESTAMP_TZ')) {
      return { kind: 'timestamp', text: inner.value };
    }
    if (target === 'VARCHAR' && inner.kind === 'string') return inner;
    if (target === 'BOOLEAN' && inner.kind === 'string') {
      const text = inner.value.toLowerCase();
      if (['t', 'true'].includes(text)) return { kind: 'bool', value: true };
      if (['f', 'false'].includes(text)) return { kind: 'bool', value: false };
    }
    return undefined;
  }
  return undefined;
}

function constantLiteral(value: AstNode): SqlLiteral | undefined {
  if (!value || value.is_null) return undefined;
  const type = value.type as AstNode;
  const id = String(type.id);
  const raw = value.value;
  switch (id) {
    case 'TINYINT':
    case 'SMALLINT':
    case 'INTEGER':
    case 'BIGINT':
    case 'UTINYINT':
    case 'USMALLINT':
    case 'UINTEGER':
    case 'UBIGINT':
      return { kind: 'int', value: BigInt(raw as number | bigint) };
    case 'HUGEINT': {
      const { upper, lower } = raw as { upper: number | bigint; lower: number | bigint };
      return { kind: 'int', value: (BigInt(upper) << 64n) + BigInt(lower) };
    }
    case 'DECIMAL': {
      const info = type.type_info as AstNode;
      return { kind: 'decimal', unscaled: BigInt(raw as number | bigint), scale: Number(info.scale) };
    }
    case 'FLOAT':
    case 'DOUBLE':
      return { kind: 'double', value: Number(raw) };
    case 'VARCHAR':
      return { kind: 'string', value: String(raw) };
    case 'BOOLEAN':
      return { kind: 'bool', value: Boolean(raw) };
    default:
      return undefined;
  }
}

async function evaluateAt(db: DuckDb, at: AstNode): Promise<TableRead['at']> {
  const unit = String(at.unit).toUpperCase();
  const expr = at.expr as AstNode;
  if (unit === 'VERSION') {
    const literal = toLiteral(expr);
    if (literal?.kind === 'int') return { kind: 'version', value: literal.value };
    if (literal?.kind === 'string') return { kind: 'version', value: literal.value };
  }
  // Any other expression (TIMESTAMP '...', now() - INTERVAL 1 DAY): let DuckDB evaluate it.
  const [template] = await db.rows<{ j: string }>(`SELECT json_serialize_sql('SELECT 1') AS j`);
  const ast = parseJsonBigint(template!.j) as AstNode;
  const statement = (ast.statements as AstNode[])[0]!;
  (statement.node as AstNode).select_list = [expr];
  const [text] = await db.rows<{ s: string }>(`SELECT json_deserialize_sql(${quoteString(stringifyJsonBigint(ast))}) AS s`);
  const expression = text!.s.replace(/^SELECT\s+/i, '');
  if (unit === 'VERSION') {
    const [value] = await db.rows<{ v: unknown }>(`SELECT (${expression}) AS v`);
    return { kind: 'version', value: typeof value!.v === 'string' ? value!.v : BigInt(value!.v as number) };
  }
  const [value] = await db.rows<{ v: bigint | number }>(`SELECT epoch_ms(CAST((${expression}) AS TIMESTAMPTZ)) AS v`);
  return { kind: 'timestamp', epochMs: Number(value!.v) };
}
