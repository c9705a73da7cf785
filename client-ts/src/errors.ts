import type { ErrorDetail } from './generated.js';

/** An error answer of the API (`{error: {code, message, details?}}`), with its HTTP status. */
export class UserDoError extends Error {
  /** The HTTP status (0 when the client itself gave up, e.g. signed out). */
  readonly status: number;
  /** The API's `snake_case` code, such as `invalid_credentials` or `not_found`. */
  readonly code: string;
  /** Per-field messages for `validation_failed`, when the server sent them. */
  readonly details: Record<string, string[]> | undefined;

  constructor(status: number, detail: ErrorDetail) {
    super(detail.message);
    this.name = 'UserDoError';
    this.status = status;
    this.code = detail.code;
    this.details = detail.details ?? undefined;
  }
}

/** Reads an error response into a `UserDoError`, also when its body is not the API's shape. */
export async function errorFrom(res: Response): Promise<UserDoError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  const error = (body as { error?: Partial<ErrorDetail> } | undefined)?.error;
  if (error && typeof error.code === 'string') {
    return new UserDoError(res.status, {
      code: error.code,
      message: typeof error.message === 'string' ? error.message : error.code,
      ...(error.details ? { details: error.details } : {}),
    });
  }
  return new UserDoError(res.status, { code: `http_${res.status}`, message: `HTTP ${res.status}` });
}
