import { Client } from 'undici';

/** Statuses and bodies from Cloud Hypervisor's REST API (spec v53.0, `/api/v1/...`). */
export class ChApiError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(`Cloud Hypervisor ${operation} answered HTTP ${status}${body ? `: ${body.slice(0, 300)}` : ''}`);
  }
}

export interface ChVmConfig {
  cpus: { boot_vcpus: number; max_vcpus: number };
  memory: { size: number };
  payload: { kernel: string; cmdline: string; initramfs?: string } | { firmware: string };
  disks: Array<{ path: string; readonly?: boolean; image_type?: 'Qcow2' | 'Raw'; backing_files?: boolean }>;
  /** An existing TAP. No `ip`/`mask`: CH v53 then sets no address (PR #7365; the spec's default is stale). */
  net?: Array<{ tap: string; mac: string }>;
  /** Hybrid vsock: `socket` is bound by CH; guest connections to host port P go to `<socket>_P`. */
  vsock?: { cid: number; socket: string };
  serial: { mode: 'File'; file: string };
  console: { mode: 'Off' };
}

export interface ChVmInfo {
  state: 'Created' | 'Running' | 'Shutdown' | 'Paused';
  config: unknown;
}

/** A client for one VMM's API socket. Only the operations hearthd uses. */
export class ChApi {
  private readonly http: Client;

  constructor(readonly socketPath: string) {
    this.http = new Client('http://localhost', { socketPath, connectTimeout: 2_000, pipelining: 0 });
  }

  ping(): Promise<{ version: string; pid?: number }> {
    return this.json('GET', 'vmm.ping');
  }

  info(): Promise<ChVmInfo> {
    return this.json('GET', 'vm.info');
  }

  create(config: ChVmConfig): Promise<void> {
    return this.send('vm.create', config);
  }

  boot(): Promise<void> {
    return this.send('vm.boot');
  }

  powerButton(): Promise<void> {
    return this.send('vm.power-button');
  }

  shutdownVm(): Promise<void> {
    return this.send('vm.shutdown');
  }

  shutdownVmm(): Promise<void> {
    return this.send('vmm.shutdown');
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private async json<T>(method: 'GET', operation: string): Promise<T> {
    const response = await this.http.request({
      method,
      path: `/api/v1/${operation}`,
      headersTimeout: 5_000,
      bodyTimeout: 5_000,
    });
    const text = await boundedText(response.body);
    if (response.statusCode !== 200) throw new ChApiError(operation, response.statusCode, text);
    return JSON.parse(text) as T;
  }

  private async send(operation: string, body?: unknown): Promise<void> {
    const response = await this.http.request({
      method: 'PUT',
      path: `/api/v1/${operation}`,
      headersTimeout: 10_000,
      bodyTimeout: 10_000,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await boundedText(response.body);
    if (response.statusCode < 200 || response.statusCode >= 300)
      throw new ChApiError(operation, response.statusCode, text);
  }
}

/** Cloud Hypervisor's answers are small JSON documents; the VMM is not trusted with our memory. */
const MAX_BODY_BYTES = 1024 * 1024;

async function boundedText(body: AsyncIterable<Buffer> & { destroy(error?: Error): unknown }): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      body.destroy();
      throw new Error(`Cloud Hypervisor answered more than ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
