/**
 * A directory that could not judge a password, as a failure: the status, the reason (unchanged wording),
 * and for the log the directory it tried (`ldaps://host:port`) and, when the cause is typical, the setting
 * to check. Pure: no I/O, no secrets (an LDAP error message never carries the password).
 */
import { InvalidCredentialsError, NoSuchObjectError, ResultCodeError } from 'ldapts';
import type { LdapConfig } from './ldap-config.js';
import { PoolExhaustedError } from './ldap-pool.js';

export interface DirectoryFailure {
  status: number;
  reason: string;
  target: string;
  hint?: string;
}

export function directoryTarget(cfg: Pick<LdapConfig, 'LDAPServer' | 'LDAPPort' | 'LDAPUseSSL' | 'LDAPStartTLS'>): string {
  const host = cfg.LDAPServer.includes(':') ? `[${cfg.LDAPServer}]` : cfg.LDAPServer;
  return `${cfg.LDAPUseSSL ? 'ldaps' : 'ldap'}://${host}:${cfg.LDAPPort}${cfg.LDAPStartTLS ? ' (StartTLS)' : ''}`;
}

/**
 * RFC 4511 §4.1.9's names of the result codes, as slapd's and AD's logs and ldapsearch print them: the
 * operator searches for "invalidCredentials" or "49", never for ldapts's English sentence.
 */
const RESULT_NAMES: Readonly<Record<number, string>> = {
  1: 'operationsError', 2: 'protocolError', 3: 'timeLimitExceeded', 4: 'sizeLimitExceeded', 7: 'authMethodNotSupported',
  8: 'strongerAuthRequired', 10: 'referral', 11: 'adminLimitExceeded', 12: 'unavailableCriticalExtension', 13: 'confidentialityRequired',
  16: 'noSuchAttribute', 17: 'undefinedAttributeType', 18: 'inappropriateMatching', 19: 'constraintViolation', 20: 'attributeOrValueExists',
  21: 'invalidAttributeSyntax', 32: 'noSuchObject', 33: 'aliasProblem', 34: 'invalidDNSyntax', 36: 'aliasDereferencingProblem',
  48: 'inappropriateAuthentication', 49: 'invalidCredentials', 50: 'insufficientAccessRights', 51: 'busy', 52: 'unavailable',
  53: 'unwillingToPerform', 54: 'loopDetect', 64: 'namingViolation', 65: 'objectClassViolation', 66: 'notAllowedOnNonLeaf',
  67: 'notAllowedOnRDN', 68: 'entryAlreadyExists', 69: 'objectClassModsProhibited', 71: 'affectsMultipleDSAs', 80: 'other',
};

/**
 * `invalidCredentials (49)`, then the directory's own diagnostic when it sent one (AD's "data 52e" says
 * which: unknown user, wrong password, expired...). ldapts appends " Code: 0x31" to it: dropped, the name
 * and number say it.
 */
function ldapResult(err: ResultCodeError): string {
  const named = `${RESULT_NAMES[err.code] ?? 'resultCode'} (${err.code})`;
  const diagnostic = err.message.replace(/\s*Code: 0x[0-9a-f]+$/i, '').trim();
  return diagnostic ? `${named}: ${diagnostic}` : named;
}

const TLS_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL|EPROTO|wrong version number|handshake/i;

function networkHint(err: NodeJS.ErrnoException, cfg: LdapConfig, target: string): string | undefined {
  const text = `${err.code ?? ''} ${err.message}`;
  if (/ECONNREFUSED/.test(text)) return `nothing listens at ${target}: check ProviderConfig.LDAPServer and LDAPPort (389 for ldap:// and StartTLS, 636 for LDAPS), and that the directory runs`;
  if (/ENOTFOUND|EAI_AGAIN/.test(text)) return `the host name ${cfg.LDAPServer} does not resolve: check ProviderConfig.LDAPServer`;
  if (TLS_ERROR.test(text)) {
    return cfg.LDAPCAFile
      ? `TLS failed: the directory's certificate is not signed by ProviderConfig.LDAPCAFile, or not issued for ${cfg.LDAPServer}`
      : `TLS failed: set ProviderConfig.LDAPCAFile to the CA that signed the directory's certificate, and LDAPServer to the name in it`;
  }
  if (/ECONNRESET|EPIPE|socket hang up/i.test(text)) return `the directory closed the connection: does ${target} expect ${cfg.LDAPUseSSL ? 'plain LDAP (LDAPUseSSL false)' : 'LDAPS (LDAPUseSSL true)'}?`;
  return undefined;
}

export function directoryFailure(err: unknown, cfg: LdapConfig): DirectoryFailure {
  const target = directoryTarget(cfg);
  if (err instanceof PoolExhaustedError) {
    return { status: 503, reason: err.message, target, hint: `every connection to ${target} stayed busy: the directory is slow, or ProviderConfig.LDAPPoolSize is too small for the load` };
  }
  if (err instanceof ResultCodeError) {
    // Only the service account's bind gets here with invalid credentials: a user's wrong password is a refusal.
    const hint =
      err instanceof InvalidCredentialsError
        ? 'the directory refused the service account: check ProviderConfig.LDAPAdminUser and LDAPAdminPassword'
        : err instanceof NoSuchObjectError
          ? 'no such entry: check ProviderConfig.LDAPBaseDN (and LDAPGroupBaseDN)'
          : undefined;
    const what = err instanceof InvalidCredentialsError ? "the directory refused the service account's bind" : 'directory answered';
    return { status: 502, reason: `${what}: ${ldapResult(err)}`, target, ...(hint && { hint }) };
  }
  const e = (err instanceof Error ? err : new Error(String(err))) as NodeJS.ErrnoException;
  const timedOut = /time(d)? ?out/i.test(e.message) || e.code === 'ETIMEDOUT';
  const hint = timedOut ? `no answer from ${target} within ProviderConfig.LDAPConnectTimeout / LDAPTimeout: is a firewall dropping the packets?` : networkHint(e, cfg, target);
  return { status: timedOut ? 504 : 503, reason: `directory unreachable: ${e.code ?? e.message}`, target, ...(hint && { hint }) };
}
