/**
 * A second SAML 2.0 identity provider for the tests, built on samlify (its own metadata, request parsing,
 * response template, xml-crypto signing and xml-encryption), independent of both the broker's node-saml and
 * the xmlsec1 test IdP (saml-idp.ts). Like a real IdP it reads the SP's metadata from the SP's entity ID
 * (the broker's SP metadata URL), answers each AuthnRequest (HTTP-Redirect or HTTP-POST) with an
 * auto-submitting form to the ACS, and signs the configured user in without any UI. Single logout by
 * samlify too: it checks the SP's signed LogoutRequest (either binding) against the SP metadata's certificate,
 * answers with a signed LogoutResponse to the SP metadata's SingleLogoutService, checks the SP's signed
 * LogoutResponse, and makes IdP-initiated LogoutRequests (logoutRequest()).
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import express from 'express';
import * as samlify from 'samlify';
import { escapeXml, newId } from './saml-xml.js';
import { postForm } from './saml-idp.js';

// The test IdP checks no XSD (samlify wants a validator set; its XSD validators are separate packages).
samlify.setSchemaValidator({ validate: () => Promise.resolve('skipped') });

const { binding } = samlify.Constants.namespace;

/** How samlify signs the next answers: the assertion (the SP metadata's WantAssertionsSigned), the Response, or both. */
export type SamlifySigning = 'assertion' | 'response' | 'both';

export interface SamlifyUser {
  nameId: string;
  attributes: Record<string, string | string[]>;
}

export interface SamlifyIdp {
  url: string;
  entityId: string;
  metadataUrl: string;
  /** Every SAMLResponse (base64) sent, to look for in logs. */
  issued: string[];
  /** The AuthnRequest ids received, in order. */
  requestIds: string[];
  signing: SamlifySigning;
  encrypt: boolean;
  user: SamlifyUser;
  /** Every logout message the IdP received and verified, in order (samlify's reading). */
  logouts: Array<{ kind: 'LogoutRequest' | 'LogoutResponse'; binding: 'redirect' | 'post'; id: string; nameId?: string; inResponseTo?: string; issuer?: string }>;
  /** Messages samlify refused (its error codes), in order. */
  logoutErrors: string[];
  /** An IdP-initiated LogoutRequest, signed by samlify, for the SP whose metadata is at `spEntityId`. */
  logoutRequest(spEntityId: string, binding: 'redirect' | 'post', relayState?: string): Promise<{ id: string; url?: string; form?: { action: string; fields: Record<string, string> } }>;
  close(): Promise<void>;
}

const instant = (d: Date) => d.toISOString();

/** samlify's default response template with our attribute statement (one Attribute, several values). */
function attributeStatement(attrs: Record<string, string | string[]>): string {
  const list = Object.entries(attrs).map(([name, value]) => {
    const values = (Array.isArray(value) ? value : [value]).map((v) => `<saml:AttributeValue xsi:type="xs:string">${escapeXml(v)}</saml:AttributeValue>`).join('');
    return `<saml:Attribute Name="${escapeXml(name)}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">${values}</saml:Attribute>`;
  });
  return `<saml:AttributeStatement>${list.join('')}</saml:AttributeStatement>`;
}

