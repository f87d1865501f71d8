import { describe, expect, it } from 'vitest';

import { ExternalError, NotFoundError, ValidationError } from '../core/errors.js';
import { describeSdkError, mapS3Error } from './s3-errors.js';

const target = { bucket: 'lake', endpoint: 'http://minio:9000' };

function sdkError(name: string, message: string, status?: number): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

describe('mapS3Error', () => {
  it('maps NoSuchKey and bodiless 404 NotFound to NotFoundError naming the object', () => {
    for (const error of [sdkError('NoSuchKey', 'The specified key does not exist.', 404), sdkError('NotFound', 'NotFound', 404)]) {
      const mapped = mapS3Error(error, 'GetObject', target, 'p/a.json');
      expect(mapped).toBeInstanceOf(NotFoundError);
      expect(mapped.code).toBe('STORAGE_NOT_FOUND');
      expect(mapped.message).toBe('Object s3://lake/p/a.json not found at http://minio:9000');
      expect(mapped.cause).toBe(error);
    }
  });

  it('maps NoSuchBucket to ExternalError naming the bucket, not to NotFound', () => {
    const mapped = mapS3Error(sdkError('NoSuchBucket', 'The specified bucket does not exist', 404), 'PutObject', target, 'p/a.json');
    expect(mapped).toBeInstanceOf(ExternalError);
    expect(mapped.code).toBe('STORAGE_ERROR');
    expect(mapped.message).toBe(
      'S3 PutObject of s3://lake/p/a.json at http://minio:9000 failed: bucket "lake" does not exist. Check RAT_S3_BUCKET (and RAT_S3_ENDPOINT: another server has other buckets), or create the bucket',
    );
  });

  it('names operation, object, endpoint and the service error for anything else', () => {
    const mapped = mapS3Error(sdkError('SlowDown', 'Please reduce your request rate.\nMore text', 503), 'PutObject', target, 'p/a.json');
    expect(mapped).toBeInstanceOf(ExternalError);
    expect(mapped.message).toBe('S3 PutObject of s3://lake/p/a.json at http://minio:9000 failed: SlowDown: Please reduce your request rate. (HTTP 503)');
  });

  it('says what to do when the SDK gave up waiting for the server', () => {
    const timeout = sdkError('TimeoutError', '@smithy/node-http-handler - the request socket timed out after 30000 ms of inactivity (configured by client requestHandler).');
    expect(mapS3Error(timeout, 'GetObject', target, 'p/a.json').message).toBe(
      'S3 GetObject of s3://lake/p/a.json at http://minio:9000 failed: no answer (the request socket timed out after 30000 ms of inactivity). ' +
        'Check that the S3 server at http://minio:9000 is up and answering; on a slow link, raise RAT_S3_TIMEOUT (seconds)',
    );
  });

  it('passes a RatError through unchanged', () => {
    const original = new ValidationError('INVALID_ARGUMENT', 'bad key');
    expect(mapS3Error(original, 'GetObject', target, 'k')).toBe(original);
  });
});

describe('describeSdkError', () => {
  it('describes an AggregateError with an empty message by its first inner error', () => {
    const inner = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9000'), { code: 'ECONNREFUSED' });
    expect(describeSdkError(new AggregateError([inner], ''))).toBe('AggregateError: connect ECONNREFUSED 127.0.0.1:9000');
  });

  it('explains a bodiless 403 from HEAD', () => {
    expect(describeSdkError(sdkError('Unknown', 'UnknownError', 403))).toBe(
      'access denied (check the credentials and the bucket policy) (HTTP 403)',
    );
  });

  it('falls back to the error code when there is no message', () => {
    expect(describeSdkError(Object.assign(new Error(''), { code: 'ETIMEDOUT' }))).toBe('ETIMEDOUT');
  });
});
