/**
 * SAML single logout messages (SAML core §3.7, bindings §3.4 and §3.5), built and checked here without
 * node-saml's logout code: node-saml 5 accepts unsigned HTTP-Redirect logout messages and keeps request IDs in
 * a process-wide cache, so we sign what we send and verify what we receive ourselves.
 * - Sending: a LogoutRequest or LogoutResponse, signed by the SP key: HTTP-Redirect with the query signature
 *   (bindings §3.4.4.1: DEFLATE, base64, SigAlg RSA-SHA256 over `SAMLRequest=...&RelayState=...&SigAlg=...`),
 *   or HTTP-POST with an enveloped XML signature (base64, not deflated: bindings §3.5.4).
 * - Receiving: the query signature over the exact encoded parameters as received, with the IdP metadata's
 *   signing certificates, or the enveloped XML signature (node-saml's getVerifiedXml, the signed bytes only
 *   read afterwards, as the login does); unsigned messages are refused. Then the fields are read and checked.
 */
import { constants, createHash, sign as rsaSign, verify as rsaVerify } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { signSamlPost } from '@node-saml/node-saml/lib/saml-post-signing.js';
import { getVerifiedXml } from '@node-saml/node-saml/lib/xml.js';
// XML text and quoted attribute values need the same escapes as HTML's (&#39; is XML too).
import { escapeHtml as esc } from '../../html.js';
import { certPem } from './authn-request.js';
import { checkAlgorithms, CLOCK_SKEW_MS } from './response-checks.js';
import { attr, child, children, hasComment, NS, parseXml, text } from './xml-dom.js';

export class LogoutRejected extends Error {}

function reject(reason: string): never {
  throw new LogoutRejected(reason);
}

/** Quoted and cut, for a log line: values from the message are the sender's. */
const q = (v: string) => JSON.stringify(v.length > 120 ? `${v.slice(0, 120)}...` : v);

export const STATUS = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  partialLogout: 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout',
} as const;

const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
/** Query signature algorithms we accept (bindings §3.4.4.1 SigAlg), with the hash each uses. */
const SIG_ALGS: Record<string, string> = {
  [RSA_SHA256]: 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384': 'sha384',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': 'sha512',
};
const RSA_SHA1 = 'http://www.w3.org/2000/09/xmldsig#rsa-sha1';
/** A logout message is a few kB; anything inflating beyond this is refused (a DEFLATE bomb). */
const MAX_XML_BYTES = 128 * 1024;
const MAX_ID_LENGTH = 256;
/** Bindings §3.4.3: RelayState is at most 80 bytes; we allow more, never unbounded. */
export const MAX_RELAY_STATE = 1024;

export type MessageKind = 'SAMLRequest' | 'SAMLResponse';

export interface NameId {
  value: string;
  format?: string;
  nameQualifier?: string;
  spNameQualifier?: string;
}

const instant = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const opt = (name: string, v: string | undefined) => (v ? ` ${name}="${esc(v)}"` : '');
const XMLNS = `xmlns:samlp="${NS.samlp}" xmlns:saml="${NS.saml}"`;

export interface LogoutRequestInput {
  id: string;
  now: number;
  destination: string;
  issuer: string;
  nameId: NameId;
  sessionIndex?: string;
  /** How long the IdP may act on it (core §3.7.1 NotOnOrAfter). */
  validForMs: number;
}

export function logoutRequestXml(i: LogoutRequestInput): string {
  const n = i.nameId;
  return (
    `<samlp:LogoutRequest ${XMLNS} ID="${esc(i.id)}" Version="2.0" IssueInstant="${instant(i.now)}" Destination="${esc(i.destination)}" NotOnOrAfter="${instant(i.now + i.validForMs)}">` +
    `<saml:Issuer>${esc(i.issuer)}</saml:Issuer>` +
    `<saml:NameID${opt('Format', n.format)}${opt('NameQualifier', n.nameQualifier)}${opt('SPNameQualifier', n.spNameQualifier)}>${esc(n.value)}</saml:NameID>` +
    (i.sessionIndex ? `<samlp:SessionIndex>${esc(i.sessionIndex)}</samlp:SessionIndex>` : '') +
    `</samlp:LogoutRequest>`
  );
}

export interface LogoutResponseInput {
  id: string;
  now: number;
  destination: string;
  issuer: string;
  inResponseTo: string;
}

