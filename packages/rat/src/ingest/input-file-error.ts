import { type ErrorCode, ValidationError } from '../core/errors.js';

/**
 * Where in a source file a problem is: any of line (1-based), record (1-based, a non-file source's
 * record in its run, as an API returned them), row (1-based, of a custom parser's output), byte
 * offset, column (name or 1-based position).
 */
export interface FilePosition {
  line?: number;
  record?: number;
  row?: number;
  byte?: number;
  column?: string | number;
}

/**
 * A source file that cannot be ingested as it is. The message names the file and, where known, the
 * position, so `rat ingest` output and the registry's error column say exactly what to fix.
 */
export class InputFileError extends ValidationError {
  readonly file: string;
  readonly position: FilePosition;
  constructor(code: ErrorCode, file: string, position: FilePosition, problem: string, options?: { cause?: unknown }) {
    super(code, `${file}${describePosition(position)}: ${problem}`, options);
    this.file = file;
    this.position = position;
  }
}

/**
 * User code (a custom parser) threw or returned something unusable. Its one boundary wraps the
 * original error (kept as `cause`) with the file and the row the parser was producing.
 */
export class ParserError extends InputFileError {
  constructor(file: string, position: FilePosition, problem: string, options?: { cause?: unknown }) {
    super('INGEST_PARSER_FAILED', file, position, problem, options);
  }
}

export function describePosition(position: FilePosition): string {
  const parts: string[] = [];
  if (position.line !== undefined) parts.push(`line ${position.line}`);
  if (position.record !== undefined) parts.push(`record ${position.record} of the run`);
  if (position.row !== undefined) parts.push(`row ${position.row}`);
  if (position.byte !== undefined) parts.push(`byte ${position.byte}`);
  if (position.column !== undefined) parts.push(typeof position.column === 'number' ? `column ${position.column}` : `column "${position.column}"`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}
