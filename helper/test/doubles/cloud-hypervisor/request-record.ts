import { appendFileSync, closeSync, openSync } from 'node:fs';

/**
 * The double's account of every API request it received, one JSON object per line in
 * `<api-socket>.requests.jsonl` (or HEARTH_CH_DOUBLE_RECORD). Tests read it to assert that every
 * request a driver sent was valid against the spec. A line is written before the response is sent,
 * so once a client has its answer, the line is on disk.
 */

export interface RequestRecordEntry {
  /** Milliseconds since the epoch. */
  time: number;
  method: string;
  /** The request target as sent, e.g. `/api/v1/vm.create`. */
  path: string;
  /** `vm.create`, … or null when the path is not an API action. */
  action: string | null;
  /** Parsed JSON body, the raw text when it was not JSON, or null without a body. */
  body: unknown;
  /** True when the path, method and body all match the OpenAPI document. */
  valid: boolean;
  errors: string[];
  /** Spec-valid but suspicious: properties the spec does not define (CH ignores them silently). */
  warnings: string[];
  /** The status the double answered, or null when a `hang` fault kept it from answering. */
  status: number | null;
  /** The injected fault (`500`, `hang`, `crash`) that decided the answer, if any. */
  fault: string | null;
}

export class RequestRecord {
  constructor(readonly path: string | undefined) {
    // Truncate: a record describes one run of the double, like CH's truncated event-monitor file.
    if (path !== undefined) closeSync(openSync(path, 'w', 0o600));
  }

  append(entry: RequestRecordEntry): void {
    if (this.path !== undefined) appendFileSync(this.path, `${JSON.stringify(entry)}\n`);
  }
}

export function parseRequestRecord(text: string): RequestRecordEntry[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as RequestRecordEntry);
}