/** Always Success: the broker has dropped whatever it held for the subject (core §3.7.3.2). */
export function logoutResponseXml(i: LogoutResponseInput): string {
  return (
    `<samlp:LogoutResponse ${XMLNS} ID="${esc(i.id)}" Version="2.0" IssueInstant="${instant(i.now)}" Destination="${esc(i.destination)}" InResponseTo="${esc(i.inResponseTo)}">` +
    `<saml:Issuer>${esc(i.issuer)}</saml:Issuer>` +
    `<samlp:Status><samlp:StatusCode Value="${STATUS.success}"/></samlp:Status>` +
    `</samlp:LogoutResponse>`
  );
}

/** HTTP-POST: the message with an enveloped RSA-SHA256 signature after its Issuer (core §5.4), base64. */
export function signedPostValue(xml: string, keyPem: string): string {
  const root = /^<samlp:(\w+)/.exec(xml)?.[1] ?? '';
  const signed = signSamlPost(xml, `/*[local-name(.)="${root}" and namespace-uri(.)="${NS.samlp}"]`, { privateKey: keyPem, signatureAlgorithm: 'sha256', digestAlgorithm: 'sha256' });
  return Buffer.from(signed, 'utf8').toString('base64');
}

/** HTTP-Redirect: `url` with SAMLRequest/SAMLResponse (DEFLATE, base64), RelayState, SigAlg and Signature. */
export function signedRedirectUrl(url: string, kind: MessageKind, xml: string, relayState: string | undefined, keyPem: string): string {
  const parts = [`${kind}=${encodeURIComponent(deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'))}`];
  if (relayState) parts.push(`RelayState=${encodeURIComponent(relayState)}`);
  parts.push(`SigAlg=${encodeURIComponent(RSA_SHA256)}`);
  const octets = parts.join('&');
  const signature = rsaSign('sha256', Buffer.from(octets, 'utf8'), { key: keyPem, padding: constants.RSA_PKCS1_PADDING }).toString('base64');
  return `${url}${url.includes('?') ? '&' : '?'}${octets}&Signature=${encodeURIComponent(signature)}`;
}

/** A logout message as received, its signature verified; `root` is read from the signed bytes only. */
export interface VerifiedMessage {
  kind: MessageKind;
  root: Element;
  relayState: string;
  binding: 'redirect' | 'post';
}

/** One raw (still URL-encoded) query parameter, or undefined; twice is refused (which one was signed?). */
function rawParam(pairs: string[], name: string): string | undefined {
  const found = pairs.filter((p) => p.split('=')[0] === name);
  if (found.length > 1) reject(`the query has ${name} twice`);
  const p = found[0];
  return p === undefined ? undefined : p.slice(name.length + 1);
}

function decodeParam(raw: string, name: string): string {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return reject(`${name} is not URL-encoded`);
  }
}

function parseMessage(xml: string): Element {
  const doc = parseXml(xml, 'the logout message');
  if (hasComment(doc)) reject('the logout message contains an XML comment (refused: comments can truncate a NameID)');
  return doc.documentElement;
}

/**
 * HTTP-Redirect (bindings §3.4.4.1): the signature over `SAMLRequest|SAMLResponse=...&RelayState=...&SigAlg=...`
 * exactly as the parameters were encoded in `rawQuery` (re-encoding could differ), checked with the IdP's certs.
 */
