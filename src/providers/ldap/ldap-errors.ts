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
    return { status: 502, reason: `directory answered: ${err.message}`, target, ...(hint && { hint }) };
  }
  const e = (err instanceof Error ? err : new Error(String(err))) as NodeJS.ErrnoException;
  const timedOut = /time(d)? ?out/i.test(e.message) || e.code === 'ETIMEDOUT';
  const hint = timedOut ? `no answer from ${target} within ProviderConfig.LDAPConnectTimeout / LDAPTimeout: is a firewall dropping the packets?` : networkHint(e, cfg, target);
  return { status: timedOut ? 504 : 503, reason: `directory unreachable: ${e.code ?? e.message}`, target, ...(hint && { hint }) };
}
