/**
 * SAMLProvider (docs/tib-behaviour.md §4.4): SP-initiated Web SSO with TIB's URLs, resolved against SAMLBaseURL: start at
 * `/auth/{id}/saml`, SP metadata at `.../saml/metadata`, the ACS at `.../saml/callback` (HTTP-POST).
 * Unlike TIB: each login's request id is sealed in a cookie of its own in this browser (nothing is stored for a
 * start: state/login-flow-cookie.ts), must be the assertion's InResponseTo and is used once (its replay mark is
 * written once the response has verified); unsolicited (IdP-initiated) responses
 * are refused unless AllowIDPInitiated; assertion IDs are remembered against replay; the IdP metadata is
 * cached; signatures, algorithms, Destination, Recipient, Issuer and comments are checked (response-checks.ts)
 * around node-saml's signature, decryption, Conditions and Audience checks. Single logout at `.../saml/slo`
 * (slo.ts): the login's NameID and SessionIndex go with the identity for the broker to keep.
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { SAML, ValidateInResponseTo } from '@node-saml/node-saml';
import { decryptXml } from '@node-saml/node-saml/lib/xml.js';
import { getLogger, registerSecret } from '../../log.js';
import { logoutOn } from '../../profiles/logout-keys.js';
import { LoginFlowCookies, profileVersion } from '../../state/login-flow-cookie.js';
import { requireCookieSecret } from '../cookie-secret.js';
import type { ProviderProfile } from '../module.js';
import { ProviderSetupError, type LoginRequest, type Provider, type ProviderOutcome, type ProviderServices } from '../provider.js';
import { createIdpTransport } from '../social/idp-fetch.js';
import { authnRequest, certPem } from './authn-request.js';
import type { IdpMetadata } from './idp-metadata.js';
import { MetadataCache } from './metadata-cache.js';
import { ReplayCacheFull, type ReplayCache } from '../../state/replay-cache.js';
import { checkAssertion, checkDecryptedAssertion, checkResponse, CLOCK_SKEW_MS, ResponseRejected } from './response-checks.js';
import { metadataSource, spUrls, type SamlConfig } from './saml-config.js';
import { assertionAttributes, samlIdentity } from './saml-identity.js';
import { createSamlLogout, samlSession, withSession, sloUrl } from './slo.js';
import { readSpKeyPair } from './sp-key.js';
import { SP_METADATA_TYPE, spMetadataXml } from './sp-metadata.js';
import { XmlError } from './xml-dom.js';

interface Flow {
  requestId: string;
}
/** Time to sign in at the IdP (password, MFA) before the request expires. TIB's tracking cookie lasted 90 s. */
const LOGIN_TIMEOUT_SECONDS = 600;
const FIRST_LOAD_DELAY_MS = 1000;

const isText = (v: unknown): v is string => typeof v === 'string';

/** A sealed flow as this code wrote it (another version of the broker may have sealed it), else undefined. */
function asFlow(v: unknown): Flow | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const f = v as Record<string, unknown>;
  return isText(f.requestId) ? (f as unknown as Flow) : undefined;
}

function failure(reason: string, status = 400): ProviderOutcome {
  return { kind: 'failure', failure: { reason, status, message: 'Login failed' } };
}

const describe = (err: unknown) => (err instanceof Error ? err.message : String(err));

