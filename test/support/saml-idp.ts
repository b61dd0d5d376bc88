/**
 * A SAML 2.0 identity provider for the tests, independent of the broker's SAML library: keys from the openssl
 * CLI, XML from templates, signatures and encryption by xmlsec1 (see saml-xml.ts). It serves its metadata,
 * takes AuthnRequests by the HTTP-Redirect binding (DEFLATE + base64) and the HTTP-POST binding (base64 only:
 * a deflated POST request is refused, as strict IdPs do), records each request, signs the configured user in
 * without any UI and answers with an auto-submitting form that POSTs SAMLResponse and RelayState to the ACS.
 * With `slo`, it offers single logout: it takes the SP's LogoutRequest (signature checked by openssl or xmlsec1
 * with the SP's certificate), answers with a signed LogoutResponse to the SingleLogoutService of the SP's own
 * metadata (fetched from the request's Issuer), and makes IdP-initiated LogoutRequests (logoutRequest()).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { inflateRawSync } from 'node:zlib';
import express from 'express';
import {
  buildResponse,
  byId,
  ENTRA_CLAIMS,
  escapeXml,
  logoutRequestXml,
  logoutResponseXml,
  NS,
  redirectQuery,
  signLogoutXml,
  verifyRedirectQuery,
  xmlsecVerify,
  type KeyFiles,
  type LogoutRequestOptions,
  type LogoutResponseOptions,
  type ResponseOptions,
  type Shape,
} from './saml-xml.js';

export * from './saml-xml.js';

/** Keys of one test run: the IdP's signing pair, a rogue pair not in the metadata, and the SP's PEM. */
export interface SamlKeys {
  dir: string;
  idp: KeyFiles;
  /** A key the metadata does not name (for "signed by someone else"). */
  rogue: KeyFiles;
  /** The SP's certificate alone (what the IdP encrypts to). */
  spCert: string;
  /** The SP's CertLocation: certificate then RSA private key in one file, mode 0600. */
  spPem: string;
  /** The SP's private key alone (to look for it in logs). */
  spKey: string;
}

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });

