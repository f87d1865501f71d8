import { NotFoundError, ValidationError } from '../core/errors.js';
import { type TableIdent, validateName } from '../catalog/identifiers.js';
import { isIdentifier, isSymbol, isWord, matchParen, type Token, tokenize } from './sql-lexer.js';

/** What the platform must do for one SQL statement; anything not about catalog tables is `query`. */
export type Statement =
  | { kind: 'createNamespace'; name: string; ifNotExists: boolean }
  | { kind: 'dropNamespace'; name: string; ifExists: boolean }
  | { kind: 'createTable'; ident: TableIdent; ifNotExists: boolean; orReplace: boolean; columnsSql?: string; partitionBy: string[]; asQuery?: string }
  | { kind: 'insert'; ident: TableIdent; columns?: string[]; byName: boolean; overwrite: boolean; query: string }
  | { kind: 'dml'; ident: TableIdent; verb: 'update' | 'delete' | 'merge' }
  | { kind: 'alter'; ident: TableIdent; action: AlterAction }
  | { kind: 'dropTable'; ident: TableIdent; ifExists: boolean }
  | { kind: 'transaction'; action: TransactionAction }
  | { kind: 'query' };

/** BEGIN [TRANSACTION] / START TRANSACTION, COMMIT / END, ROLLBACK / ABORT (each optionally followed by TRANSACTION or WORK). */
export type TransactionAction = 'begin' | 'commit' | 'rollback';

export type AlterAction =
  | { kind: 'addColumn'; name: string; typeSql: string; ifNotExists: boolean; notNull: boolean }
  | { kind: 'renameColumn'; from: string; to: string }
  | { kind: 'dropColumn'; name: string; ifExists: boolean }
  | { kind: 'alterType'; name: string; typeSql: string }
  | { kind: 'dropNotNull'; name: string }
  | { kind: 'moveColumn'; name: string; position: 'first' | { after: string } }
  | { kind: 'setProperties'; properties: Record<string, string> }
  | { kind: 'unsetProperties'; keys: string[]; ifExists: boolean };

/**
 * Classifies a statement by its leading keywords. `namespaces` are the catalog's namespaces:
 * only `ns.table` names in them are catalog tables; other names stay DuckDB's.
 */
export function parseStatement(sql: string, namespaces: ReadonlySet<string>): Statement {
  const tokens = tokenize(sql);
  const parser = new Parser(sql, tokens, namespaces);
  return parser.statement();
}

/** The transaction control a statement is, if any: decided from its keywords alone, before anything runs. */
export function transactionControl(sql: string): TransactionAction | undefined {
  return new Parser(sql, tokenize(sql), new Set()).transaction();
}

class Parser {
  private i = 0;
  constructor(
    private readonly sql: string,
    private readonly tokens: Token[],
    private readonly namespaces: ReadonlySet<string>,
  ) {}

