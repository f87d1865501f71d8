/** The Ratatouille SDK: the same operations as the `rat` CLI, typed. */
export { openLakehouse } from './engine/lakehouse.js';
export type { Lakehouse, LakehouseOptions, LakehouseTransaction, SnapshotInfo, TableDescription } from './engine/lakehouse.js';
export type { CommandResult, RowsResult, RowStream, StatementResult } from './engine/sql-executor.js';
export type { ScanRecord } from './engine/table-reader.js';
export { parseTableIdent, formatIdent, type TableIdent } from './catalog/identifiers.js';
export type { PathMap } from './catalog/file-io.js';
export type { MergeResult, MergeStrategy } from './catalog/refs.js';
export type { StorageConfig } from './storage/config.js';
export { ConflictError, ExternalError, NotFoundError, RatError, ValidationError, type ErrorCode } from './core/errors.js';
export { createIngestion, InputFileError, ParserError } from './ingest/index.js';
export { ingestDatabase, type DatabaseReadProgress, type DatabaseReport, type DatabaseSourceOptions } from './ingest/index.js';
export type { CustomParser, FileReport, IngestOptions, IngestReport, Ingestion, LandedFile, LandingEntry, ParsedRow, ParserInput, ParserOutput, RegistryEntry, ReplayReport, UploadOptions } from './ingest/index.js';
export { defineApiSource, HttpSourceError, ingestApi, loadApiConfig } from './ingest/index.js';
export type { ApiAuth, ApiEndpointConfig, ApiEndpointReport, ApiIncremental, ApiIngestOptions, ApiIngestReport, ApiPagination, ApiProgress, ApiRetry, ApiSourceConfig, IngestApiOptions } from './ingest/index.js';
export { maintain } from './maintenance/index.js';
export type { BranchTableReport, CompactionOptions, MaintainOptions, MaintainReport } from './maintenance/index.js';