function selfSigned(dir: string, name: string): KeyFiles {
  const key = path.join(dir, `${name}-key.pem`);
  const cert = path.join(dir, `${name}.pem`);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name} SAML test`, '-keyout', key, '-out', cert], dir);
  return { key, cert };
}

/** Generates every key a SAML test needs in a fresh temp dir. */
export async function makeSamlKeys(): Promise<SamlKeys> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'saml-keys-'));
  const idp = selfSigned(dir, 'idp');
  const rogue = selfSigned(dir, 'rogue');
  const sp = selfSigned(dir, 'sp');
  // TIB's CertLocation is one file with the certificate and a PKCS#1 ("RSA PRIVATE KEY") key.
  const rsaKey = path.join(dir, 'sp-rsa-key.pem');
  openssl(['rsa', '-in', sp.key, '-traditional', '-out', rsaKey], dir);
  const spPem = path.join(dir, 'sp-cert-and-key.pem');
  await fs.writeFile(spPem, (await fs.readFile(sp.cert, 'utf8')) + (await fs.readFile(rsaKey, 'utf8')), { mode: 0o600 });
  await fs.chmod(dir, 0o700);
  return { dir, idp, rogue, spCert: sp.cert, spPem, spKey: await fs.readFile(rsaKey, 'utf8') };
}

/** The base64 body of a PEM certificate, as metadata carries it. */
export async function certBody(certFile: string): Promise<string> {
  return (await fs.readFile(certFile, 'utf8')).replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
}

/** The user the IdP signs in, in one of the two shapes. */
export interface SamlUser {
  /** The persistent NameID (Entra shape); the Okta shape sends the email as NameID. */
  nameId: string;
  email: string;
  givenName: string;
  surname: string;
  groups: string[];
  /** Entra's objectidentifier (a GUID). */
  objectId?: string;
}

/** The attributes an IdP of that shape sends for the user. */
export function attributesFor(shape: Shape, u: SamlUser): Record<string, string | string[]> {
  if (shape === 'okta') return { email: u.email, firstName: u.givenName, lastName: u.surname, groups: u.groups };
  return {
    [ENTRA_CLAIMS.objectId]: u.objectId ?? '3f1a9c52-7e4b-4d2a-9a61-0c5b8e7d2f10',
    [ENTRA_CLAIMS.givenName]: u.givenName,
    [ENTRA_CLAIMS.surname]: u.surname,
    [ENTRA_CLAIMS.name]: u.email,
    [ENTRA_CLAIMS.email]: u.email,
    [ENTRA_CLAIMS.groups]: u.groups,
  };
}

/** One AuthnRequest as the IdP received it. */
export interface RecordedAuthnRequest {
  binding: 'redirect' | 'post';
  xml: string;
  id: string;
  acsUrl: string | undefined;
  issuer: string | undefined;
  forceAuthn: boolean;
  destination: string | undefined;
  protocolBinding: string | undefined;
  relayState: string | undefined;
  /** The redirect binding's detached signature parameters, when the SP signed. */
  sigAlg: string | undefined;
}

export type MetadataMode = 'ok' | 'garbage' | 500 | 'hang';

/** A logout message (the SP's LogoutRequest, or its LogoutResponse to ours) as the IdP received it. */
export interface RecordedLogoutMessage {
  kind: 'LogoutRequest' | 'LogoutResponse';
  /** Where it arrived: `/slo/redirect`, `/slo/post`, or `/slo/answers/...` (the ResponseLocation). */
  path: string;
  binding: 'redirect' | 'post';
  xml: string;
  /** The signature verified with the SP's certificate (openssl for the query, xmlsec1 for the XML). */
  signatureValid: boolean;
  id: string | undefined;
  inResponseTo: string | undefined;
  issuer: string | undefined;
  destination: string | undefined;
  nameId: string | undefined;
  sessionIndex: string | undefined;
  status: string | undefined;
  relayState: string | undefined;
}

/** A message from the IdP to the SP's SingleLogoutService: a URL to GET (redirect) or a form to POST. */
export interface OutgoingLogout {
  id: string;
  xml: string;
  url?: string;
  form?: { action: string; fields: Record<string, string> };
}

export interface TestIdpOptions {
  keys: SamlKeys;
  shape?: Shape;
  /** Which SSO bindings the metadata advertises (default both). */
  bindings?: Array<'redirect' | 'post'>;
  /** Serve the metadata inside an EntitiesDescriptor, after another entity: an SP-only one, or another IdP. */
  federation?: false | 'sp-first' | 'idp-first';
  /** The host name in the IdP's URLs (default 127.0.0.1; `localhost` makes it another site than the broker). */
  host?: string;
  /** Which SingleLogoutService bindings the metadata advertises (default none: no single logout). */
  slo?: Array<'redirect' | 'post'>;
  /** The SingleLogoutServices name a ResponseLocation apart from their Location (`/slo/answers/...`). */
  sloResponseLocation?: boolean;
}

export interface TestIdp {
  url: string;
  entityId: string;
  metadataUrl: string;
  ssoRedirectUrl: string;
  ssoPostUrl: string;
  keys: SamlKeys;
  /** Every AuthnRequest received, in order. */
  requests: RecordedAuthnRequest[];
  /** Every SAMLResponse (base64) the IdP sent, to look for in logs. */
  issued: string[];
  /** The shape of the next answers (mutable). */
  shape: Shape;
  /** The user signed in by the next answers (mutable). */
  user: SamlUser;
  /** Overrides of the next answers' ResponseOptions (mutable; `{}` for none). */
  overrides: Partial<ResponseOptions>;
  /** What the metadata URL serves (mutable). */
  metadataMode: MetadataMode;
  /** How often the metadata was fetched. */
  metadataFetches: number;
  /** The metadata document as served in mode 'ok'. */
  metadata(): Promise<string>;
  /** A response for this IdP with its defaults (its key, issuer, user, shape), as base64. */
  response(o: Partial<ResponseOptions> & { destination: string; audience: string }): Promise<string>;
  sloRedirectUrl: string;
  sloPostUrl: string;
  /** Every logout message received on the SLO endpoints, in order. */
  logouts: RecordedLogoutMessage[];
  /** How the IdP answers the SP's LogoutRequest (mutable; default: by the binding it came by). */
  sloAnswer: 'redirect' | 'post' | undefined;
  /** Overrides of the next LogoutResponses (mutable): a rogue `key`, or `null` for unsigned; fields of the XML. */
  sloOverrides: Partial<LogoutResponseOptions> & { key?: KeyFiles | null };
  /** An IdP-initiated LogoutRequest to the SP's SLO URL `destination`, signed by the IdP's key unless `key` says otherwise. */
  logoutRequest(o: Partial<LogoutRequestOptions> & { destination: string; binding: 'redirect' | 'post'; relayState?: string; key?: KeyFiles | null }): Promise<OutgoingLogout>;
  /** A LogoutResponse to the SP's SLO URL `destination` (for forgeries: any InResponseTo, issuer, key). */
  logoutResponse(o: Partial<LogoutResponseOptions> & { destination: string; inResponseTo: string; binding: 'redirect' | 'post'; relayState?: string; key?: KeyFiles | null }): Promise<OutgoingLogout>;
  close(): Promise<void>;
}

export const DEFAULT_USER: SamlUser = {
  nameId: 'Xk3vQ9mP2rT7wY1zB5nC8dF4gH6jL0sA-persistent',
  email: 'ada.lovelace@example.com',
  givenName: 'Ada',
  surname: 'Lovelace',
  groups: ['7d2c5a1e-0b8f-4c3e-9f61-2a4d8e6b1c07', 'b4e91f2a-6c3d-4e8b-a7f0-5d1c9e2b3a48'],
  objectId: '3f1a9c52-7e4b-4d2a-9a61-0c5b8e7d2f10',
};

function attr(xml: string, name: string): string | undefined {
  // The AuthnRequest's own start tag (the first element); attribute values per XML 1.0 (either quote).
  const start = /<(?:[\w.-]+:)?AuthnRequest\b[^>]*>/.exec(xml)?.[0] ?? '';
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)')`).exec(start);
  const v = m ? (m[1] ?? m[2]) : undefined;
  return v === undefined ? undefined : v.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

