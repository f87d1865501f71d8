/**
 * One error base with a stable `code`; subclasses are chosen by how a caller reacts:
 * not found (fix the name), conflict (retry), validation (fix the input), user code,
 * external system (check the service). Messages name the object and the concrete value.
 */
export type ErrorCode =
  | 'CATALOG_NAMESPACE_NOT_FOUND'
  | 'CATALOG_NAMESPACE_EXISTS'
  | 'CATALOG_TABLE_NOT_FOUND'
  | 'CATALOG_TABLE_EXISTS'
  | 'CATALOG_SNAPSHOT_NOT_FOUND'
  | 'CATALOG_REF_NOT_FOUND'
  | 'CATALOG_REF_EXISTS'
  | 'REF_INVALID'
  | 'REF_NOT_A_BRANCH'
  | 'MERGE_CONFLICT'
  | 'COMMIT_CONFLICT'
  | 'COLUMN_NOT_FOUND'
  | 'COLUMN_EXISTS'
  | 'INVALID_IDENTIFIER'
  | 'INVALID_ARGUMENT'
  | 'INVALID_PARTITION'
  | 'INVALID_TYPE'
  | 'INVALID_NAME_MAPPING'
  | 'TYPE_MISMATCH'
  | 'VALUE_NOT_STORABLE'
  | 'SQL_ERROR'
  | 'UNSUPPORTED'
  | 'METADATA_CORRUPT'
  | 'METADATA_UNSUPPORTED_VERSION'
  | 'STORAGE_NOT_FOUND'
  | 'STORAGE_ERROR'
  | 'METADATA_DB_ERROR'
  | 'CONFIG_INVALID'
  | 'INGEST_FILE_INVALID'
  | 'INGEST_BAD_ROWS'
  | 'INGEST_SCHEMA_DRIFT'
  | 'INGEST_ALREADY_INGESTED'
  | 'INGEST_PARSER_FAILED'
  | 'SOURCE_DB_ERROR'
  | 'SOURCE_TABLE_NOT_FOUND'
  | 'SOURCE_HTTP_ERROR'
  | 'SOURCE_NOT_JSON'
  | 'SOURCE_CURSOR_INVALID'
  /** The `rat` process was stopped by Ctrl-C (SIGINT) or SIGTERM. */
  | 'INTERRUPTED';

export class RatError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The named object does not exist: the caller should fix the name. */
export class NotFoundError extends RatError {}

/** Someone else changed the object first: the caller may retry. */
export class ConflictError extends RatError {
  readonly retryable = true;
}

/**
 * A merge found tables changed on both sides since the fork: nothing was merged. Not retryable:
 * someone has to decide which side wins (e.g. drop or rewrite the table on one branch).
 */
export class MergeConflictError extends RatError {
  /** The conflicting tables, `namespace.table`, sorted. */
  readonly tables: readonly string[];
  constructor(message: string, tables: readonly string[]) {
    super('MERGE_CONFLICT', message);
    this.tables = tables;
  }
}

/** The input is wrong: the caller must change it. */
export class ValidationError extends RatError {}

/** A file or service outside the process failed or holds something we cannot use. */
export class ExternalError extends RatError {}

export function isRatError(error: unknown): error is RatError {
  return error instanceof RatError;
}

/** A short, single-line description of any thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message.split('\n')[0] ?? error.message;
  return String(error);
}
