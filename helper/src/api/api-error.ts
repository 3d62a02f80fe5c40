import type { ErrorBody, ErrorCode } from '#protocol';
import { DomainError, type ErrorKind } from '../errors.js';

const STATUS: Record<ErrorCode, number> = {
  'invalid-request': 400,
  'invalid-json': 400,
  'unsupported-media-type': 415,
  'payload-too-large': 413,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  conflict: 409,
  unprocessable: 422,
  'too-many-requests': 429,
  unavailable: 503,
  internal: 500,
};

/** The one place a domain error kind becomes a wire code (and so an HTTP status). */
const CODE_OF_KIND: Record<ErrorKind, ErrorCode> = {
  'not-found': 'not-found',
  conflict: 'conflict',
  invalid: 'unprocessable',
  limit: 'conflict',
  forbidden: 'forbidden',
  unavailable: 'unavailable',
  failed: 'internal',
};

/** An error the API layer answers with as-is (request-shape errors, and domain errors mapped). */
export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorBody['details'],
    readonly hint?: string,
  ) {
    super(message);
    this.status = STATUS[code];
  }

  static from(error: DomainError): ApiError {
    return new ApiError(CODE_OF_KIND[error.kind], error.message, undefined, error.hint);
  }

  get body(): ErrorBody {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint !== undefined && { hint: this.hint }),
      ...(this.details && { details: this.details }),
    };
  }
}

/** ApiErrors as they are, domain errors mapped; anything else is not an answer (undefined). */
export function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  if (error instanceof DomainError) return ApiError.from(error);
  return undefined;
}