function parseAuthnRequest(xml: string, binding: 'redirect' | 'post', relayState: string | undefined, sigAlg: string | undefined): RecordedAuthnRequest {
  if (!/<(?:[\w.-]+:)?AuthnRequest\b/.test(xml)) throw new Error('not an AuthnRequest');
  const id = attr(xml, 'ID');
  if (!id) throw new Error('AuthnRequest without ID');
  return {
    binding,
    xml,
    id,
    acsUrl: attr(xml, 'AssertionConsumerServiceURL'),
    issuer: /<(?:[\w.-]+:)?Issuer\b[^>]*>([^<]*)<\//.exec(xml)?.[1]?.trim(),
    forceAuthn: attr(xml, 'ForceAuthn') === 'true',
    destination: attr(xml, 'Destination'),
    protocolBinding: attr(xml, 'ProtocolBinding'),
    relayState,
    sigAlg,
  };
}

/** The auto-submitting HTML form an IdP answers with (HTTP-POST binding). */
export function postForm(action: string, fields: Record<string, string | undefined>): string {
  const inputs = Object.entries(fields)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `<input type="hidden" name="${escapeXml(k)}" value="${escapeXml(v)}"/>`)
    .join('');
  return `<!DOCTYPE html><html><body onload="document.forms[0].submit()"><form method="post" action="${escapeXml(action)}">${inputs}<noscript><button type="submit">Continue</button></noscript></form></body></html>`;
}

async function entityXml(entityId: string, certs: string[], sso: Array<[string, string]>, slo: Array<[string, string, string?]> = []): Promise<string> {
  const keys = certs.map((c) => `<md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="${NS.dsig}"><ds:X509Data><ds:X509Certificate>${c}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`).join('');
  const services = sso.map(([b, loc]) => `<md:SingleSignOnService Binding="${b}" Location="${escapeXml(loc)}"/>`).join('');
  const logout = slo.map(([b, loc, answers]) => `<md:SingleLogoutService Binding="${b}" Location="${escapeXml(loc)}"${answers ? ` ResponseLocation="${escapeXml(answers)}"` : ''}/>`).join('');
  return (
    `<md:EntityDescriptor xmlns:md="${NS.metadata}" entityID="${escapeXml(entityId)}">` +
    `<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="${NS.protocol}">${keys}${logout}` +
    `<md:NameIDFormat>${NS.persistent}</md:NameIDFormat><md:NameIDFormat>${NS.emailAddress}</md:NameIDFormat>${services}</md:IDPSSODescriptor></md:EntityDescriptor>`
  );
}

