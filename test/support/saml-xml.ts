/**
 * SAML 2.0 responses for the tests, built independently of the broker's SAML library: the XML comes from
 * string templates here and is signed, encrypted and verified by the `xmlsec1` command line (libxmlsec1),
 * never by @node-saml/node-saml, xml-crypto or xmldom, so a bug shared by the broker and its tests cannot hide.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { deflateRawSync } from 'node:zlib';

const run = promisify(execFile);

export const NS = {
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
  xenc: 'http://www.w3.org/2001/04/xmlenc#',
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  emailAddress: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  basic: 'urn:oasis:names:tc:SAML:2.0:attrname-format:basic',
} as const;

const ALGS = {
  sha256: { sig: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', digest: 'http://www.w3.org/2001/04/xmlenc#sha256' },
  sha1: { sig: 'http://www.w3.org/2000/09/xmldsig#rsa-sha1', digest: 'http://www.w3.org/2000/09/xmldsig#sha1' },
  /** An HMAC "signature": anyone holding the secret signs. Keyed with the IdP's public certificate, it is the
   * xml-crypto confusion attack (GHSA-c27r-x354-4m68). Its digest is SHA-256. */
  'hmac-sha256': { sig: 'http://www.w3.org/2001/04/xmldsig-more#hmac-sha256', digest: 'http://www.w3.org/2001/04/xmlenc#sha256' },
} as const;
export type Alg = keyof typeof ALGS;

/** A key pair on disk: PEM private key and PEM certificate; or, with `hmac`, `key` is the HMAC secret's file. */
export interface KeyFiles {
  key: string;
  cert: string;
  hmac?: boolean;
}

/**
 * The two attribute shapes of the field. Entra ID: claim-URI names, default-namespace SAML elements, only the
 * Assertion signed, persistent NameID. Okta: Basic NameFormat names with xs:string values, `saml2:` prefixes,
 * Response and Assertion signed, emailAddress NameID.
 */
export type Shape = 'entra' | 'okta';

export const ENTRA_CLAIMS = {
  email: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress',
  givenName: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname',
  surname: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname',
  name: 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name',
  groups: 'http://schemas.microsoft.com/ws/2008/06/identity/claims/groups',
  objectId: 'http://schemas.microsoft.com/identity/claims/objectidentifier',
} as const;

export interface ResponseOptions {
  shape: Shape;
  /** The request this answers; omitted for an unsolicited (IdP-initiated) response. */
  inResponseTo?: string;
  /** Response@Destination (the ACS URL). */
  destination: string;
  /** SubjectConfirmationData@Recipient; defaults to destination. */
  recipient?: string;
  /** Audience; the SP's entity ID. */
  audience: string;
  /** The Response's Issuer (the IdP entity ID). */
  issuer: string;
  /** The Assertion's Issuer; defaults to issuer. */
  assertionIssuer?: string;
  /** NameID text. Inserted as raw XML (escape it yourself, or pass markup such as a comment on purpose). */
  nameId: string;
  nameIdFormat?: string;
  /** Attribute name -> value(s); several values become several AttributeValue elements. Values are escaped. */
  attributes: Record<string, string | string[]>;
  notBefore?: Date;
  notOnOrAfter?: Date;
  /** SubjectConfirmationData@NotOnOrAfter; defaults to notOnOrAfter. */
  subjectNotOnOrAfter?: Date;
  statusCode?: string;
  sign: 'assertion' | 'response' | 'both' | 'none';
  /** Signature algorithm; the digest follows it unless `digest` is set. */
  alg?: Alg;
  digest?: Alg;
  /** The signing key and certificate (the IdP's, or a rogue one). */
  key: KeyFiles;
  /** Encrypt the assertion to this certificate (the SP's) inside an EncryptedAssertion. */
  encryptTo?: string;
  /** Raw edits of the unsigned XML, e.g. to add a comment or a second assertion before signing. */
  editAssertion?: (xml: string) => string;
  editResponse?: (xml: string) => string;
  responseId?: string;
  assertionId?: string;
}

