/**
 * The SP's certificate and RSA private key, from the one PEM file CertLocation names (as TIB reads it).
 * Read when the provider is built, so `--check`, the admin API and startup refuse a missing file, a file
 * without a certificate or an RSA key, or a key that does not belong to the certificate.
 */
import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import fs from 'node:fs';
import { ProviderSetupError } from '../provider.js';

export interface SpKeyPair {
  /** PEM of the certificate (published in the SP metadata). */
  certPem: string;
  /** The certificate's base64 DER, as it goes in a ds:X509Certificate element. */
  certBase64: string;
  /** PKCS#8 PEM of the private key (what xml-encryption takes to decrypt assertions). */
  keyPem: string;
  /** The key as the file holds it (PKCS#1 or PKCS#8), to mask in logs too. */
  fileKeyPem: string;
  /** Set when the file is readable by group or others: the caller warns. */
  looseMode?: string;
}

const CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;
const KEY = /-----BEGIN (RSA |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END \1?PRIVATE KEY-----/;

export function readSpKeyPair(file: string, profileId: string): SpKeyPair {
  const where = `SAMLProvider profile "${profileId}": ProviderConfig.CertLocation ${file}`;
  let pem: string;
  let mode: number;
  try {
    pem = fs.readFileSync(file, 'utf8');
    mode = fs.statSync(file).mode;
  } catch (err) {
    throw new ProviderSetupError(`${where} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const certText = CERT.exec(pem)?.[0];
  if (!certText) throw new ProviderSetupError(`${where} holds no PEM certificate (one file with the SP certificate and its private key)`);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certText);
  } catch {
    throw new ProviderSetupError(`${where}: the certificate cannot be parsed`);
  }
  const keyMatch = KEY.exec(pem);
  if (!keyMatch) throw new ProviderSetupError(`${where} holds no PEM private key (add the SP's RSA key to the same file)`);
  if (keyMatch[1] === 'ENCRYPTED ') throw new ProviderSetupError(`${where}: the private key is encrypted; store it unencrypted, readable only by the broker's user`);
  let key: KeyObject;
  try {
    key = createPrivateKey(keyMatch[0]);
  } catch {
    throw new ProviderSetupError(`${where}: the private key cannot be parsed`);
  }
  // TIB's SAML library needs RSA (and fails at the first login); say so now.
  if (key.asymmetricKeyType !== 'rsa') throw new ProviderSetupError(`${where}: the private key is ${key.asymmetricKeyType ?? 'unknown'}, SAML here needs an RSA key`);
  if (!cert.checkPrivateKey(key)) throw new ProviderSetupError(`${where}: the private key does not belong to the certificate`);
  const perms = mode & 0o777;
  return {
    certPem: certText,
    certBase64: cert.raw.toString('base64'),
    keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    fileKeyPem: keyMatch[0],
    looseMode: (perms & 0o077) !== 0 ? perms.toString(8).padStart(3, '0') : undefined,
  };
}
