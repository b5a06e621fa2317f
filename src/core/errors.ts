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

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

export function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
