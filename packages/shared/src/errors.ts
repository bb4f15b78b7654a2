/** The HTTP error codes of the API and the status each maps to: one list, one envelope. */
export const ERROR_STATUS = {
  invalid_limit: 400,
  invalid_filter: 400,
  invalid_days: 400,
  invalid_parameter: 400,
  invalid_body: 400,
  /** The request could not be parsed as HTTP or as a URL (bad request line, Host or encoding). */
  malformed_request: 400,
  unknown_section: 404,
  not_found: 404,
  method_not_allowed: 405,
  /** A write to the bot's data (SPEC §11): snapboard only reads it. */
  read_only: 405,
  request_timeout: 408,
  unauthorized: 401,
  forbidden: 403,
  ops_disabled: 403,
  payload_too_large: 413,
  headers_too_large: 431,
  unsupported_media_type: 415,
  too_many_requests: 429,
  warming_up: 503,
  not_ready: 503,
  queue_unavailable: 503,
  internal_error: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export class ApiError extends Error {
  readonly status: (typeof ERROR_STATUS)[ErrorCode];
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = ERROR_STATUS[code];
  }
  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message } };
  }
}
