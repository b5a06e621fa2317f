/**
 * One error type for things an operator or a retry can fix (I/O, auth, configuration). Bad input rows are not
 * errors: they become rejects. Codes are `module.snake_case`; edges (CLI exit code, HTTP status) map them once.
 */
export class AppError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  constructor(
    code: string,
    message: string,
    options: { retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.retryable = options.retryable ?? false;
  }
}

/**
 * The code of a store write that ran out of the store's memory limit (wide rows, e.g. large request metadata): the
 * same work in smaller pieces may fit, and the CLI names the setting that raises the limit. Here, not in the store,
 * so that the CLI can name it without loading the store.
 */
export const OUT_OF_MEMORY = 'store.out_of_memory';

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
