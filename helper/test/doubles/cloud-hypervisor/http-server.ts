import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { FaultInjector } from './faults.js';
import type { Logger } from './log.js';
import type { RequestRecord, RequestRecordEntry } from './request-record.js';
import { API_ROOT, type ChSpec } from './spec.js';
import { ApiFailure, type VmConfig, type Vmm } from './vmm.js';

/**
 * CH's HTTP API (micro_http) over a Unix socket, with every request checked against the spec.
 *
 * What CH answers, and so what the double answers (vmm/src/api/http/mod.rs, http_endpoint.rs):
 * - unknown path: 404 `["Not Found"]`
 * - known path, wrong method: 400 `["Bad Request"]` (never 405)
 * - body that does not deserialize: 400 `["Failed to deserialize JSON", …]`; here "deserialize"
 *   means "validate against the spec", since the spec is the contract a driver is held to
 * - a body sent to an action that takes none (vm.boot, …): 400 `["Bad Request"]`
 * - success: 204, or 200 with a JSON body; vmm.shutdown answers 200 with no body although the
 *   spec documents 204, so drivers must accept any 2xx
 * - failure of the action: see vmm.ts (404 when the VM is not created, otherwise 500)
 */

interface Answer {
  status: number;
  body?: unknown;
}

/** Actions the double models: every endpoint of the description (cloud-hypervisor-api.yaml). */
type Handler = (vmm: Vmm, body: unknown) => Answer;
/** An action that answers 204 No Content when it succeeds. */
const noContent =
  (act: (vmm: Vmm, body: unknown) => void): Handler =>
  (vmm, body) => {
    act(vmm, body);
    return { status: 204 };
  };
const HANDLERS: Record<string, Handler> = {
  'vmm.ping': (vmm) => ({ status: 200, body: vmm.ping() }),
  'vmm.shutdown': (vmm) => {
    vmm.vmmShutdown();
    return { status: 200 };
  },
  'vm.create': noContent((vmm, body) => vmm.create(body as VmConfig)),
  'vm.boot': noContent((vmm) => vmm.boot()),
  'vm.info': (vmm) => ({ status: 200, body: vmm.info() }),
  'vm.shutdown': noContent((vmm) => vmm.shutdown()),
  'vm.power-button': noContent((vmm) => vmm.powerButton()),
};

/**
 * Endpoints CH serves with dedicated handlers rather than its generic VmActionHandler: they answer
 * any wrong method with `["Bad Request"]` (the generic one sends a bare 400 for methods other than
 * GET/PUT), and those without a request schema ignore a body instead of rejecting it.
 */
const DEDICATED = new Set(['vmm.ping', 'vmm.shutdown', 'vm.info', 'vm.create']);

export interface ApiServerOptions {
  spec: () => ChSpec;
  vmm: Vmm;
  faults: FaultInjector;
  record: RequestRecord;
  log: Logger;
  /** Called after vmm.shutdown's answer has been written: the VMM process ends. */
  onVmmShutdown: () => void;
}

export function createApiServer(options: ApiServerOptions): Server {
  return createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handle(options, req, res, Buffer.concat(chunks).toString('utf8')));
  });
}

/** Marks a request as dealt with (answered, or deliberately left hanging). */
type Handled = 'handled';