export function verifyRedirect(rawQuery: string, idpCerts: string[], o: { allowSha1: boolean }): VerifiedMessage {
  const pairs = rawQuery.split('&').filter(Boolean);
  const request = rawParam(pairs, 'SAMLRequest');
  const response = rawParam(pairs, 'SAMLResponse');
  if ((request === undefined) === (response === undefined)) reject('the query carries neither or both of SAMLRequest and SAMLResponse');
  const kind: MessageKind = request !== undefined ? 'SAMLRequest' : 'SAMLResponse';
  const message = (request ?? response) as string;
  const relayRaw = rawParam(pairs, 'RelayState');
  const sigAlgRaw = rawParam(pairs, 'SigAlg');
  const signatureRaw = rawParam(pairs, 'Signature');
  if (sigAlgRaw === undefined || signatureRaw === undefined) reject('the logout message is not signed (no SigAlg and Signature): unsigned messages are refused');
  const sigAlg = decodeParam(sigAlgRaw, 'SigAlg');
  const hash = SIG_ALGS[sigAlg] ?? (o.allowSha1 && sigAlg === RSA_SHA1 ? 'sha1' : undefined);
  if (!hash) reject(`signature algorithm ${q(sigAlg)} is not allowed${sigAlg === RSA_SHA1 ? ' (SHA-1: refused unless the profile sets AllowSHA1)' : ''}`);
  const octets = [`${kind}=${message}`, ...(relayRaw === undefined ? [] : [`RelayState=${relayRaw}`]), `SigAlg=${sigAlgRaw}`].join('&');
  const signature = Buffer.from(decodeParam(signatureRaw, 'Signature'), 'base64');
  const ok = idpCerts.some((c) => {
    try {
      return rsaVerify(hash, Buffer.from(octets, 'utf8'), { key: certPem(c), padding: constants.RSA_PKCS1_PADDING }, signature);
    } catch {
      return false;
    }
  });
  if (!ok) reject('the query signature does not verify with the IdP metadata\'s signing certificates');
  let xml: string;
  try {
    xml = inflateRawSync(Buffer.from(decodeParam(message, kind), 'base64'), { maxOutputLength: MAX_XML_BYTES }).toString('utf8');
  } catch {
    return reject(`${kind} is not DEFLATE-compressed base64 (HTTP-Redirect binding) or is too large`);
  }
  const relayState = relayRaw === undefined ? '' : decodeParam(relayRaw, 'RelayState');
  return { kind, root: parseMessage(xml), relayState, binding: 'redirect' };
}

/**
 * HTTP-POST (bindings §3.5.5.2): the message's own enveloped signature, with allowed algorithms only, verified
 * by node-saml's getVerifiedXml (the Signature a child of the root, its one Reference the root); the root is
 * then read from the bytes the signature covers, never from the document as posted.
 */
