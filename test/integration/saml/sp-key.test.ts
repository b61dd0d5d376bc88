/**
 * SAMLProvider's CertLocation: the SP certificate and RSA key read from one file when the provider is built
 * (so --check, the admin API and startup refuse a bad one), with certificates from the openssl CLI
 * (test/support/test-ca.ts).
 */
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ProviderSetupError } from '../../../src/providers/provider.js';
import { readSpKeyPair } from '../../../src/providers/saml/sp-key.js';
import { makeTestCa, type TestCa } from '../../support/test-ca.js';

describe('CertLocation', () => {
  let dir: string;
  let ca: TestCa;
  const write = (name: string, content: string, mode = 0o600) => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, content, { mode });
    fs.chmodSync(f, mode);
    return f;
  };
  const read = (f: string) => fs.readFileSync(f, 'utf8');
  const setupError = (file: string): string => {
    try {
      readSpKeyPair(file, 'entra');
    } catch (err) {
      expect(err).toBeInstanceOf(ProviderSetupError);
      return (err as Error).message;
    }
    throw new Error('no error');
  };

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'saml-cert-'));
    ca = makeTestCa(dir, 'sp');
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads the certificate and its RSA key from one file', () => {
    const kp = readSpKeyPair(write('ok.pem', read(ca.serverCert) + read(ca.serverKey)), 'entra');
    expect(kp.certPem).toContain('BEGIN CERTIFICATE');
    expect(kp.keyPem).toContain('BEGIN PRIVATE KEY');
    expect(kp.looseMode).toBeUndefined();
  });

  it('refuses a missing file, no certificate, no key, a non-RSA key, and a key of another certificate, naming profile and field', () => {
    expect(setupError(path.join(dir, 'missing.pem'))).toMatch(/^SAMLProvider profile "entra": ProviderConfig\.CertLocation .*missing\.pem cannot be read: ENOENT/);
    expect(setupError(write('nocert.pem', read(ca.serverKey)))).toMatch(/holds no PEM certificate/);
    expect(setupError(write('nokey.pem', read(ca.serverCert)))).toMatch(/holds no PEM private key/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(setupError(write('ec.pem', read(ca.serverCert) + ec))).toMatch(/the private key is ec, SAML here needs an RSA key/);
    expect(setupError(write('mismatch.pem', read(ca.caCert) + read(ca.serverKey)))).toMatch(/the private key does not belong to the certificate/);
  });

  it('reports a file readable by others (the caller WARNs)', () => {
    expect(readSpKeyPair(write('loose.pem', read(ca.serverCert) + read(ca.serverKey), 0o644), 'entra').looseMode).toBe('644');
  });
});
