/**
 * HttpServerOptions.UseSSL: the standalone broker serves over TLS with the configured certificate, speaks
 * TLS 1.2 and 1.3, and refuses older protocols (TLS 1.2 minimum). Clients verify the certificate against
 * a throwaway test CA.
 */
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import type { SecureVersion, TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startTestBroker, type TestBroker } from '../../support/broker.js';
import { makeTestCa } from '../../support/test-ca.js';
import { ConfigError, loadConfig } from '../../../src/config/load.js';

interface TlsGet {
  status: number;
  body: string;
  protocol: string | null;
}

/** GET over a fresh TLS connection (no pooling), trusting only the test CA. */
function tlsGet(url: string, ca: Buffer, versions: { minVersion?: SecureVersion; maxVersion?: SecureVersion; ciphers?: string }): Promise<TlsGet> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, agent: false, ...versions }, (res) => {
      const protocol = (res.socket as TLSSocket).getProtocol();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, protocol }));
    });
    req.on('error', reject);
  });
}

describe('HTTPS from HttpServerOptions', () => {
  let dir: string;
  let ca: Buffer;
  let b: TestBroker;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'broker-https-'));
    const certs = makeTestCa(dir, 'https');
    ca = fs.readFileSync(certs.caCert);
    b = await startTestBroker({
      profiles: [],
      config: { HttpServerOptions: { UseSSL: true, CertFile: certs.serverCert, KeyFile: certs.serverKey } },
    });
  });
  afterAll(async () => {
    await b.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('listens on an https URL and says so in its startup log', () => {
    expect(b.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(b.logs.some((l) => l.includes('MAIN: listening on https://127.0.0.1:'))).toBe(true);
  });

  it('serves GET /health 200 over TLS 1.3 with a certificate the test CA verifies', async () => {
    const res = await tlsGet(`${b.url}/health`, ca, { minVersion: 'TLSv1.3' });
    expect(res).toEqual({ status: 200, body: '', protocol: 'TLSv1.3' });
  });

  it('serves GET /health 200 to a client limited to TLS 1.2', async () => {
    const res = await tlsGet(`${b.url}/health`, ca, { maxVersion: 'TLSv1.2' });
    expect(res).toEqual({ status: 200, body: '', protocol: 'TLSv1.2' });
  });

  it('refuses a client limited to TLS 1.1: the server answers the handshake with a protocol_version alert', async () => {
    // minVersion TLSv1 is needed for the client to offer anything below 1.2 at all; without it Node fails
    // locally ("no protocols available") and the server would never be asked. So is security level 0 on Node
    // 24 (OpenSSL 3.5), whose default level allows no cipher suite of TLS 1.0 or 1.1.
    const attempt = tlsGet(`${b.url}/health`, ca, { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' });
    await expect(attempt).rejects.toThrow(/alert protocol version/);
  });

  it('serves the configured certificate: a client trusting only another CA rejects it', async () => {
    const otherCa = makeTestCa(dir, 'other');
    const attempt = tlsGet(`${b.url}/health`, fs.readFileSync(otherCa.caCert), {});
    await expect(attempt).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
  });
});

describe('HttpServerOptions.UseSSL with files that are readable but not a certificate and its key', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'broker-tls-conf-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const problemsOf = (conf: Record<string, unknown>) => {
    const confPath = path.join(dir, `tls-${Math.random().toString(36).slice(2)}.conf`);
    return fs.promises.writeFile(confPath, JSON.stringify(conf)).then(() => {
      try {
        loadConfig({ confPath, env: {} });
        return '';
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        return err.message;
      }
    });
  };

  it('is refused at load time naming CertFile and both files (it passed --check, then the start failed with an OpenSSL message)', async () => {
    const ca = makeTestCa(dir, 'ops');
    const garbage = path.join(dir, 'garbage.pem');
    await fs.promises.writeFile(garbage, 'not a certificate\n');
    const tlsConf = (CertFile: string, KeyFile: string) => ({ HttpServerOptions: { UseSSL: true, CertFile, KeyFile } });

    expect(await problemsOf(tlsConf(ca.serverCert, ca.serverKey))).toBe('');
    const notPem = await problemsOf(tlsConf(garbage, ca.serverKey));
    expect(notPem).toContain(`HttpServerOptions.CertFile: ${garbage} and KeyFile ${ca.serverKey} are not a PEM certificate and its unencrypted private key`);
    // The CA's key is a valid key, but not the server certificate's.
    const mismatch = await problemsOf(tlsConf(ca.serverCert, ca.caCert.replace('ca.pem', 'ca-key.pem')));
    expect(mismatch).toContain(`HttpServerOptions.CertFile: ${ca.serverCert} and KeyFile`);
    expect(mismatch).not.toContain('PRIVATE KEY');
  });
});