export async function startSamlifyIdp(o: { key: string; cert: string }): Promise<SamlifyIdp> {
  const app = express();
  const server = await new Promise<http.Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const state: SamlifyIdp = {
    url,
    entityId: `${url}/samlify`,
    metadataUrl: `${url}/metadata`,
    issued: [],
    requestIds: [],
    signing: 'assertion',
    encrypt: false,
    user: { nameId: 'samlify-user', attributes: {} },
    logouts: [],
    logoutErrors: [],
    logoutRequest: async (spEntityId, kind, relayState) => {
      const sp = await spOf(spEntityId);
      const idp = samlify.IdentityProvider(settings);
      const out = idp.createLogoutRequest(sp, kind, { logoutNameID: state.user.nameId }, relayState ?? '');
      if (kind === 'redirect') return { id: out.id, url: out.context };
      const post = out as { id: string; context: string; entityEndpoint: string; relayState?: string };
      const fields: Record<string, string> = { SAMLRequest: post.context };
      if (relayState) fields.RelayState = relayState;
      return { id: post.id, form: { action: post.entityEndpoint, fields } };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  const settings = {
    entityID: state.entityId,
    signingCert: fs.readFileSync(o.cert, 'utf8'),
    privateKey: fs.readFileSync(o.key, 'utf8'),
    wantAuthnRequestsSigned: false,
    nameIDFormat: ['urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified'],
    singleSignOnService: [
      { Binding: binding.redirect, Location: `${url}/sso/redirect` },
      { Binding: binding.post, Location: `${url}/sso/post` },
    ],
    singleLogoutService: [
      { Binding: binding.redirect, Location: `${url}/slo` },
      { Binding: binding.post, Location: `${url}/slo/post` },
    ],
    // Logout messages both ways are signed and must be (the SP entity below asks for the same).
    wantLogoutRequestSigned: true,
    wantLogoutResponseSigned: true,
  };

  /** The SP as samlify knows it: from its metadata at its entity ID, its logout messages signed both ways. */
  async function spOf(entityId: string) {
    const metadata = await (await fetch(entityId)).text();
    return samlify.ServiceProvider({ metadata, wantLogoutRequestSigned: true, wantLogoutResponseSigned: true });
  }
  const metadataIdp = samlify.IdentityProvider(settings);

  app.get('/metadata', (_req, res) => void res.type('application/samlmetadata+xml').send(metadataIdp.getMetadata()));

  async function answer(kind: 'redirect' | 'post', req: express.Request, res: express.Response): Promise<void> {
    try {
      const idp = samlify.IdentityProvider({ ...settings, isAssertionEncrypted: state.encrypt });
      // The SP's metadata, fetched from its entity ID as an IdP configured with the SP's metadata URL would.
      const raw = kind === 'redirect' ? String(req.query.SAMLRequest ?? '') : String((req.body as Record<string, unknown>).SAMLRequest ?? '');
      const xml = kind === 'redirect' ? samlify.Utility.inflateString(raw) : Buffer.from(raw, 'base64').toString('utf8');
      const issuer = /<(?:\w+:)?Issuer[^>]*>([^<]+)</.exec(xml)?.[1] ?? '';
      let spMetadata = await (await fetch(issuer)).text();
      if (state.signing === 'response') spMetadata = spMetadata.replace('WantAssertionsSigned="true"', 'WantAssertionsSigned="false"');
      const sp = samlify.ServiceProvider({ metadata: spMetadata, wantMessageSigned: state.signing !== 'assertion' });
      const parsed = await idp.parseLoginRequest(sp, kind, kind === 'redirect' ? { query: req.query } : { body: req.body });
      const requestId = String((parsed.extract as { request?: { id?: string } }).request?.id ?? '');
      state.requestIds.push(requestId);
      const now = new Date();
      const later = new Date(now.getTime() + 5 * 60_000);
      const acs = String(sp.entityMeta.getAssertionConsumerService('post'));
      const assertionId = newId();
      const relayState = String((kind === 'redirect' ? req.query.RelayState : (req.body as Record<string, unknown>).RelayState) ?? '');
      const out = await idp.createLoginResponse(sp, { extract: parsed.extract }, 'post', {}, {
        relayState,
        customTagReplacement: (template: string) => ({
          id: assertionId,
          context: samlify.SamlLib.replaceTagsByValue(template.replace('{AttributeStatement}', attributeStatement(state.user.attributes)), {
            ID: newId(),
            AssertionID: assertionId,
            Destination: acs,
            Audience: sp.entityMeta.getEntityID(),
            SubjectRecipient: acs,
            Issuer: state.entityId,
            IssueInstant: instant(now),
            StatusCode: samlify.Constants.StatusCode.Success,
            ConditionsNotBefore: instant(new Date(now.getTime() - 60_000)),
            ConditionsNotOnOrAfter: instant(later),
            SubjectConfirmationDataNotOnOrAfter: instant(later),
            NameIDFormat: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
            NameID: state.user.nameId,
            InResponseTo: requestId,
            AuthnStatement: '',
          }),
        }),
      });
      state.issued.push(out.context);
      res.type('html').send(postForm(acs, { SAMLResponse: out.context, RelayState: relayState }));
    } catch (err) {
      res.status(400).send(`samlify IdP: ${(err as Error).message}`);
    }
  }

  /** Single logout: the SP's LogoutRequest (answered by samlify, signed) or its LogoutResponse to ours. */
  async function logout(kind: 'redirect' | 'post', req: express.Request, res: express.Response): Promise<void> {
    try {
      const params = (kind === 'redirect' ? req.query : req.body) as Record<string, unknown>;
      const isRequest = typeof params.SAMLRequest === 'string';
      const raw = String(params.SAMLRequest ?? params.SAMLResponse ?? '');
      const xml = kind === 'redirect' ? samlify.Utility.inflateString(raw) : Buffer.from(raw, 'base64').toString('utf8');
      const sp = await spOf(/<(?:\w+:)?Issuer[^>]*>([^<]+)</.exec(xml)?.[1] ?? '');
      const idp = samlify.IdentityProvider(settings);
      // The redirect binding's signed octets, as received (bindings 3.4.4.1); samlify wants them given.
      const query = req.url.slice(req.url.indexOf('?') + 1).split('&');
      const octetString = ['SAMLRequest', 'SAMLResponse', 'RelayState', 'SigAlg'].flatMap((n) => query.filter((p) => p.startsWith(`${n}=`))).join('&');
      const request = kind === 'redirect' ? { query: req.query, octetString } : { body: req.body };
      const relayState = String(params.RelayState ?? '');
      if (!isRequest) {
        const parsed = await idp.parseLogoutResponse(sp, kind, request);
        const r = (parsed.extract as { response?: { id?: string; inResponseTo?: string }; issuer?: string });
        state.logouts.push({ kind: 'LogoutResponse', binding: kind, id: String(r.response?.id ?? ''), inResponseTo: r.response?.inResponseTo, issuer: r.issuer });
        return void res.type('html').send('<p>Signed out everywhere.</p>');
      }
      const parsed = await idp.parseLogoutRequest(sp, kind, request);
      const e = parsed.extract as { request?: { id?: string }; nameID?: string; issuer?: string };
      state.logouts.push({ kind: 'LogoutRequest', binding: kind, id: String(e.request?.id ?? ''), nameId: e.nameID, issuer: e.issuer });
      const out = idp.createLogoutResponse(sp, parsed as unknown as Parameters<typeof idp.createLogoutResponse>[1], kind, relayState);
      if (kind === 'redirect') return void res.redirect(302, out.context);
      const post = out as { context: string; entityEndpoint: string };
      res.type('html').send(postForm(post.entityEndpoint, { SAMLResponse: post.context, RelayState: relayState || undefined }));
    } catch (err) {
      state.logoutErrors.push((err as Error).message);
      res.status(400).send(`samlify IdP: ${(err as Error).message}`);
    }
  }

  app.get('/slo', (req, res) => void logout('redirect', req, res));
  app.post('/slo/post', express.urlencoded({ extended: false }), (req, res) => void logout('post', req, res));
  app.get('/sso/redirect', (req, res) => void answer('redirect', req, res));
  app.post('/sso/post', express.urlencoded({ extended: false }), (req, res) => void answer('post', req, res));
  return state;
}