  statement(): Statement {
    const t = this.tokens;
    const action = this.transaction();
    if (action) return { kind: 'transaction', action };
    if (this.word('create')) {
      const orReplace = this.words('or', 'replace');
      if (this.word('schema')) {
        const ifNotExists = this.words('if', 'not', 'exists');
        return { kind: 'createNamespace', name: this.name('namespace'), ifNotExists };
      }
      if (this.word('table')) {
        const ifNotExists = this.words('if', 'not', 'exists');
        const ident = this.catalogIdent();
        if (!ident) return { kind: 'query' };
        let columnsSql: string | undefined;
        if (isSymbol(t[this.i], '(')) columnsSql = this.parenthesized();
        const partitionBy = this.partitionBy();
        let asQuery: string | undefined;
        if (this.word('as')) asQuery = this.rest();
        if (!columnsSql && !asQuery) throw this.error(`CREATE TABLE ${ident.namespace}.${ident.name} needs a column list or AS SELECT ...`);
        if (this.i < t.length) throw this.error(`unexpected "${this.sql.slice(t[this.i]!.start, t[this.i]!.end)}" in CREATE TABLE`);
        return { kind: 'createTable', ident, ifNotExists, orReplace, ...(columnsSql ? { columnsSql } : {}), partitionBy, ...(asQuery ? { asQuery } : {}) };
      }
      return { kind: 'query' };
    }
    if (this.word('drop')) {
      if (this.word('schema')) {
        const ifExists = this.words('if', 'exists');
        return { kind: 'dropNamespace', name: this.name('namespace'), ifExists };
      }
      if (this.word('table')) {
        const ifExists = this.words('if', 'exists');
        const ident = this.catalogIdent();
        return ident ? { kind: 'dropTable', ident, ifExists } : { kind: 'query' };
      }
      return { kind: 'query' };
    }
    if (this.word('insert')) {
      const overwrite = this.word('overwrite');
      if (!overwrite && !this.word('into')) return { kind: 'query' };
      this.word('table');
      const ident = this.catalogIdent();
      if (!ident) return { kind: 'query' };
      const byName = this.words('by', 'name');
      let columns: string[] | undefined;
      if (isSymbol(t[this.i], '(') && !this.startsQuery(this.i + 1)) {
        const close = matchParen(t, this.i);
        columns = [];
        for (let k = this.i + 1; k < close; k++) {
          if (isIdentifier(t[k])) columns.push(t[k]!.value.toLowerCase());
          else if (!isSymbol(t[k], ',')) throw this.error(`unexpected "${t[k]!.value}" in the column list of INSERT INTO ${ident.namespace}.${ident.name}`);
        }
        this.i = close + 1;
      }
      return { kind: 'insert', ident, ...(columns ? { columns } : {}), byName, overwrite, query: this.rest() };
    }
    if (this.word('update')) {
      const ident = this.catalogIdent();
      return ident ? { kind: 'dml', ident, verb: 'update' } : { kind: 'query' };
    }
    if (this.word('delete')) {
      if (!this.word('from')) return { kind: 'query' };
      const ident = this.catalogIdent();
      return ident ? { kind: 'dml', ident, verb: 'delete' } : { kind: 'query' };
    }
    if (this.word('merge')) {
      if (!this.word('into')) return { kind: 'query' };
      const ident = this.catalogIdent();
      return ident ? { kind: 'dml', ident, verb: 'merge' } : { kind: 'query' };
    }
    if (this.word('alter')) {
      if (!this.word('table')) return { kind: 'query' };
      const ident = this.catalogIdent();
      if (!ident) return { kind: 'query' };
      return { kind: 'alter', ident, action: this.alterAction(ident) };
    }
    return { kind: 'query' };
  }

  transaction(): TransactionAction | undefined {
    const t = this.tokens;
    let action: TransactionAction | undefined;
    let at = 1;
    if (isWord(t[0], 'begin')) action = 'begin';
    else if (isWord(t[0], 'start') && isWord(t[1], 'transaction')) [action, at] = ['begin', 2];
    else if (isWord(t[0], 'commit', 'end')) action = 'commit';
    else if (isWord(t[0], 'rollback', 'abort')) action = 'rollback';
    if (!action) return undefined;
    if (at === 1 && isWord(t[1], 'transaction', 'work')) at = 2;
    if (at < t.length) {
      const extra = this.sql.slice(t[at]!.start, t[at]!.end);
      throw this.error(`unexpected "${extra}" after ${this.sql.slice(t[0]!.start, t[at - 1]!.end).toUpperCase()}; write BEGIN, COMMIT or ROLLBACK alone (isolation levels and savepoints are not supported)`);
    }
    return action;
  }