export const newId = (): string => `_${randomBytes(16).toString('hex')}`;
const instant = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** An empty enveloped-signature template for xmlsec1 to fill, referencing `#id`. */
export function signatureTemplate(id: string, alg: Alg = 'sha256', digest: Alg = alg === 'hmac-sha256' ? 'sha256' : alg): string {
  return (
    `<ds:Signature xmlns:ds="${NS.dsig}"><ds:SignedInfo>` +
    `<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>` +
    `<ds:SignatureMethod Algorithm="${ALGS[alg].sig}"/>` +
    `<ds:Reference URI="#${id}"><ds:Transforms>` +
    `<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>` +
    `<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms>` +
    `<ds:DigestMethod Algorithm="${ALGS[digest].digest}"/><ds:DigestValue></ds:DigestValue></ds:Reference>` +
    `</ds:SignedInfo><ds:SignatureValue></ds:SignatureValue>` +
    (alg === 'hmac-sha256' ? '' : `<ds:KeyInfo><ds:X509Data></ds:X509Data></ds:KeyInfo>`) +
    `</ds:Signature>`
  );
}

/** The marker a template leaves where an element's signature goes (after its Issuer, as the schema orders). */
const SIG_MARK = (id: string) => `<!--signature:${id}-->`;

function assertionXml(o: ResponseOptions, assertionId: string, now: Date): string {
  const p = o.shape === 'okta' ? 'saml2:' : '';
  const xmlns = o.shape === 'okta' ? `xmlns:saml2="${NS.assertion}"` : `xmlns="${NS.assertion}"`;
  const notBefore = o.notBefore ?? new Date(now.getTime() - 60_000);
  const notOnOrAfter = o.notOnOrAfter ?? new Date(now.getTime() + 5 * 60_000);
  const subjectNotOnOrAfter = o.subjectNotOnOrAfter ?? notOnOrAfter;
  const inResponseTo = o.inResponseTo === undefined ? '' : ` InResponseTo="${escapeXml(o.inResponseTo)}"`;
  const format = o.nameIdFormat ?? (o.shape === 'okta' ? NS.emailAddress : NS.persistent);
  const attrs = Object.entries(o.attributes)
    .map(([name, value]) => {
      const values = (Array.isArray(value) ? value : [value])
        .map((v) => (o.shape === 'okta' ? `<${p}AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">${escapeXml(v)}</${p}AttributeValue>` : `<${p}AttributeValue>${escapeXml(v)}</${p}AttributeValue>`))
        .join('');
      const nameFormat = o.shape === 'okta' ? ` NameFormat="${NS.basic}"` : '';
      return `<${p}Attribute Name="${escapeXml(name)}"${nameFormat}>${values}</${p}Attribute>`;
    })
    .join('');
  return (
    `<${p}Assertion ${xmlns} ID="${assertionId}" IssueInstant="${instant(now)}" Version="2.0">` +
    `<${p}Issuer>${escapeXml(o.assertionIssuer ?? o.issuer)}</${p}Issuer>${SIG_MARK(assertionId)}` +
    `<${p}Subject><${p}NameID Format="${format}">${o.nameId}</${p}NameID>` +
    `<${p}SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><${p}SubjectConfirmationData${inResponseTo} NotOnOrAfter="${instant(subjectNotOnOrAfter)}" Recipient="${escapeXml(o.recipient ?? o.destination)}"/></${p}SubjectConfirmation></${p}Subject>` +
    `<${p}Conditions NotBefore="${instant(notBefore)}" NotOnOrAfter="${instant(notOnOrAfter)}"><${p}AudienceRestriction><${p}Audience>${escapeXml(o.audience)}</${p}Audience></${p}AudienceRestriction></${p}Conditions>` +
    `<${p}AuthnStatement AuthnInstant="${instant(now)}" SessionIndex="${assertionId}"><${p}AuthnContext><${p}AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport</${p}AuthnContextClassRef></${p}AuthnContext></${p}AuthnStatement>` +
    (attrs ? `<${p}AttributeStatement>${attrs}</${p}AttributeStatement>` : '') +
    `</${p}Assertion>`
  );
}

