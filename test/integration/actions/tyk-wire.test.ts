/**
 * The Tyk client through an outbound proxy, as Go's ProxyFromEnvironment (TIB's transport): HTTP_PROXY
 * routes the calls through a real CONNECT proxy on loopback, NO_PROXY and loopback addresses go direct.
 * The Dashboard is named `tyk.test`, a name only the proxy resolves (to the Tyk stub), so a call that
 * skipped the proxy cannot reach it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, expect, it } from '@jest/globals';
import { defaultConfig } from '../../../src/config/load.js';
import { createTykApi, TykCallError } from '../../../src/tyk/client.js';
import { startTykStub, type TykStub } from '../../support/tyk-stub.js';

const CRED = 'dashboard-credential-behind-a-proxy';
const ADMIN = 'dashboard-admin-secret-behind-a-proxy';
const VARIABLES = ['HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'NO_PROXY', 'no_proxy'];

let stub: TykStub;
let proxy: http.Server;
/** Every CONNECT target the proxy was asked for. */
const tunnels: string[] = [];
const saved = new Map(VARIABLES.map((v) => [v, process.env[v]]));

beforeAll(async () => {
  stub = await startTykStub({ dashboardCredential: CRED, adminSecret: ADMIN });
  proxy = http.createServer((_req, res) => res.writeHead(405).end());
  proxy.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    tunnels.push(req.url ?? '');
    const port = Number((req.url ?? '').split(':').pop());
    // The proxy's own name resolution: tyk.test is the stub.
    const upstream = net.connect(port, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client).on('error', () => undefined);
      client.pipe(upstream).on('error', () => undefined);
    });
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
});
afterEach(() => {
  for (const [k, v] of saved) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  tunnels.length = 0;
  stub.reset();
});
afterAll(async () => {
  proxy.closeAllConnections();
  await new Promise((resolve) => proxy.close(resolve));
  await stub.close();
});

function api(endpoint: string) {
  const config = defaultConfig();
  config.TykAPISettings.DashboardConfig = { Endpoint: endpoint, Port: stub.port, AdminSecret: ADMIN };
  return createTykApi(config, { timeoutMs: 2000 });
}

const proxyUrl = () => `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;

it('HTTP_PROXY carries the Dashboard calls through the proxy, headers and body intact', async () => {
  process.env.HTTP_PROXY = proxyUrl();
  const tyk = api('http://tyk.test');
  try {
    const res = await tyk.dashboard('/api/sso', { method: 'POST', credential: CRED, body: { ForSection: 'dashboard' } });
    expect(res.status).toBe(200);
    expect(tunnels).toEqual([`tyk.test:${stub.port}`]);
    expect(stub.requests.map((r) => [r.path, r.headers.authorization, (r.body as { ForSection?: string }).ForSection])).toEqual([['/api/sso', CRED, 'dashboard']]);
  } finally {
    await tyk.close();
  }
});

it('the lower-case spelling works too, and NO_PROXY sends a listed host direct', async () => {
  process.env.http_proxy = proxyUrl();
  process.env.NO_PROXY = 'tyk.test';
  const tyk = api('http://tyk.test');
  try {
    // Direct: nobody resolves tyk.test, so the call fails as a network error without touching the proxy.
    const err = await tyk.dashboard('/api/sso', { method: 'POST', credential: CRED, body: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TykCallError);
    expect((err as TykCallError).kind).toBe('network');
    expect(tunnels).toEqual([]);
  } finally {
    await tyk.close();
  }
});

it('loopback addresses are never proxied, as in Go', async () => {
  process.env.HTTP_PROXY = proxyUrl();
  const tyk = api(stub.endpoint);
  try {
    expect((await tyk.dashboard('/api/sso', { method: 'POST', credential: CRED, body: {} })).status).toBe(200);
    expect(tunnels).toEqual([]);
  } finally {
    await tyk.close();
  }
});