  private alterAction(ident: TableIdent): AlterAction {
    const table = `${ident.namespace}.${ident.name}`;
    if (this.word('add')) {
      this.word('column');
      const ifNotExists = this.words('if', 'not', 'exists');
      const name = this.name('column');
      let text = this.rest();
      let notNull = false;
      const nn = /\s+not\s+null\s*$/i.exec(text);
      if (nn) {
        notNull = true;
        text = text.slice(0, nn.index);
      }
      if (!text) throw this.error(`ALTER TABLE ${table} ADD COLUMN ${name} needs a type`);
      return { kind: 'addColumn', name, typeSql: text, ifNotExists, notNull };
    }
    if (this.word('rename')) {
      this.word('column');
      const from = this.name('column');
      if (!this.word('to')) throw this.error(`expected TO in ALTER TABLE ${table} RENAME COLUMN ${from} TO <name>`);
      return { kind: 'renameColumn', from, to: this.name('column') };
    }
    if (this.word('drop')) {
      this.word('column');
      const ifExists = this.words('if', 'exists');
      return { kind: 'dropColumn', name: this.name('column'), ifExists };
    }
    if (this.word('alter')) {
      this.word('column');
      const name = this.name('column');
      if (this.word('first')) return { kind: 'moveColumn', name, position: 'first' };
      if (this.word('after')) return { kind: 'moveColumn', name, position: { after: this.name('column') } };
      if (this.words('drop', 'not', 'null')) return { kind: 'dropNotNull', name };
      this.words('set', 'data');
      this.word('set');
      if (this.word('type')) return { kind: 'alterType', name, typeSql: this.rest() };
    }
    if (this.words('set', 'tblproperties')) return { kind: 'setProperties', properties: Object.fromEntries(this.propertyList(table, true)) };
    if (this.words('unset', 'tblproperties')) {
      const ifExists = this.words('if', 'exists');
      return { kind: 'unsetProperties', keys: this.propertyList(table, false).map(([key]) => key), ifExists };
    }
    throw this.error(
      `unsupported ALTER TABLE ${table} action; use ADD COLUMN, RENAME COLUMN a TO b, DROP COLUMN, ALTER COLUMN c TYPE t, ALTER COLUMN c DROP NOT NULL, ALTER COLUMN c FIRST | AFTER other, SET TBLPROPERTIES ('key' = 'value', ...), UNSET TBLPROPERTIES [IF EXISTS] ('key', ...)`,
    );
  }

  /** `('key' = 'value', ...)` (or `('key', ...)` without values): keys are strings, values strings or numbers. */
  private propertyList(table: string, withValues: boolean): [string, string][] {
    const clause = `ALTER TABLE ${table} ${withValues ? 'SET' : 'UNSET'} TBLPROPERTIES`;
    const expected = withValues ? `('key' = 'value', ...)` : `('key', ...)`;
    const t = this.tokens;
    if (!isSymbol(t[this.i], '(')) throw this.error(`expected ${expected} after ${clause}`);
    this.i++;
    const entries: [string, string][] = [];
    for (;;) {
      const key = t[this.i];
      if (key?.kind !== 'string' || key.value === '') throw this.error(`${clause} takes ${expected}: a key is a non-empty string in single quotes${key ? `, not "${this.sql.slice(key.start, key.end)}"` : ''}`);
      this.i++;
      let value = '';
      if (withValues) {
        if (!isSymbol(t[this.i], '=')) throw this.error(`expected = after '${key.value}' in ${clause}`);
        const given = t[this.i + 1];
        if (given?.kind !== 'string' && given?.kind !== 'number') throw this.error(`${clause}: the value of '${key.value}' is a string in single quotes or a number`);
        value = given.value;
        this.i += 2;
      }
      entries.push([key.value, value]);
      if (isSymbol(t[this.i], ',')) {
        this.i++;
        continue;
      }
      if (!isSymbol(t[this.i], ')')) throw this.error(`expected , or ) in ${clause}`);
      this.i++;
      break;
    }
    if (this.i < t.length && !isSymbol(t[this.i], ';')) throw this.error(`unexpected "${this.sql.slice(t[this.i]!.start, t[this.i]!.end)}" after ${clause} (...)`);
    return entries;
  }