function responseXml(o: ResponseOptions, responseId: string, assertion: string, now: Date): string {
  const okta = o.shape === 'okta';
  const [rp, ap] = okta ? ['saml2p:', 'saml2:'] : ['samlp:', ''];
  const xmlns = okta ? `xmlns:saml2p="${NS.protocol}"` : `xmlns:samlp="${NS.protocol}"`;
  const issuer = okta ? `<saml2:Issuer xmlns:saml2="${NS.assertion}">${escapeXml(o.issuer)}</saml2:Issuer>` : `<Issuer xmlns="${NS.assertion}">${escapeXml(o.issuer)}</Issuer>`;
  const inResponseTo = o.inResponseTo === undefined ? '' : ` InResponseTo="${escapeXml(o.inResponseTo)}"`;
  const body = o.encryptTo ? `<${ap || 'saml:'}EncryptedAssertion xmlns:${(ap || 'saml:').slice(0, -1)}="${NS.assertion}">${assertion}</${ap || 'saml:'}EncryptedAssertion>` : assertion;
  return (
    `<${rp}Response ${xmlns} ID="${responseId}" Version="2.0" IssueInstant="${instant(now)}" Destination="${escapeXml(o.destination)}"${inResponseTo}>` +
    `${issuer}${SIG_MARK(responseId)}<${rp}Status><${rp}StatusCode Value="${o.statusCode ?? NS.success}"/></${rp}Status>${body}</${rp}Response>`
  );
}

