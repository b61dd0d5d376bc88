/**
 * The pure parts of metrics and the audit log: a failure's bounded reason, the admin operation a request
 * asks for, the keyed user hash, bounded outbound operation labels, the IdP call names.
 */
import { describe, expect, it } from '@jest/globals';
import { auditKey, hashUserId } from '../../src/audit.js';
import { adminOperation } from '../../src/http/admin-audit.js';
import { failureReason } from '../../src/login/failure-reason.js';
import { FAILURE_REASONS, metricsText, observeOutbound } from '../../src/metrics.js';
import { builtinProviders } from '../../src/providers/registry.js';
import { idpOperation } from '../../src/providers/social/idp-fetch.js';
import { metricValue, parseMetrics } from '../support/prometheus.js';

const f = (status: number, reason = 'x', message = 'Login failed') => ({ status, reason, message });
/** A provider's failure classes as its module gives them (an unknown name: the defaults, as an embedder's without any). */
const classes = (name: string) => builtinProviders.failureClasses({ ProviderName: name });

describe('failureReason', () => {
  it('the class its maker said, else by stage, status and the provider module\'s classes, never by reading the text', () => {
    expect(failureReason('provider', f(401, 'wrong password'), classes('ADProvider'))).toBe('bad_credentials');
    expect(failureReason('provider', { ...f(401, 'locked out: too many attempts for this username'), class: 'locked_out' }, classes('ADProvider'))).toBe('locked_out');
    expect(failureReason('provider', f(503), classes('ADProvider'))).toBe('unavailable');
    expect(failureReason('provider', f(504), classes('ADProvider'))).toBe('directory_error');
    expect(failureReason('provider', f(502), classes('ProxyProvider'))).toBe('upstream_error');
    expect(failureReason('provider', f(502), classes('SocialProvider'))).toBe('idp_error');
    expect(failureReason('provider', { ...f(400, 'unknown, expired or already used state'), class: 'state_invalid' }, classes('SocialProvider'))).toBe('state_invalid');
    // The text is never read: a reason that mentions a state is not a state failure unless its maker says so.
    expect(failureReason('provider', f(400, 'unknown, expired or already used state'), classes('SocialProvider'))).toBe('idp_error');
    expect(failureReason('provider', f(401, 'locked out: too many attempts'), classes('ADProvider'))).toBe('bad_credentials');
    expect(failureReason('provider', f(400, 'the identity provider answered error=access_denied'), classes('SocialProvider'))).toBe('idp_error');
    expect(failureReason('provider', f(400), classes('ADProvider'))).toBe('bad_request');
    expect(failureReason('pipeline', { ...f(400, 'constraint failed: domain', 'Constraint failed'), class: 'constraint' }, classes('ADProvider'))).toBe('constraint');
    expect(failureReason('pipeline', f(400, 'no email'), classes('SocialProvider'))).toBe('identity_incomplete');
    expect(failureReason('pipeline', f(502, 'Dashboard answered 401'), classes('SocialProvider'))).toBe('tyk_error');
    expect(failureReason('unexpected', f(500), classes('ADProvider'))).toBe('internal');
  });

  it('always answers one of the declared reasons', () => {
    for (const stage of ['provider', 'pipeline', 'unexpected'] as const) {
      for (const status of [400, 401, 403, 404, 413, 500, 501, 502, 503, 504]) {
        for (const provider of ['ADProvider', 'SocialProvider', 'ProxyProvider', 'SAMLProvider', 'custom']) {
          expect(FAILURE_REASONS).toContain(failureReason(stage, f(status, '<script>anything a client sent</script>'), classes(provider)));
        }
      }
    }
  });
});

describe('adminOperation', () => {
  it('names the change a request asks for; reads and explain are not changes', () => {
    expect(adminOperation('POST', '/profiles/a%20b')).toEqual({ operation: 'create', profile: 'a b' });
    expect(adminOperation('PUT', '/profiles/x')).toEqual({ operation: 'update', profile: 'x' });
    expect(adminOperation('DELETE', '/profiles/x')).toEqual({ operation: 'delete', profile: 'x' });
    expect(adminOperation('POST', '/profiles/save')).toEqual({ operation: 'save', profile: '' });
    expect(adminOperation('GET', '/profiles/x')).toBeUndefined();
    expect(adminOperation('POST', '/profiles/x/explain')).toBeUndefined();
    expect(adminOperation('POST', '/profiles/%E0%A4%A')).toEqual({ operation: 'create', profile: '%E0%A4%A' });
  });
});

describe('the audit hash of a user id', () => {
  it('is an HMAC-SHA-256 under the audit key, or under a key derived from the session secret (not the secret itself)', () => {
    const key = auditKey({ Key: 'k'.repeat(32) }, 'ignored');
    expect(hashUserId(key, 'alice')).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(hashUserId(key, 'alice')).toBe(hashUserId(auditKey({ Key: 'k'.repeat(32) }, 'other'), 'alice'));
    const derived = auditKey({ Key: '' }, 'session-secret-0123456789-0123456789');
    expect(derived.toString('utf8')).not.toContain('session-secret');
    expect(hashUserId(derived, 'alice')).not.toBe(hashUserId(key, 'alice'));
    expect(hashUserId(derived, 'alice')).not.toBe(hashUserId(derived, 'bob'));
  });
});

describe('outbound labels', () => {
  it('keeps operation labels bounded whatever a caller passes', async () => {
    for (let i = 0; i < 100; i++) observeOutbound('upstream', `/path/${i}`, 0.01, true);
    observeOutbound('upstream', 'has spaces and "quotes"', 0.01, false);
    const samples = parseMetrics((await metricsText()).body).filter((s) => s.name === 'tib_outbound_request_seconds_count' && s.labels.target === 'upstream');
    const ops = new Set(samples.map((s) => s.labels.operation));
    expect(ops.size).toBeLessThanOrEqual(33);
    expect(ops.has('other')).toBe(true);
    expect(metricValue(samples, 'tib_outbound_request_seconds_count', { target: 'upstream' })).toBe(101);
  });

  it('names IdP calls by their kind, not their URL', () => {
    expect(idpOperation('https://idp.example.com/.well-known/openid-configuration')).toBe('discovery');
    expect(idpOperation('https://idp.example.com/oauth2/v1/token')).toBe('token');
    expect(idpOperation('https://idp.example.com/oauth2/v1/userinfo')).toBe('userinfo');
    expect(idpOperation('https://www.googleapis.com/oauth2/v3/certs')).toBe('jwks');
    expect(idpOperation('https://idp.example.com/jwks')).toBe('jwks');
    expect(idpOperation('https://api.github.com/user')).toBe('userinfo');
    expect(idpOperation('https://idp.example.com/secret-user-42/anything')).toBe('other');
    expect(idpOperation('not a url')).toBe('other');
  });
});
