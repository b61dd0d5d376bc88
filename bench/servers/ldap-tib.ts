/**
 * Baseline (a), TIB's algorithm: every login opens a new LDAP connection, binds the service account,
 * searches the user, binds as the user and closes the connection; then the Dashboard's /api/sso on a
 * keep-alive client (Go's default transport keeps connections) and a bare 302.
 */
import http from 'node:http';
import { Client } from 'ldapts';
import { announce, answer, listen, readBody, ssoBody, wiring } from '../common.js';
import { ssoNonce } from './sso-node-http.js';

const w = wiring();

async function login(username: string, password: string): Promise<{ email: string; name: string } | undefined> {
  const client = new Client({ url: w.slapdUrl, timeout: 5000, connectTimeout: 5000 });
  try {
    await client.bind(w.serviceDn, w.servicePassword);
    const { searchEntries } = await client.search(w.baseDn, { scope: 'sub', filter: `(&(objectClass=inetOrgPerson)(uid=${username}))`, attributes: ['mail', 'givenName', 'sn', 'memberOf'], sizeLimit: 2 });
    const entry = searchEntries[0];
    if (searchEntries.length !== 1 || !entry) return undefined;
    await client.bind(entry.dn, password);
    return { email: String(entry.mail), name: `${String(entry.givenName)} ${String(entry.sn)}` };
  } catch {
    return undefined;
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

const server = http.createServer((req, res) => {
  void (async () => {
    const form = new URLSearchParams(await readBody(req));
    const user = await login(form.get('username') ?? '', form.get('password') ?? '');
    const nonce = user ? await ssoNonce(w.tykUrl, ssoBody(user.email, user.name)) : undefined;
    answer(res, nonce ? `${w.returnUrl}?nonce=${encodeURIComponent(nonce)}` : undefined, user ? 502 : 401);
  })().catch(() => answer(res, undefined, 500));
});
await listen(server);
announce(server);