async function withTemp<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'saml-xml-'));
  try {
    return await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const ID_ATTRS = ['--id-attr:ID', `${NS.assertion}:Assertion`, '--id-attr:ID', `${NS.protocol}:Response`, '--id-attr:ID', `${NS.protocol}:LogoutRequest`, '--id-attr:ID', `${NS.protocol}:LogoutResponse`];

/**
 * Fills a Signature template in `xml` with xmlsec1: the first in document order, or the one at `nodeXpath`
 * (see byId). The template must already be in place (see signatureTemplate).
 */
export async function xmlsecSign(xml: string, key: KeyFiles, nodeXpath?: string): Promise<string> {
  return withTemp(async (dir) => {
    const input = path.join(dir, 'in.xml');
    await fs.writeFile(input, xml);
    const args = ['--sign', ...(key.hmac ? ['--hmackey', key.key] : ['--privkey-pem', `${key.key},${key.cert}`]), ...ID_ATTRS];
    if (nodeXpath) args.push('--node-xpath', nodeXpath);
    const { stdout } = await run('xmlsec1', [...args, input], { maxBuffer: 16 << 20 });
    return stripDecl(stdout);
  });
}

/** Whether xmlsec1 verifies the signature at `nodeXpath` (default: the first) with exactly this certificate (or HMAC secret). */
export async function xmlsecVerify(xml: string, cert: string | { hmacKey: string }, nodeXpath?: string): Promise<boolean> {
  return withTemp(async (dir) => {
    const input = path.join(dir, 'in.xml');
    await fs.writeFile(input, xml);
    const key = typeof cert === 'string' ? ['--pubkey-cert-pem', cert, '--enabled-key-data', 'rsa'] : ['--hmackey', cert.hmacKey, '--enabled-key-data', 'hmac'];
    const args = ['--verify', ...key, ...ID_ATTRS];
    if (nodeXpath) args.push('--node-xpath', nodeXpath);
    try {
      await run('xmlsec1', [...args, input]);
      return true;
    } catch {
      return false;
    }
  });
}

/** Replaces the element at `nodeXpath` with its encryption to `cert` (RSA-OAEP key transport, AES-256-CBC). */
export async function xmlsecEncrypt(xml: string, cert: string, nodeXpath: string): Promise<string> {
  const template =
    `<xenc:EncryptedData xmlns:xenc="${NS.xenc}" Type="${NS.xenc}Element"><xenc:EncryptionMethod Algorithm="${NS.xenc}aes256-cbc"/>` +
    `<ds:KeyInfo xmlns:ds="${NS.dsig}"><xenc:EncryptedKey><xenc:EncryptionMethod Algorithm="${NS.xenc}rsa-oaep-mgf1p"><ds:DigestMethod Algorithm="${NS.dsig}sha1"/></xenc:EncryptionMethod>` +
    `<xenc:CipherData><xenc:CipherValue></xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey></ds:KeyInfo>` +
    `<xenc:CipherData><xenc:CipherValue></xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>`;
  return withTemp(async (dir) => {
    const [tmpl, data] = [path.join(dir, 'tmpl.xml'), path.join(dir, 'data.xml')];
    await fs.writeFile(tmpl, template);
    await fs.writeFile(data, xml);
    const args = ['--encrypt', '--pubkey-cert-pem', cert, '--session-key', 'aes-256', '--xml-data', data, '--node-xpath', nodeXpath, tmpl];
    const { stdout } = await run('xmlsec1', args, { maxBuffer: 16 << 20 });
    return stripDecl(stdout);
  });
}

const stripDecl = (xml: string): string => xml.replace(/^<\?xml[^>]*\?>\s*/, '').trimEnd();

/** XPath of the Signature inside the element with this ID, whatever the namespace prefixes. */
export const byId = (id: string): string => `//*[@ID='${id}']/*[local-name()='Signature']`;

/** The signed (and optionally encrypted) Response XML. */
export async function buildResponseXml(o: ResponseOptions): Promise<{ xml: string; responseId: string; assertionId: string }> {
  const now = new Date();
  const responseId = o.responseId ?? newId();
  const assertionId = o.assertionId ?? newId();
  const alg = o.alg ?? 'sha256';
  const digest = o.digest ?? (alg === 'hmac-sha256' ? 'sha256' : alg);
  const signAssertion = o.sign === 'assertion' || o.sign === 'both';
  const signResponse = o.sign === 'response' || o.sign === 'both';

  let assertion = assertionXml(o, assertionId, now);
  assertion = assertion.replace(SIG_MARK(assertionId), signAssertion ? signatureTemplate(assertionId, alg, digest) : '');
  if (o.editAssertion) assertion = o.editAssertion(assertion);
  // The assertion is signed on its own first, so the response signature (if any) covers the signed assertion.
  if (signAssertion) assertion = await xmlsecSign(assertion, o.key, byId(assertionId));

  let xml = responseXml(o, responseId, assertion, now);
  if (o.encryptTo) xml = await xmlsecEncrypt(xml, o.encryptTo, `//*[local-name()='EncryptedAssertion']/*[local-name()='Assertion']`);
  xml = xml.replace(SIG_MARK(responseId), signResponse ? signatureTemplate(responseId, alg, digest) : '');
  if (o.editResponse) xml = o.editResponse(xml);
  if (signResponse) xml = await xmlsecSign(xml, o.key, byId(responseId));
  return { xml, responseId, assertionId };
}

/** The base64 SAMLResponse form value. */
export async function buildResponse(o: ResponseOptions): Promise<string> {
  return Buffer.from((await buildResponseXml(o)).xml, 'utf8').toString('base64');
}

/** A LogoutRequest (SAML core §3.7.1) from the IdP, from a template (IdP-initiated single logout). */
export interface LogoutRequestOptions {
  id?: string;
  issuer: string;
  destination: string;
  /** NameID text (escaped here). */
  nameId: string;
  nameIdFormat?: string;
  sessionIndex?: string;
  issueInstant?: Date;
  notOnOrAfter?: Date;
}

export function logoutRequestXml(o: LogoutRequestOptions): { xml: string; id: string } {
  const id = o.id ?? newId();
  const now = o.issueInstant ?? new Date();
  const notOnOrAfter = o.notOnOrAfter ?? new Date(now.getTime() + 5 * 60_000);
  const xml =
    `<samlp:LogoutRequest xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${id}" Version="2.0" IssueInstant="${instant(now)}" Destination="${escapeXml(o.destination)}" NotOnOrAfter="${instant(notOnOrAfter)}">` +
    `<saml:Issuer>${escapeXml(o.issuer)}</saml:Issuer>${SIG_MARK(id)}` +
    `<saml:NameID Format="${o.nameIdFormat ?? NS.persistent}">${escapeXml(o.nameId)}</saml:NameID>` +
    (o.sessionIndex ? `<samlp:SessionIndex>${escapeXml(o.sessionIndex)}</samlp:SessionIndex>` : '') +
    `</samlp:LogoutRequest>`;
  return { xml, id };
}

/** A LogoutResponse (SAML core §3.7.2) from the IdP, from a template. */
export interface LogoutResponseOptions {
  id?: string;
  issuer: string;
  destination: string;
  inResponseTo: string;
  statusCode?: string;
  /** A second-level status (e.g. PartialLogout). */
  subStatusCode?: string;
}

export function logoutResponseXml(o: LogoutResponseOptions): { xml: string; id: string } {
  const id = o.id ?? newId();
  const sub = o.subStatusCode ? `<samlp:StatusCode Value="${o.subStatusCode}"/>` : '';
  const xml =
    `<samlp:LogoutResponse xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${id}" Version="2.0" IssueInstant="${instant(new Date())}" Destination="${escapeXml(o.destination)}" InResponseTo="${escapeXml(o.inResponseTo)}">` +
    `<saml:Issuer>${escapeXml(o.issuer)}</saml:Issuer>${SIG_MARK(id)}` +
    `<samlp:Status><samlp:StatusCode Value="${o.statusCode ?? NS.success}">${sub}</samlp:StatusCode></samlp:Status>` +
    `</samlp:LogoutResponse>`;
  return { xml, id };
}

/** The message with its enveloped signature by xmlsec1 (HTTP-POST binding), or left unsigned with `key` undefined. */
export async function signLogoutXml(m: { xml: string; id: string }, key: KeyFiles | undefined): Promise<string> {
  const xml = m.xml.replace(SIG_MARK(m.id), key ? signatureTemplate(m.id) : '');
  return key ? xmlsecSign(xml, key, byId(m.id)) : xml;
}

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';

/**
 * The HTTP-Redirect binding's query (bindings §3.4.4.1): DEFLATE, base64, and the signature over
 * `SAMLRequest|SAMLResponse=...&RelayState=...&SigAlg=...` by the openssl command line (not the broker's code).
 */
export async function redirectQuery(kind: 'SAMLRequest' | 'SAMLResponse', xml: string, relayState: string | undefined, key: KeyFiles | undefined): Promise<string> {
  const parts = [`${kind}=${encodeURIComponent(deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'))}`];
  if (relayState !== undefined) parts.push(`RelayState=${encodeURIComponent(relayState)}`);
  if (!key) return parts.join('&');
  parts.push(`SigAlg=${encodeURIComponent(RSA_SHA256)}`);
  const octets = parts.join('&');
  const signature = await withTemp(async (dir) => {
    const input = path.join(dir, 'octets');
    await fs.writeFile(input, octets);
    const { stdout } = await run('openssl', ['dgst', '-sha256', '-sign', key.key, input], { encoding: 'buffer' });
    return stdout.toString('base64');
  });
  return `${octets}&Signature=${encodeURIComponent(signature)}`;
}

/** Whether the redirect query's signature verifies with this certificate (openssl), over the parameters as received. */
export async function verifyRedirectQuery(rawQuery: string, certFile: string): Promise<boolean> {
  const pairs = rawQuery.split('&');
  const raw = (n: string) => pairs.find((p) => p.startsWith(`${n}=`))?.slice(n.length + 1);
  const kind = raw('SAMLRequest') !== undefined ? 'SAMLRequest' : 'SAMLResponse';
  const [message, relay, sigAlg, sig] = [raw(kind), raw('RelayState'), raw('SigAlg'), raw('Signature')];
  if (message === undefined || sigAlg === undefined || sig === undefined || decodeURIComponent(sigAlg) !== RSA_SHA256) return false;
  const octets = [`${kind}=${message}`, ...(relay === undefined ? [] : [`RelayState=${relay}`]), `SigAlg=${sigAlg}`].join('&');
  return withTemp(async (dir) => {
    const [input, sigFile, pub] = [path.join(dir, 'octets'), path.join(dir, 'sig'), path.join(dir, 'pub.pem')];
    await fs.writeFile(input, octets);
    await fs.writeFile(sigFile, Buffer.from(decodeURIComponent(sig), 'base64'));
    const { stdout } = await run('openssl', ['x509', '-pubkey', '-noout', '-in', certFile]);
    await fs.writeFile(pub, stdout);
    try {
      await run('openssl', ['dgst', '-sha256', '-verify', pub, '-signature', sigFile, input]);
      return true;
    } catch {
      return false;
    }
  });
}