export function verifyPost(form: Record<string, unknown>, idpCerts: string[], o: { allowSha1: boolean }): VerifiedMessage {
  const request = form.SAMLRequest;
  const response = form.SAMLResponse;
  const value = typeof request === 'string' ? request : response;
  if (typeof value !== 'string' || value === '' || (typeof request === 'string' && typeof response === 'string')) reject('the form carries neither or both of SAMLRequest and SAMLResponse');
  const kind: MessageKind = typeof request === 'string' ? 'SAMLRequest' : 'SAMLResponse';
  const xml = Buffer.from(value, 'base64').toString('utf8');
  if (xml.length > MAX_XML_BYTES) reject(`${kind} is too large`);
  const root = parseMessage(xml);
  if (children(root, NS.ds, 'Signature').length === 0) reject('the logout message is not signed (no enveloped Signature): unsigned messages are refused');
  checkAlgorithms(root.ownerDocument, o.allowSha1);
  let signed: string | null;
  try {
    signed = getVerifiedXml(xml, root, idpCerts.map(certPem));
  } catch (err) {
    return reject(`the signature is invalid: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!signed) reject("the signature does not verify with the IdP metadata's signing certificates");
  const relayState = typeof form.RelayState === 'string' ? form.RelayState : '';
  return { kind, root: parseMessage(signed), relayState, binding: 'post' };
}

/** The common header of a logout message (core §3.2.1, §3.2.2). */
function header(root: Element, e: { idpEntityId: string; slo: string }): { id: string; issueInstant: number } {
  const id = attr(root, 'ID');
  if (id === '' || id.length > MAX_ID_LENGTH) reject(`the message ID is ${id === '' ? 'missing' : 'too long'}`);
  if (attr(root, 'Version') !== '2.0') reject(`Version ${q(attr(root, 'Version'))} is not 2.0`);
  // Bindings §3.4.5.2 / §3.5.5.2: a signed message names where it was sent; ours, or it was meant elsewhere.
  const destination = attr(root, 'Destination');
  if (destination !== e.slo) reject(`Destination ${q(destination || '(none)')} is not our SingleLogoutService ${q(e.slo)}`);
  const issuer = text(child(root, NS.saml, 'Issuer'));
  if (issuer !== e.idpEntityId) reject(`the Issuer ${q(issuer || '(none)')} is not the IdP ${q(e.idpEntityId)} of the metadata`);
  const issueInstant = Date.parse(attr(root, 'IssueInstant'));
  if (Number.isNaN(issueInstant)) reject('IssueInstant is missing or not a dateTime');
  return { id, issueInstant };
}

export interface LogoutResponseFacts {
  id: string;
  inResponseTo: string;
  /** The second-level status said PartialLogout: the IdP could not end every session (core §3.2.2.2). */
  partial: boolean;
}

/** A LogoutResponse from the IdP: our Destination, the IdP's Issuer, Success (a partial logout noted). */
export function checkLogoutResponse(root: Element, e: { idpEntityId: string; slo: string }): LogoutResponseFacts {
  if (root.namespaceURI !== NS.samlp || root.localName !== 'LogoutResponse') reject(`the message is ${q(root.localName ?? '')}, not a samlp:LogoutResponse`);
  const { id } = header(root, e);
  const inResponseTo = attr(root, 'InResponseTo');
  if (inResponseTo === '') reject('the LogoutResponse has no InResponseTo');
  const top = child(child(root, NS.samlp, 'Status') ?? root, NS.samlp, 'StatusCode');
  const status = attr(top, 'Value');
  const second = attr(child(top ?? root, NS.samlp, 'StatusCode'), 'Value');
  const partial = second === STATUS.partialLogout;
  if (status !== STATUS.success && !partial) reject(`the IdP answered status ${q(status || '(none)')}${second ? ` / ${q(second)}` : ''}`);
  return { id, inResponseTo, partial };
}

export interface LogoutRequestFacts {
  id: string;
  nameId: NameId;
  sessionIndexes: string[];
  /** Until when a replay must be refused: NotOnOrAfter, or IssueInstant + MAX_REQUEST_AGE_MS, plus the skew. */
  usableUntil: number;
}

/** A LogoutRequest older than this (by IssueInstant) is refused, so its replay mark need not live longer. */
export const MAX_REQUEST_AGE_MS = 10 * 60_000;

/** An IdP-initiated LogoutRequest: our Destination, the IdP's Issuer, in time, a plain NameID. */
export function checkLogoutRequest(root: Element, e: { idpEntityId: string; slo: string; now: number }): LogoutRequestFacts {
  if (root.namespaceURI !== NS.samlp || root.localName !== 'LogoutRequest') reject(`the message is ${q(root.localName ?? '')}, not a samlp:LogoutRequest`);
  const { id, issueInstant } = header(root, e);
  if (issueInstant > e.now + CLOCK_SKEW_MS) reject('IssueInstant is in the future');
  if (issueInstant + MAX_REQUEST_AGE_MS + CLOCK_SKEW_MS <= e.now) reject(`IssueInstant is older than ${MAX_REQUEST_AGE_MS / 60_000} minutes`);
  const notOnOrAfterText = attr(root, 'NotOnOrAfter');
  const notOnOrAfter = notOnOrAfterText === '' ? undefined : Date.parse(notOnOrAfterText);
  if (notOnOrAfter !== undefined && Number.isNaN(notOnOrAfter)) reject('NotOnOrAfter is not a dateTime');
  if (notOnOrAfter !== undefined && notOnOrAfter + CLOCK_SKEW_MS <= e.now) reject('the LogoutRequest has expired (NotOnOrAfter)');
  const nameIdEl = child(root, NS.saml, 'NameID');
  // An EncryptedID would need our key; IdPs send it only when the SP metadata asks, which ours does not.
  if (!nameIdEl) reject('the LogoutRequest has no saml:NameID');
  const value = text(nameIdEl);
  if (value === '') reject('the NameID is empty');
  const nameId: NameId = { value };
  if (attr(nameIdEl, 'Format')) nameId.format = attr(nameIdEl, 'Format');
  if (attr(nameIdEl, 'NameQualifier')) nameId.nameQualifier = attr(nameIdEl, 'NameQualifier');
  if (attr(nameIdEl, 'SPNameQualifier')) nameId.spNameQualifier = attr(nameIdEl, 'SPNameQualifier');
  const sessionIndexes = children(root, NS.samlp, 'SessionIndex').map(text).filter(Boolean);
  const usableUntil = Math.min(notOnOrAfter ?? Infinity, issueInstant + MAX_REQUEST_AGE_MS) + CLOCK_SKEW_MS;
  return { id, nameId, sessionIndexes, usableUntil };
}

/** A replay-cache key for a message or request ID (hashed: IDs are the sender's, keys stay small). */
export const idMark = (prefix: string, id: string) => `${prefix}:${createHash('sha256').update(id).digest('base64url')}`;
