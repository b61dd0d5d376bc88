/**
 * Load-time checks of the operator settings (ours): the listen address, the management listener and the audit log.
 * Pure apart from looking at the audit file's directory, so a typo fails at start, not at the first login.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DEFAULT_PORT, listenAddressProblem } from './listen.js';
import type { Config } from './types.js';

export interface OpsProblem {
  field: string;
  message: string;
}

/** Shorter audit keys make the user-id hashes guessable offline; as long as TYK_IB_SESSION_SECRET's minimum. */
export const MIN_AUDIT_KEY_LENGTH = 32;

export function opsSettingsProblems(c: Config): OpsProblem[] {
  const out: OpsProblem[] = [];
  // Checked here, not at listen: a typo would otherwise stop the start with the system's bind error.
  const listen = listenAddressProblem(c.ListenAddress, true);
  if (listen) out.push({ field: 'ListenAddress', message: listen });
  const m = c.Management;
  if (!Number.isInteger(m.Port) || m.Port < 0 || m.Port > 65535) out.push({ field: 'Management.Port', message: `must be between 0 (no management listener) and 65535, got ${m.Port}` });
  else if (m.Port !== 0 && m.Port === (c.Port || DEFAULT_PORT)) out.push({ field: 'Management.Port', message: `must differ from the main port ${c.Port || DEFAULT_PORT}` });
  // The same rule as ListenAddress, but never empty: the management listener is open, so it binds somewhere named.
  const host = m.Port !== 0 ? listenAddressProblem(m.Host, false) : undefined;
  if (host) out.push({ field: 'Management.Host', message: host });
  const a = c.Audit;
  if (a.Enabled) {
    if (a.Key !== '' && a.Key.length < MIN_AUDIT_KEY_LENGTH) out.push({ field: 'Audit.Key', message: `must be at least ${MIN_AUDIT_KEY_LENGTH} characters (it keys the user-id hashes)` });
    if (a.Key === '' && c.SessionSecret === '') {
      out.push({ field: 'Audit.Key', message: 'the audit log hashes user IDs with a key: set Audit.Key (TYK_IB_AUDIT_KEY) or TYK_IB_SESSION_SECRET' });
    }
    if (a.Path !== '') out.push(...auditPathProblems(path.resolve(a.Path)));
  }
  return out;
}

/** The audit file is opened for appending at start: a directory or an unwritable file would stop the broker there. */
function auditPathProblems(file: string): OpsProblem[] {
  const problem = (message: string) => [{ field: 'Audit.Path', message }];
  const stat = fs.statSync(file, { throwIfNoEntry: false });
  if (stat?.isDirectory()) return problem(`${file} is a directory: name the log file in it, e.g. ${path.join(file, 'audit.log')}`);
  const target = stat ? file : path.dirname(file);
  try {
    fs.accessSync(target, fs.constants.W_OK);
  } catch {
    return problem(stat ? `${file} is not writable by the broker's user` : `the directory ${target} does not exist or is not writable`);
  }
  return [];
}