  /** PARTITIONED BY (expr, ...): each item as text. */
  private partitionBy(): string[] {
    if (!(isWord(this.tokens[this.i], 'partitioned') && isWord(this.tokens[this.i + 1], 'by'))) return [];
    this.i += 2;
    const open = this.i;
    if (!isSymbol(this.tokens[open], '(')) throw this.error('expected ( after PARTITIONED BY');
    const close = matchParen(this.tokens, open);
    if (close < 0) throw this.error('unclosed ( in PARTITIONED BY');
    const items: string[] = [];
    let depth = 0;
    let from = this.tokens[open]!.end;
    for (let k = open + 1; k < close; k++) {
      const token = this.tokens[k]!;
      if (isSymbol(token, '(')) depth++;
      else if (isSymbol(token, ')')) depth--;
      else if (depth === 0 && isSymbol(token, ',')) {
        items.push(this.sql.slice(from, token.start).trim());
        from = token.end;
      }
    }
    items.push(this.sql.slice(from, this.tokens[close]!.start).trim());
    this.i = close + 1;
    return items.filter((item) => item.length > 0);
  }

  private startsQuery(index: number): boolean {
    return isWord(this.tokens[index], 'select', 'with', 'values', 'from');
  }

  private parenthesized(): string {
    const close = matchParen(this.tokens, this.i);
    if (close < 0) throw this.error('unclosed (');
    const text = this.sql.slice(this.tokens[this.i]!.end, this.tokens[close]!.start);
    this.i = close + 1;
    return text;
  }

  private rest(): string {
    const token = this.tokens[this.i];
    this.i = this.tokens.length;
    return token ? this.sql.slice(token.start).trim() : '';
  }

  private word(word: string): boolean {
    if (isWord(this.tokens[this.i], word)) {
      this.i++;
      return true;
    }
    return false;
  }

  private words(...words: string[]): boolean {
    if (words.every((w, k) => isWord(this.tokens[this.i + k], w))) {
      this.i += words.length;
      return true;
    }
    return false;
  }

  private name(kind: string): string {
    const token = this.tokens[this.i];
    if (!isIdentifier(token)) throw this.error(`expected a ${kind} name${token ? ` at "${token.value}"` : ''}`);
    this.i++;
    return token!.kind === 'word' ? token!.value : token!.value;
  }

  /** `ns.table` when ns is a catalog namespace, else undefined (left to DuckDB); unknown `x.y` is an error. */
  private catalogIdent(): TableIdent | undefined {
    const [a, dot, b, after] = [this.tokens[this.i], this.tokens[this.i + 1], this.tokens[this.i + 2], this.tokens[this.i + 3]];
    if (isIdentifier(a) && dot?.kind === 'number' && dot.value.startsWith('.') && dot.start === a!.end && this.namespaces.has(a!.value.toLowerCase())) {
      // `bronze.1abc` lexes as bronze, .1, abc: name the table as written rather than leave DuckDB to report ".1".
      const end = b?.kind === 'word' && b.start === dot.end ? b.end : dot.end;
      validateName('table', this.sql.slice(dot.start + 1, end));
    }
    if (!isIdentifier(a) || !isSymbol(dot, '.') || !isIdentifier(b) || isSymbol(after, '.')) return undefined;
    const namespace = a!.value.toLowerCase();
    if (!this.namespaces.has(namespace)) {
      if (namespace === 'main' || namespace === 'temp' || namespace === 'memory') return undefined;
      throw new NotFoundError('CATALOG_NAMESPACE_NOT_FOUND', `namespace "${a!.value}" does not exist; create it with: CREATE SCHEMA ${a!.value}`);
    }
    this.i += 3;
    return { namespace, name: b!.value.toLowerCase() };
  }

  private error(message: string): ValidationError {
    return new ValidationError('SQL_ERROR', message);
  }
}
