/**
 * Drives SP-initiated SAML logins over plain HTTP as a browser would, with a cookie jar: start at the broker,
 * follow it to the IdP (a redirect, or the auto-submitting POST page), take the IdP's auto-submitting form and
 * POST it to the ACS. Each step is exported so attack tests can stop at the ACS and post their own response.
 */
import { CookieJar, fetchWithJar } from './cookie-jar.js';

export interface HtmlForm {
  action: string;
  fields: Record<string, string>;
}

const unescapeHtml = (s: string): string =>
  s.replace(/&quot;/g, '"').replace(/&#39;|&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#x2F;/gi, '/').replace(/&#x3D;/gi, '=').replace(/&#43;|&#x2B;/gi, '+').replace(/&amp;/g, '&');

function attrOf(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  const v = m ? (m[1] ?? m[2] ?? m[3]) : undefined;
  return v === undefined ? undefined : unescapeHtml(v);
}

/** The first POST form of an HTML page, its action resolved against the page's URL, and its hidden fields. */
export function parseForm(html: string, pageUrl: string): HtmlForm {
  const form = /<form\b[^>]*>/i.exec(html)?.[0];
  if (!form) throw new Error(`no form in the page at ${pageUrl}: ${html.slice(0, 200)}`);
  const fields: Record<string, string> = {};
  for (const input of html.match(/<input\b[^>]*>/gi) ?? []) {
    const name = attrOf(input, 'name');
    if (name) fields[name] = attrOf(input, 'value') ?? '';
  }
  return { action: new URL(attrOf(form, 'action') ?? '', pageUrl).toString(), fields };
}

export function postFormWithJar(form: HtmlForm, jar: CookieJar): Promise<Response> {
  return fetchWithJar(form.action, jar, { method: 'POST', body: new URLSearchParams(form.fields), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
}

export interface AtAcs {
  jar: CookieJar;
  /** The broker's answer at the start: 302 (redirect binding) or 200 with the POST page. */
  start: Response;
  /** The start page's HTML when the POST binding was used. */
  startHtml: string | undefined;
  /** The IdP's answer: the form to the ACS, with SAMLResponse and RelayState. */
  form: HtmlForm;
  /** The request the broker sent to the IdP: its URL (redirect) or its form (POST). */
  idpRequest: { url: string; form: HtmlForm | undefined };
}

/**
 * Starts a login at `<base>/auth/<id>/saml` and goes through the IdP up to (not including) the POST to the ACS.
 * Throws when a step does not answer as a SAML login should.
 */
export async function samlToAcs(base: string, id: string, jar = new CookieJar()): Promise<AtAcs> {
  const start = await fetchWithJar(`${base}/auth/${id}/saml`, jar);
  let idpAnswer: Response;
  let startHtml: string | undefined;
  let idpRequest: AtAcs['idpRequest'];
  if (start.status === 302) {
    const location = start.headers.get('location') ?? '';
    idpRequest = { url: location, form: undefined };
    idpAnswer = await fetchWithJar(location, jar);
  } else if (start.status === 200) {
    startHtml = await start.text();
    const form = parseForm(startHtml, start.url || `${base}/auth/${id}/saml`);
    idpRequest = { url: form.action, form };
    idpAnswer = await postFormWithJar(form, jar);
  } else {
    throw new Error(`the broker's start answered ${start.status}: ${(await start.text()).slice(0, 300)}`);
  }
  const html = await idpAnswer.text();
  if (idpAnswer.status !== 200) throw new Error(`the IdP answered ${idpAnswer.status}: ${html.slice(0, 300)}`);
  return { jar, start, startHtml, form: parseForm(html, idpRequest.url), idpRequest };
}

/** A whole SP-initiated login: returns the broker's final answer to the ACS POST (not followed). */
export async function samlLogin(base: string, id: string, jar = new CookieJar()): Promise<AtAcs & { res: Response }> {
  const at = await samlToAcs(base, id, jar);
  const res = await postFormWithJar(at.form, at.jar);
  return { ...at, res };
}

/** POSTs a SAMLResponse (and RelayState) to the ACS as the browser in `jar`. */
export function postToAcs(acs: string, jar: CookieJar, samlResponse: string, relayState?: string): Promise<Response> {
  const fields: Record<string, string> = { SAMLResponse: samlResponse };
  if (relayState !== undefined) fields.RelayState = relayState;
  return postFormWithJar({ action: acs, fields }, jar);
}

/**
 * What of these SAMLResponses (base64) and this private key (PEM) the log lines contain: the base64 text,
 * the signature and cipher values inside, the key's body lines. Empty when nothing leaked.
 */
export function leaksIn(logs: string[], responses: string[], keyPem: string): string[] {
  const text = logs.join('\n');
  const needles: string[] = [];
  for (const r of responses) {
    needles.push(r.slice(0, 40), r.slice(-40));
    for (const [, v] of Buffer.from(r, 'base64').toString('utf8').matchAll(/<(?:ds|xenc):(?:SignatureValue|CipherValue)>\s*([^<\s]{40})/g)) needles.push(v ?? '');
  }
  needles.push(...keyPem.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----')));
  return needles.filter((n) => n.length >= 20 && text.includes(n));
}
