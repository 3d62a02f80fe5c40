/** The API major version is in every path (`/v1/...`). */
export const API_VERSION = 'v1' as const;
/** Bumped on every backwards-compatible addition to v1; clients can require a minimum. */
export const API_REVISION = 7;