export function createSamlProvider({ profile, config: cfg }: ProviderProfile<SamlConfig>, services: ProviderServices): Provider {
  const secret = requireCookieSecret(profile, services.sessionSecret);
  const log = getLogger('SAML AUTH');
  const key = readSpKeyPair(cfg.CertLocation, profile.ID);
  // Never logged anyway; masked in case an error message ever quotes it.
  registerSecret(key.keyPem);
  registerSecret(key.fileKeyPem);
  if (key.looseMode) log.warn(`profile "${profile.ID}": CertLocation ${cfg.CertLocation} holds the SP private key and is readable by others (mode ${key.looseMode}); chmod 600 it`);
  const source = metadataSource(cfg.IDPMetadataURL);
  if (!source) throw new ProviderSetupError(`SAMLProvider profile "${profile.ID}": ProviderConfig.IDPMetadataURL is not an http(s) URL or an absolute file path`);
  if (source.kind === 'file') {
    try {
      fs.accessSync(source.path, fs.constants.R_OK);
    } catch (err) {
      throw new ProviderSetupError(`SAMLProvider profile "${profile.ID}": ProviderConfig.IDPMetadataURL ${source.path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  const urls = spUrls(cfg, profile.ID);
  const secure = urls.acs.startsWith('https:');
  if (!secure && !['127.0.0.1', 'localhost', '[::1]'].includes(new URL(urls.acs).hostname)) {
    log.warn(`profile "${profile.ID}": SAMLBaseURL is http: browsers send the login cookie with the IdP's cross-site POST only over https (SameSite=None; Secure), so logins from an IdP on another site will fail; use https`);
  }
  // The cookie must come back with the IdP's cross-site POST to the ACS: SameSite=None (so Secure) over https.
  const cookiePath = new URL('auth/', cfg.SAMLBaseURL).pathname;
  const cookies = new LoginFlowCookies({ secret, profileId: profile.ID, version: profileVersion(profile) }, { secure, sameSiteNone: secure, path: cookiePath, timeoutSeconds: LOGIN_TIMEOUT_SECONDS });
  const insecureSkipVerify = services.insecureSkipVerify;
  if (insecureSkipVerify && source.kind === 'url') log.warn(`profile "${profile.ID}": SSLInsecureSkipVerify is true: the TLS certificate of the IdP metadata host is NOT verified`);
  const transport = createIdpTransport({ insecureSkipVerify });
  const metadata = new MetadataCache({ source, entityId: cfg.IDPEntityID, refreshSeconds: cfg.IDPMetadataRefreshSeconds, fetch: transport.fetch, log, profileId: profile.ID });
  // Not at once: `--check` and the admin API's trial build close the provider right away and must connect nowhere.
  metadata.start(FIRST_LOAD_DELAY_MS);
  const replay: ReplayCache = services.replayCache();

  const idp = async (): Promise<IdpMetadata | ProviderOutcome> =>
    (await metadata.get()) ?? failure(`no IdP metadata yet from ${metadata.where} (see the WARN lines above); the login cannot start or finish`, 503);

  const start = async (req: LoginRequest): Promise<ProviderOutcome> => {
    const md = await idp();
    if ('kind' in md) return md;
    const requestId = `_${randomBytes(20).toString('hex')}`;
    const relayState = randomBytes(32).toString('base64url');
    const out = await authnRequest({ cfg, idp: md, entityId: urls.entityId, acs: urls.acs, requestId, relayState });
    if (typeof out === 'string') return failure(out, 500);
    cookies.begin(req, relayState, { requestId } satisfies Flow);
    return out;
  };

  const callback = async (req: LoginRequest): Promise<ProviderOutcome> => {
    const body = (req.body ?? {}) as Record<string, unknown>;
    const samlResponse = body.SAMLResponse;
    const relayState = typeof body.RelayState === 'string' ? body.RelayState : '';
    if (req.method !== 'POST' || !isText(samlResponse) || samlResponse === '') return failure('no SAMLResponse in a POSTed form (the ACS takes the HTTP-POST binding)');
    // Whatever happens next, this browser's cookie for the RelayState is cleared (finish() does it).
    const opened = relayState && relayState.length <= 128 ? cookies.finish(req, relayState) : undefined;
    const flow = asFlow(opened?.flow);
    const md = await idp();
    if ('kind' in md) return md;
    const xml = Buffer.from(samlResponse, 'base64').toString('utf8');
    try {
      const shape = checkResponse(xml, { allowSha1: cfg.AllowSHA1 });
      const assertionSigned = shape.encrypted ? checkDecryptedAssertion(await decryptXml(shape.encrypted.toString(), key.keyPem), { allowSha1: cfg.AllowSHA1 }) : shape.assertionSigned;
      const saml = new SAML({
        callbackUrl: urls.acs,
        issuer: urls.entityId,
        audience: urls.entityId,
        idpCert: md.signingCerts.map(certPem),
        decryptionPvk: key.keyPem,
        // A signature on the Response or on the Assertion (either covers the assertion read); an Assertion
        // that carries its own signature must verify too, even inside a validly signed Response.
        wantAuthnResponseSigned: false,
        wantAssertionsSigned: assertionSigned,
        acceptedClockSkewMs: CLOCK_SKEW_MS,
        // InResponseTo is ours to check: against this browser's flow, not a process-wide cache.
        validateInResponseTo: ValidateInResponseTo.never,
      });
      const { profile: signed } = await saml.validatePostResponseAsync({ SAMLResponse: samlResponse });
      if (!signed) return failure('the response holds no assertion');
      const assertionXml = signed.getAssertionXml?.() ?? '';
      const facts = checkAssertion(assertionXml, shape, { idpEntityId: md.entityId, acs: urls.acs, now: Date.now() });
      const problem = checkSolicitation(facts.inResponseTo, flow, relayState);
      if (problem) return failure(problem);
      // The request id is used once, marked only now that the response has verified (nothing written before).
      const requestMark = `request:${createHash('sha256').update(facts.inResponseTo).digest('base64url')}`;
      if (opened && facts.inResponseTo && !(await replay.firstUse(profile.ID, requestMark, Math.max(1000, opened.expiresAt - Date.now())))) {
        return failure('the login request was already answered (replay of its RelayState)');
      }
      if (!(await replay.firstUse(profile.ID, facts.id, facts.usableUntil - Date.now()))) return failure(`assertion ${JSON.stringify(facts.id.slice(0, 80))} was already used (replay)`);
      const identity = samlIdentity(cfg, assertionAttributes(assertionXml), signed.nameID ?? '');
      return { kind: 'identity', identity: withSession(identity, samlSession(assertionXml, signed)) };
    } catch (err) {
      if (err instanceof ReplayCacheFull) return failure(err.message, 503);
      if (err instanceof ResponseRejected || err instanceof XmlError) return failure(`SAML response refused: ${err.message}`);
      return failure(`SAML response refused: ${describe(err)}`);
    }
  };

  /** InResponseTo against this browser's flow; "" when the login may go on. */
  const checkSolicitation = (inResponseTo: string, flow: Flow | undefined, relayState: string): string => {
    if (inResponseTo === '') {
      // Unsolicited: RelayState is never used, as a redirect target or otherwise.
      return cfg.AllowIDPInitiated ? '' : 'unsolicited response (no InResponseTo): IdP-initiated login is off for this profile (AllowIDPInitiated)';
    }
    if (!relayState) return 'no RelayState: the response cannot be matched to a login started here';
    // No cookie opens: never started here, expired, already used, started before a profile edit, or another browser's.
    if (!flow) return "unknown, expired or already used RelayState, or it belongs to another browser (no login cookie of this profile for it)";
    if (flow.requestId !== inResponseTo) return 'InResponseTo is not the request this browser made';
    return '';
  };

  return {
    start,
    callback,
    // SingleLogoutService only when the profile has logout on (profiles/logout-keys.ts): else none is served.
    metadata: () => ({ contentType: SP_METADATA_TYPE, body: spMetadataXml({ entityId: urls.entityId, acs: urls.acs, certBase64: key.certBase64, slo: logoutOn(profile) ? sloUrl(urls.acs) : undefined }) }),
    logout: createSamlLogout({ profileId: profile.ID, cfg, entityId: urls.entityId, acs: urls.acs, keyPem: key.keyPem, secret, idp, replay, log }),
    async close() {
      replay.close();
      await metadata.close();
      await transport.close();
    },
  };
}
