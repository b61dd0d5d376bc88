/** JWE.PrivateKeyLocation is checked when the profile loads: TIB panics on a non-RSA key at the first login. */
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { ProviderSetupError } from '../../src/providers/provider.js';
import { readJweKey } from '../../src/providers/social/oidc.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'jwe-key-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};
const pem = (type: 'rsa' | 'ec', format: 'pkcs1' | 'pkcs8' | 'sec1') => {
  const { privateKey } = type === 'rsa' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ type: format, format: 'pem' }) as string;
};

describe('readJweKey', () => {
  it('reads an RSA key in PKCS#1 or PKCS#8, also next to a certificate as in TIB key files', () => {
    const cert = '-----BEGIN CERTIFICATE-----\nMIIBkTCB+wIJAK\n-----END CERTIFICATE-----\n';
    expect(readJweKey(write('pkcs1.pem', pem('rsa', 'pkcs1')), 'p').asymmetricKeyType).toBe('rsa');
    expect(readJweKey(write('pkcs8-with-cert.pem', cert + pem('rsa', 'pkcs8')), 'p').asymmetricKeyType).toBe('rsa');
  });

  it('refuses a missing file, a file without a key and a non-RSA key, naming the profile and the file', () => {
    const cases: Array<[string, RegExp]> = [
      [path.join(dir, 'missing.pem'), /profile "p": JWE.PrivateKeyLocation .*missing.pem cannot be read: ENOENT/],
      [write('no-key.pem', 'not a key'), /no-key.pem holds no RSA private key/],
      [write('ec.pem', pem('ec', 'pkcs8')), /ec.pem holds no RSA private key/],
    ];
    for (const [file, message] of cases) {
      expect(() => readJweKey(file, 'p')).toThrow(ProviderSetupError);
      expect(() => readJweKey(file, 'p')).toThrow(message);
    }
  });
});