function handle(options: ApiServerOptions, req: IncomingMessage, res: ServerResponse, raw: string): Handled {
  const method = req.method ?? 'GET';
  const target = req.url ?? '/';
  const path = target.split('?')[0] ?? target;
  const action = path.startsWith(`${API_ROOT}/`) ? path.slice(API_ROOT.length + 1) : null;
  const entry: RequestRecordEntry = {
    time: Date.now(),
    method,
    path: target,
    action,
    body: raw === '' ? null : parseLoosely(raw),
    valid: true,
    errors: [],
    warnings: [],
    status: null,
    fault: null,
  };
  if (req.headers['transfer-encoding'] !== undefined) {
    entry.warnings.push('chunked transfer encoding: send a Content-Length, as CH examples do');
  }
  const reply = (answer: Answer): Handled => {
    entry.status = answer.status;
    options.record.append(entry);
    options.log.info(
      `${method} ${target} -> ${answer.status}${entry.valid ? '' : ` (invalid: ${entry.errors.join('; ')})`}`,
    );
    send(res, answer);
    return 'handled';
  };
  const reject = (status: number, errors: string[], body?: unknown): Handled => {
    entry.valid = false;
    entry.errors.push(...errors);
    return reply({ status, body });
  };

  const spec = options.spec();
  const operations = action === null ? undefined : spec.operations.get(action);
  if (action === null || operations === undefined) {
    return reject(404, [`${path} is not an endpoint of the Cloud Hypervisor API description`], ['Not Found']);
  }
  const op = operations.find((o) => o.method === method);
  if (op === undefined) {
    const allowed = operations.map((o) => o.method).join(', ');
    // micro_http answers other methods on action endpoints with a bare 400 (no body).
    const body = ['GET', 'PUT'].includes(method) || DEDICATED.has(action) ? ['Bad Request'] : undefined;
    return reject(400, [`${method} is not defined for /${action} (the spec allows ${allowed})`], body);
  }

  let body: unknown = null;
  if (op.requestSchema !== undefined) {
    if (raw === '') {
      // vm.create answers a missing body with an empty 400; the other body actions with a message.
      return reject(400, ['a request body is required'], action === 'vm.create' ? undefined : ['Bad Request']);
    }
    try {
      body = JSON.parse(raw) as unknown;
    } catch (error) {
      return reject(
        400,
        [`body is not JSON: ${(error as Error).message}`],
        ['Failed to deserialize JSON', (error as Error).message],
      );
    }
    const result = spec.validateSchema(op.requestSchema, body);
    entry.warnings.push(...result.warnings);
    if (!result.valid) {
      return reject(400, result.errors, ['Failed to deserialize JSON', ...result.errors]);
    }
  } else if (raw !== '') {
    entry.valid = false;
    entry.errors.push(`the spec defines no request body for ${method} /${action}`);
    if (!DEDICATED.has(action)) return reply({ status: 400, body: ['Bad Request'] });
  }

  const fault = options.faults.take(action);
  if (fault !== undefined) {
    entry.fault = fault.kind === 'status' ? String(fault.status) : fault.kind;
    if (fault.kind === 'hang') {
      options.record.append(entry);
      options.log.info(`${method} ${target} -> hanging (injected fault)`);
      return 'handled';
    }
    if (fault.kind === 'crash') {
      options.record.append(entry);
      process.kill(process.pid, 'SIGKILL');
      return 'handled';
    }
    return reply({
      status: fault.status,
      body: ['Error from API', `contract double: injected failure (HEARTH_CH_DOUBLE_FAIL ${action}:${fault.status})`],
    });
  }

  const handler = HANDLERS[action];
  try {
    if (handler === undefined) {
      // The description gained an endpoint the double does not model yet: say so, as CH would fail.
      return reply({
        status: 500,
        body: ['Error from API', `contract double: ${action} is not implemented by the double`],
      });
    }
    const answer = handler(options.vmm, body);
    if (action === 'vmm.shutdown') res.on('finish', options.onVmmShutdown);
    return reply(answer);
  } catch (error) {
    if (!(error instanceof ApiFailure)) throw error;
    return reply({ status: error.status, body: error.chain });
  }
}

function send(res: ServerResponse, answer: Answer): void {
  const payload = answer.body === undefined ? '' : JSON.stringify(answer.body);
  const headers: Record<string, string | number> = {
    Server: 'Cloud Hypervisor API',
    'Content-Type': 'application/json',
  };
  // A 204 carries no Content-Length (RFC 9110); everything else states its length.
  if (answer.status !== 204) headers['Content-Length'] = Buffer.byteLength(payload);
  res.writeHead(answer.status, headers);
  res.end(payload);
}

function parseLoosely(raw: string): unknown {
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}
