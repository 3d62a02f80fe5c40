import type { ErrorBody, ErrorCode } from '#protocol';

const STATUS: Record<ErrorCode, number> = {
  'invalid-request': 400,
  'invalid-json': 400,
  'unsupported-media-type': 415,
  'payload-too-large': 413,
  'not-found': 404,
  'method-not-allowed': 405,
  conflict: 409,
  unprocessable: 422,
  'too-many-requests': 429,
  unavailable: 503,
  internal: 500,
};

/** An error a handler throws on purpose; it reaches the caller as-is. */
export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorBody['details'],
  ) {
    super(message);
    this.status = STATUS[code];
  }

  get body(): ErrorBody {
    return { code: this.code, message: this.message, ...(this.details && { details: this.details }) };
  }
}