export async function startTestIdp(opts: TestIdpOptions): Promise<TestIdp> {
  const app = express();
  const server = await new Promise<http.Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://${opts.host ?? '127.0.0.1'}:${(server.address() as AddressInfo).port}`;
  const bindings = opts.bindings ?? ['redirect', 'post'];
  const idp: TestIdp = {
    url,
    entityId: `${url}/idp`,
    metadataUrl: `${url}/metadata`,
    ssoRedirectUrl: `${url}/sso/redirect`,
    ssoPostUrl: `${url}/sso/post`,
    sloRedirectUrl: `${url}/slo/redirect`,
    sloPostUrl: `${url}/slo/post`,
    logouts: [],
    sloAnswer: undefined,
    sloOverrides: {},
    keys: opts.keys,
    requests: [],
    issued: [],
    shape: opts.shape ?? 'entra',
    user: { ...DEFAULT_USER },
    overrides: {},
    metadataMode: 'ok',
    metadataFetches: 0,
    async metadata() {
      const sso: Array<[string, string]> = [];
      if (bindings.includes('redirect')) sso.push([NS.redirect, idp.ssoRedirectUrl]);
      if (bindings.includes('post')) sso.push([NS.post, idp.ssoPostUrl]);
      const slo: Array<[string, string, string?]> = [];
      const answers = (u: string) => (opts.sloResponseLocation ? u.replace('/slo/', '/slo/answers/') : undefined);
      if (opts.slo?.includes('redirect')) slo.push([NS.redirect, idp.sloRedirectUrl, answers(idp.sloRedirectUrl)]);
      if (opts.slo?.includes('post')) slo.push([NS.post, idp.sloPostUrl, answers(idp.sloPostUrl)]);
      const own = await entityXml(idp.entityId, [await certBody(opts.keys.idp.cert)], sso, slo);
      if (!opts.federation) return `<?xml version="1.0" encoding="UTF-8"?>${own}`;
      const other =
        opts.federation === 'sp-first'
          ? `<md:EntityDescriptor entityID="${url}/some-sp"><md:SPSSODescriptor protocolSupportEnumeration="${NS.protocol}"><md:AssertionConsumerService Binding="${NS.post}" Location="${url}/some-sp/acs" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>`
          : (await entityXml(`${url}/other-idp`, [await certBody(opts.keys.rogue.cert)], [[NS.redirect, `${url}/other-idp/sso`], [NS.post, `${url}/other-idp/sso`]])).replace(` xmlns:md="${NS.metadata}"`, '');
      return `<?xml version="1.0" encoding="UTF-8"?><md:EntitiesDescriptor xmlns:md="${NS.metadata}" Name="test-federation">${other}${own.replace(` xmlns:md="${NS.metadata}"`, '')}</md:EntitiesDescriptor>`;
    },
    async response(o) {
      const shape = o.shape ?? idp.shape;
      const r = await buildResponse({
        shape,
        issuer: idp.entityId,
        // Entra sends an opaque persistent NameID, Okta the email address.
        nameId: escapeXml(shape === 'okta' ? idp.user.email : idp.user.nameId),
        attributes: attributesFor(shape, idp.user),
        sign: shape === 'okta' ? 'both' : 'assertion',
        key: opts.keys.idp,
        ...o,
      });
      idp.issued.push(r);
      return r;
    },
    async logoutRequest(o) {
      const { binding, relayState, key, ...fields } = o;
      const m = logoutRequestXml({ issuer: idp.entityId, nameId: idp.shape === 'okta' ? idp.user.email : idp.user.nameId, nameIdFormat: idp.shape === 'okta' ? NS.emailAddress : NS.persistent, ...fields });
      return outgoing('SAMLRequest', m, o.destination, binding, relayState, key === undefined ? opts.keys.idp : (key ?? undefined));
    },
    async logoutResponse(o) {
      const { binding, relayState, key, ...fields } = o;
      const m = logoutResponseXml({ issuer: idp.entityId, ...fields });
      return outgoing('SAMLResponse', m, o.destination, binding, relayState, key === undefined ? opts.keys.idp : (key ?? undefined));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  app.get('/metadata', async (_req, res) => {
    idp.metadataFetches += 1;
    if (idp.metadataMode === 'hang') return; // never answers: the client's timeout must fire
    if (idp.metadataMode === 500) return void res.status(500).send('internal error');
    if (idp.metadataMode === 'garbage') return void res.type('application/samlmetadata+xml').send('<html><body>not metadata</body>');
    res.type('application/samlmetadata+xml').send(await idp.metadata());
  });

  /** Signs the configured user in and answers the request with the POST form to its ACS. */
  async function answer(req: RecordedAuthnRequest, res: express.Response): Promise<void> {
    idp.requests.push(req);
    if (!req.acsUrl) return void res.status(400).send('AuthnRequest without AssertionConsumerServiceURL');
    const saml = await idp.response({ inResponseTo: req.id, destination: req.acsUrl, audience: req.issuer ?? '', ...idp.overrides });
    res.type('html').send(postForm(req.acsUrl, { SAMLResponse: saml, RelayState: req.relayState }));
  }

  /** A message to the SP by a binding: the signed query, or the XML signed by xmlsec1 in a form. */
  async function outgoing(kind: 'SAMLRequest' | 'SAMLResponse', m: { xml: string; id: string }, to: string, binding: 'redirect' | 'post', relayState: string | undefined, key: KeyFiles | undefined): Promise<OutgoingLogout> {
    if (binding === 'redirect') return { id: m.id, xml: m.xml, url: `${to}${to.includes('?') ? '&' : '?'}${await redirectQuery(kind, m.xml.replace(/<!--signature:[^>]*-->/, ''), relayState, key)}` };
    const xml = await signLogoutXml(m, key);
    const fields: Record<string, string> = { [kind]: Buffer.from(xml, 'utf8').toString('base64') };
    if (relayState !== undefined) fields.RelayState = relayState;
    return { id: m.id, xml, form: { action: to, fields } };
  }

  const xmlAttr = (xml: string, el: string, name: string) => {
    const start = new RegExp(`<(?:[\\w.-]+:)?${el}\\b[^>]*>`).exec(xml)?.[0] ?? '';
    return new RegExp(`\\s${name}="([^"]*)"`).exec(start)?.[1];
  };
  const xmlText = (xml: string, el: string) => new RegExp(`<(?:[\\w.-]+:)?${el}\\b[^>]*>([^<]*)</`).exec(xml)?.[1]?.trim();

  /** Single logout: the SP's LogoutRequest (answered, signed, to the SP metadata's SLO URL) or its LogoutResponse. */
  async function logoutMessage(binding: 'redirect' | 'post', params: Record<string, unknown>, rawQuery: string, path: string, res: express.Response): Promise<void> {
    const value = typeof params.SAMLRequest === 'string' ? params.SAMLRequest : params.SAMLResponse;
    if (typeof value !== 'string') return void res.status(400).send('SAMLRequest or SAMLResponse missing');
    let xml: string;
    try {
      xml = binding === 'redirect' ? inflateRawSync(Buffer.from(value, 'base64')).toString('utf8') : Buffer.from(value, 'base64').toString('utf8');
    } catch (err) {
      return void res.status(400).send(`bad message: ${(err as Error).message}`);
    }
    const start = xml.replace(/^<\?xml[^>]*\?>\s*/, '');
    const kind = /^<(?:[\w.-]+:)?LogoutRequest\b/.test(start) ? 'LogoutRequest' : /^<(?:[\w.-]+:)?LogoutResponse\b/.test(start) ? 'LogoutResponse' : undefined;
    if (!kind) return void res.status(400).send('not a LogoutRequest or LogoutResponse');
    const id = xmlAttr(xml, kind, 'ID');
    const signatureValid = binding === 'redirect' ? await verifyRedirectQuery(rawQuery, opts.keys.spCert) : id !== undefined && (await xmlsecVerify(xml, opts.keys.spCert, byId(id)));
    const relayState = typeof params.RelayState === 'string' ? params.RelayState : undefined;
    const recorded: RecordedLogoutMessage = {
      kind,
      path,
      binding,
      xml,
      signatureValid,
      id,
      inResponseTo: xmlAttr(xml, kind, 'InResponseTo'),
      issuer: xmlText(xml, 'Issuer'),
      destination: xmlAttr(xml, kind, 'Destination'),
      nameId: xmlText(xml, 'NameID'),
      sessionIndex: xmlText(xml, 'SessionIndex'),
      status: xmlAttr(xml, 'StatusCode', 'Value'),
      relayState,
    };
    idp.logouts.push(recorded);
    if (!signatureValid) return void res.status(400).send('the logout message is not signed by the SP');
    if (kind === 'LogoutResponse') return void res.type('html').send('<p>Signed out everywhere.</p>');
    // The SP's SingleLogoutService, from its metadata at its entity ID, as a real IdP configured with it reads it.
    const spMetadata = await (await fetch(recorded.issuer ?? '')).text();
    const answerBinding = idp.sloAnswer ?? binding;
    const to = new RegExp(`<md:SingleLogoutService Binding="${answerBinding === 'redirect' ? NS.redirect : NS.post}" Location="([^"]*)"`).exec(spMetadata)?.[1];
    if (!to) return void res.status(400).send('the SP metadata has no SingleLogoutService');
    const { key, ...overrides } = idp.sloOverrides;
    const out = await idp.logoutResponse({ destination: to.replace(/&amp;/g, '&'), inResponseTo: id ?? '', binding: answerBinding, relayState, key, ...overrides });
    if (out.url) return void res.redirect(302, out.url);
    res.type('html').send(postForm(out.form?.action ?? '', out.form?.fields ?? {}));
  }

  app.get(['/slo/redirect', '/slo/answers/redirect'], (req, res) => void logoutMessage('redirect', req.query as Record<string, unknown>, req.url.slice(req.url.indexOf('?') + 1), req.path, res));
  app.post(['/slo/post', '/slo/answers/post'], express.urlencoded({ extended: false, limit: '256kb' }), (req, res) => void logoutMessage('post', (req.body ?? {}) as Record<string, unknown>, '', req.path, res));

  app.get('/sso/redirect', async (req, res) => {
    const q = req.query as Record<string, unknown>;
    if (typeof q.SAMLRequest !== 'string') return void res.status(400).send('SAMLRequest missing');
    let parsed: RecordedAuthnRequest;
    try {
      // HTTP-Redirect binding (bindings 3.4.4.1): DEFLATE (raw, RFC 1951), then base64.
      const xml = inflateRawSync(Buffer.from(q.SAMLRequest, 'base64')).toString('utf8');
      parsed = parseAuthnRequest(xml, 'redirect', typeof q.RelayState === 'string' ? q.RelayState : undefined, typeof q.SigAlg === 'string' ? q.SigAlg : undefined);
    } catch (err) {
      return void res.status(400).send(`bad SAMLRequest: ${(err as Error).message}`);
    }
    await answer(parsed, res);
  });

  app.post('/sso/post', express.urlencoded({ extended: false, limit: '256kb' }), async (req, res) => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (typeof body.SAMLRequest !== 'string') return void res.status(400).send('SAMLRequest missing');
    // HTTP-POST binding (bindings 3.5.4): base64 of the XML itself, never deflated; a strict IdP refuses others.
    const xml = Buffer.from(body.SAMLRequest, 'base64').toString('utf8');
    if (!xml.trimStart().startsWith('<')) return void res.status(400).send('SAMLRequest is not base64 XML (a deflated request on the POST binding?)');
    let parsed: RecordedAuthnRequest;
    try {
      parsed = parseAuthnRequest(xml, 'post', typeof body.RelayState === 'string' ? body.RelayState : undefined, undefined);
    } catch (err) {
      return void res.status(400).send(`bad SAMLRequest: ${(err as Error).message}`);
    }
    await answer(parsed, res);
  });

  return idp;
}

/** A local file with this IdP's metadata (for IDPMetadataURL as a path). */
export async function writeMetadataFile(idp: TestIdp, dir: string): Promise<string> {
  const file = path.join(dir, 'idp-metadata.xml');
  await fs.writeFile(file, await idp.metadata());
  return file;
}

export interface SamlProfileOptions {
  id: string;
  /** The IdP (only its metadata URL and the SP key file are read). */
  idp: Pick<TestIdp, 'metadataUrl' | 'keys'>;
  /** The broker's public base (SAMLBaseURL). */
  baseUrl: string;
  /** The portal's SSO ReturnURL (e.g. the Tyk stub's `/portal/sso/`). */
  returnUrl: string;
  /** IdentityHandlerConfig.DashboardCredential. */
  credential: string;
  orgId?: string;
  actionType?: string;
  /** Profile-level keys (CustomUserGroupField, UserGroupMapping, ...). */
  profile?: Record<string, unknown>;
  /** Extra ProviderConfig keys (FailureRedirect, SAMLBinding, AllowSHA1, ...). */
  providerConfig?: Record<string, unknown>;
}

/** A portal-SSO profile signing in through the test IdP. */
export function samlProfile(o: SamlProfileOptions): Record<string, unknown> {
  return {
    ID: o.id,
    Name: `SAML ${o.id}`,
    OrgID: o.orgId ?? 'org-saml',
    ActionType: o.actionType ?? 'GenerateOrLoginDeveloperProfile',
    ProviderName: 'SAMLProvider',
    ReturnURL: o.returnUrl,
    IdentityHandlerConfig: { DashboardCredential: o.credential },
    ...o.profile,
    ProviderConfig: {
      IDPMetadataURL: o.idp.metadataUrl,
      CertLocation: o.idp.keys.spPem,
      SAMLBaseURL: o.baseUrl,
      ...o.providerConfig,
    },
  };
}
