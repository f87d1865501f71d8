export { createIngestion, type IngestReport, type Ingestion } from './ingestion.js';
export type { FileReport } from './ingest-file.js';
export type { BadRowPolicy, CustomParser, IngestMode, IngestOptions, ParsedRow, ParserInput, ParserOutput, SchemaDriftPolicy, SourceFormat } from './ingest-options.js';
export type { RegistryEntry, RegistryStatus } from './file-registry.js';
export type { LandedFile, LandingEntry } from './landing-zone.js';
export type { ReplayReport } from './rejects-replay.js';
export type { IngestProgress } from './progress.js';
export type { ColumnMapping } from './column-names.js';
export { InputFileError, ParserError, type FilePosition } from './input-file-error.js';
