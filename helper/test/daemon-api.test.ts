import { execFileSync } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigView, endpoints, ErrorBody, HostReport, VersionInfo } from '#protocol';
import { HearthdError } from '#protocol/client';
import { HearthdProcess } from './support/hearthd-process.js';
import { raw } from './support/raw-http.js';
import { assertMatches } from './support/schema.js';

describe('hearthd over its Unix socket', () => {
  let daemon: HearthdProcess;

  beforeAll(async () => {
    daemon = await HearthdProcess.start();
  });
  afterAll(async () => {
    await daemon.dispose();
  });

  it('serves its version and the VMMs it finds', async () => {
    const client = daemon.client();
    const version = await client.call('getVersion');
    await client.close();
    assertMatches(VersionInfo, version);
    expect(version.api).toBe('v1');
    const hasQemu = (() => {
      try {
        execFileSync('sh', ['-c', 'command -v qemu-system-x86_64'], { stdio: 'ignore' });
        return true;
      } catch {
        return false;
      }
    })();
    expect(version.vmms.some((v) => v.kind === 'qemu')).toBe(hasQemu);
  });

  it('creates the socket with mode 0660', async () => {
    const mode = (await stat(daemon.paths.socket)).mode & 0o777;
    expect(mode.toString(8)).toBe('660');
  });

  it('answers bad requests with JSON errors and keeps serving', async () => {
    const socket = daemon.paths.socket;
    const cases: Array<[string, string, string | undefined, number, string]> = [
      ['GET', '/v1/no-such-thing', undefined, 404, 'not-found'],
      ['DELETE', '/v1/host', undefined, 405, 'method-not-allowed'],
      ['PATCH', '/v1/config', '{"heartbeatSeconds": ', 400, 'invalid-json'],
      ['PATCH', '/v1/config', '{"heartbeatSeconds": 0}', 400, 'invalid-request'],
      ['PATCH', '/v1/config', '{"heartbeatSeconds": "5"}', 400, 'invalid-request'],
      ['PATCH', '/v1/config', '{"hypervisor": "xen"}', 400, 'invalid-request'],
      ['PATCH', '/v1/config', '{"kernel": "/tmp/evil"}', 400, 'invalid-request'],
      ['PATCH', '/v1/config', '{}', 400, 'invalid-request'],
      ['PATCH', '/v1/config', `{"padding": "${'x'.repeat(70_000)}"}`, 413, 'payload-too-large'],
      ['GET', '/v1/host?fresh=perhaps', undefined, 400, 'invalid-request'],
      ['GET', '/v1/host?unknown=1', undefined, 400, 'invalid-request'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const response = await raw(socket, method, path, body);
      expect({ method, path, status: response.status }).toEqual({ method, path, status });
      assertMatches(ErrorBody, response.body);
      expect((response.body as ErrorBody).code).toBe(code);
      expect((response.body as ErrorBody).message.length).toBeGreaterThan(10);
    }
    const textBody = await raw(socket, 'PATCH', '/v1/config', 'heartbeatSeconds=5', 'text/plain');
    expect(textBody.status).toBe(415);

    const client = daemon.client();
    await expect(client.call('getVersion')).resolves.toMatchObject({ api: 'v1' });
    const settings = await client.call('getConfig');
    expect(settings.settings.heartbeatSeconds).toBe(15);
    await client.close();
  });

  it('reports typed errors through the client', async () => {
    const client = daemon.client();
    const error = await client.call('updateConfig', { body: { readinessIntervalSeconds: 1 } }).catch((e: unknown) => e);
    await client.close();
    expect(error).toBeInstanceOf(HearthdError);
    expect(error).toMatchObject({ status: 400, code: 'invalid-request' });
  });

  it('saves settings atomically and reports them back', async () => {
    const client = daemon.client();
    const view = await client.call('updateConfig', { body: { readinessIntervalSeconds: 120 } });
    await client.close();
    assertMatches(ConfigView, view);
    expect(view.settings.readinessIntervalSeconds).toBe(120);
    const saved = JSON.parse(await readFile(join(daemon.paths.stateDir, 'settings.json'), 'utf8')) as unknown;
    expect(saved).toEqual({ readinessIntervalSeconds: 120 });
  });

  it('publishes an OpenAPI document with every endpoint of the contract', async () => {
    const client = daemon.client();
    const doc = (await client.call('getOpenApi')) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
    };
    await client.close();
    expect(doc.openapi).toMatch(/^3\.1/);
    for (const endpoint of Object.values(endpoints)) {
      const path = endpoint.path;
      expect(doc.paths[path], path).toBeDefined();
      expect(doc.paths[path]?.[endpoint.method.toLowerCase()], `${endpoint.method} ${path}`).toBeDefined();
    }
  });

  it('returns a readiness report that matches the schema', async () => {
    const client = daemon.client();
    const report = await client.call('getHost', { query: { fresh: true } });
    await client.close();
    assertMatches(HostReport, report);
  });
});
