import { ExternalError, isRatError, NotFoundError, type RatError } from '../core/errors.js';

/** Where a failed S3 request went: enough to tell a wrong bucket from a wrong endpoint. */
export interface S3Target {
  bucket: string;
  /** The endpoint as configured, or a description of the AWS default one. */
  endpoint: string;
}

interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  errors?: unknown[];
  $metadata?: { httpStatusCode?: number };
}

/** The SDK's error name, e.g. `NoSuchKey`, `NoSuchBucket`, `NotFound` (HEAD has no body to name it). */
export function sdkErrorName(error: unknown): string | undefined {
  return (error as SdkErrorShape | undefined)?.name;
}

export function sdkHttpStatus(error: unknown): number | undefined {
  return (error as SdkErrorShape | undefined)?.$metadata?.httpStatusCode;
}

export function bucketMissingError(target: S3Target, operation: string, objectKey: string, cause?: unknown): ExternalError {
  return new ExternalError(
    'STORAGE_ERROR',
    `S3 ${operation} of s3://${target.bucket}/${objectKey} at ${target.endpoint} failed: bucket "${target.bucket}" does not exist. ` +
      `Check RAT_S3_BUCKET (and RAT_S3_ENDPOINT: another server has other buckets), or create the bucket`,
    { cause },
  );
}

/**
 * The one place SDK errors become RatErrors. A missing key is NotFound; a missing bucket is an
 * ExternalError (the configuration is wrong, and callers must not read it as "no such object").
 */
export function mapS3Error(error: unknown, operation: string, target: S3Target, objectKey: string): RatError {
  if (isRatError(error)) return error;
  const name = sdkErrorName(error);
  if (name === 'NoSuchBucket') return bucketMissingError(target, operation, objectKey, error);
  // `NotFound` is the SDK's name for a 404 without an error body.
  if (name === 'NoSuchKey' || name === 'NotFound') {
    return new NotFoundError('STORAGE_NOT_FOUND', `Object s3://${target.bucket}/${objectKey} not found at ${target.endpoint}`, {
      cause: error,
    });
  }
  const failed = `S3 ${operation} of s3://${target.bucket}/${objectKey} at ${target.endpoint} failed`;
  // The SDK's name for its connection and inactivity timeouts: the server is down, hung or unreachable.
  if (name === 'TimeoutError') {
    return new ExternalError(
      'STORAGE_ERROR',
      `${failed}: no answer (${timeoutReason(error)}). ` +
        `Check that the S3 server at ${target.endpoint} is up and answering; on a slow link, raise RAT_S3_TIMEOUT (seconds)`,
      { cause: error },
    );
  }
  const advice = adviceFor(error, target);
  return new ExternalError('STORAGE_ERROR', `${failed}: ${describeSdkError(error)}${advice === undefined ? '' : `. ${advice}`}`, { cause: error });
}

/** Network errors of a server that is not there: a wrong address, or one that is down. */
const UNREACHABLE_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET']);
/** The server's names for credentials it does not know or a secret that does not match. */
const BAD_CREDENTIALS = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'InvalidToken', 'ExpiredToken']);
const CREDENTIAL_VARIABLES = 'RAT_S3_ACCESS_KEY_ID and RAT_S3_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or an AWS profile)';

/** What to change when the configuration, not the request, is wrong: which setting to check. */
function adviceFor(error: unknown, target: S3Target): string | undefined {
  const name = sdkErrorName(error);
  if (name === 'CredentialsProviderError') return `No S3 credentials were found: set ${CREDENTIAL_VARIABLES}`;
  if (name !== undefined && BAD_CREDENTIALS.has(name)) return `The S3 server refused the credentials: check ${CREDENTIAL_VARIABLES}`;
  if (name === 'AccessDenied') return `Check that the credentials (${CREDENTIAL_VARIABLES}) may use bucket "${target.bucket}"`;
  const shape = error as SdkErrorShape | undefined;
  const code = shape?.code ?? (shape?.errors?.[0] as SdkErrorShape | undefined)?.code;
  if (code !== undefined && UNREACHABLE_CODES.has(code)) return `Check that the S3 server at ${target.endpoint} is up and that RAT_S3_ENDPOINT is its address`;
  return undefined;
}

/** The SDK's timeout message without its package name and its note on where the limit was set. */
function timeoutReason(error: unknown): string {
  return describeSdkError(error)
    .replace(/^TimeoutError: (@smithy\/node-http-handler - )?/, '')
    .replace(/\s*\([^()]*\)\.?$|\.$/, '');
}

const BODILESS_STATUS: Record<number, string> = {
  301: 'the bucket is in another region',
  400: 'bad request',
  403: 'access denied (check the credentials and the bucket policy)',
};

/** One line that says what went wrong, also for network errors whose message can be empty. */
export function describeSdkError(error: unknown): string {
  if (typeof error !== 'object' || error === null) return String(error);
  const shape = error as SdkErrorShape;
  // Node's happy-eyeballs connect throws an AggregateError with an empty message.
  const inner = shape.errors?.[0];
  const status = shape.$metadata?.httpStatusCode;
  // HEAD responses carry no error body, so the SDK can only say "Unknown"/"UnknownError" plus the status.
  if (shape.message === 'UnknownError' && status !== undefined) return `${BODILESS_STATUS[status] ?? 'request failed'} (HTTP ${status})`;
  const base = shape.message || (inner !== undefined ? describeSdkError(inner) : '') || shape.code || shape.name || 'unknown error';
  const parts = [
    shape.name && shape.name !== 'Error' && !base.startsWith(shape.name) ? `${shape.name}: ` : '',
    base.split('\n')[0] ?? base,
    status !== undefined ? ` (HTTP ${status})` : '',
  ];
  return parts.join('');
}
