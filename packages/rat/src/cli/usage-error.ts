import { ValidationError } from '../core/errors.js';

/**
 * A command line used wrongly that commander cannot see (a missing table among variadic arguments):
 * printed as any INVALID_ARGUMENT error, but the process exits 2, as for commander's own usage errors.
 */
export class UsageError extends ValidationError {
  constructor(message: string) {
    super('INVALID_ARGUMENT', message);
  }
}
