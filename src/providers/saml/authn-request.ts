/**
 * The AuthnRequest, built by node-saml, sent by the binding the profile asks for (SAMLBinding "" prefers
 * HTTP-Redirect, as TIB): a 302 with SAMLRequest = base64(DEFLATE(xml)), or an auto-submitting form with
 * SAMLRequest = base64(xml), NOT deflated (SAML bindings 3.5.4; node-saml's own form deflates it).
 * Unsigned, as TIB's; no RequestedAuthnContext and no NameID format, so the IdP's MFA or passwordless
 * methods and its configured NameID are accepted.
 */
import { createHash } from 'node:crypto';
import { SAML } from '@node-saml/node-saml';
import type { ProviderOutcome } from '../provider.js';
import type { IdpMetadata } from './idp-metadata.js';
import { POST_BINDING, REDIRECT_BINDING, type SamlConfig } from './saml-config.js';

export function certPem(base64: string): string {
  return `-----BEGIN CERTIFICATE-----\n${base64.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`;
}

export interface AuthnRequestInput {
  cfg: Pick<SamlConfig, 'SAMLBinding' | 'ForceAuthentication'>;
  idp: IdpMetadata;
  entityId: string;
  acs: string;
  /** Our request id (the InResponseTo we will require). */
  requestId: string;
  relayState: string;
}

/** Which binding and SSO URL to use, or a reason there is none. */
export function chooseEndpoint(binding: string, sso: IdpMetadata['sso']): { post: boolean; url: string } | string {
  if (binding === REDIRECT_BINDING || binding === '') {
    if (sso.redirect) return { post: false, url: sso.redirect };
    if (binding === REDIRECT_BINDING) return 'the IdP metadata has no SingleSignOnService with the HTTP-Redirect binding (SAMLBinding)';
  }
  if (sso.post) return { post: true, url: sso.post };
  return `the IdP metadata has no SingleSignOnService with the ${binding === POST_BINDING ? 'HTTP-POST' : 'HTTP-Redirect or HTTP-POST'} binding (SAMLBinding)`;
}

function html(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const SUBMIT = 'document.forms[0].submit();';
const SUBMIT_HASH = `'sha256-${createHash('sha256').update(SUBMIT).digest('base64')}'`;

/** The HTTP-POST binding's page: one form, submitted by the one inline script the CSP allows. */
export function postPage(url: string, fields: Record<string, string>, title = 'Signing in'): ProviderOutcome {
  const inputs = Object.entries(fields)
    .map(([k, v]) => `<input type="hidden" name="${html(k)}" value="${html(v)}">`)
    .join('');
  const body = `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${html(title)}</title></head><body><form method="post" action="${html(url)}">${inputs}<noscript><button type="submit">Continue</button></noscript></form><script>${SUBMIT}</script></body></html>`;
  return {
    kind: 'page',
    status: 200,
    html: body,
    headers: {
      'Content-Security-Policy': `default-src 'none'; script-src ${SUBMIT_HASH}; base-uri 'none'; frame-ancestors 'none'`,
      'X-Frame-Options': 'DENY',
      'Referrer-Policy': 'no-referrer',
    },
  };
}

export async function authnRequest(i: AuthnRequestInput): Promise<ProviderOutcome | string> {
  const endpoint = chooseEndpoint(i.cfg.SAMLBinding, i.idp.sso);
  if (typeof endpoint === 'string') return endpoint;
  // One SAML object per request: it is only options, and so the id is ours, not a shared generator's.
  const saml = new SAML({
    entryPoint: endpoint.url,
    issuer: i.entityId,
    callbackUrl: i.acs,
    idpCert: i.idp.signingCerts.map(certPem),
    forceAuthn: i.cfg.ForceAuthentication,
    identifierFormat: null,
    disableRequestedAuthnContext: true,
    skipRequestCompression: endpoint.post,
    generateUniqueId: () => i.requestId,
  });
  if (!endpoint.post) return { kind: 'redirect', url: await saml.getAuthorizeUrlAsync(i.relayState, undefined, {}) };
  const message = await saml.getAuthorizeMessageAsync(i.relayState, undefined, {});
  return postPage(endpoint.url, { SAMLRequest: String(message.SAMLRequest), RelayState: i.relayState });
}
