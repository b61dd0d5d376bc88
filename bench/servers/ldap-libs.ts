/**
 * Baseline (b), the broker's libraries and steps without the broker: the broker's own LDAP pool class
 * (src/providers/ldap/ldap-pool.ts, a search pool bound as the service account and a bind pool, sized from
 * the pool size as the broker sizes them), ldapts, undici's request() for /api/sso, URLSearchParams for the
 * form, and a bare 302 from node:http. What the broker adds on top is its framework, logging and checks.
 */
import http from 'node:http';
import { Agent, request } from 'undici';
import { LdapPool, type PooledClient } from '../../src/providers/ldap/ldap-pool.js';
import { announce, answer, CRED, listen, readBody, ssoBody, wiring } from '../common.js';

const w = wiring();
const connection = { url: w.slapdUrl, startTLS: false, connectTimeout: 5000, timeout: 5000 };
const searches = new LdapPool({ ...connection, max: Math.ceil(w.poolSize / 2) });
const binds = new LdapPool({ ...connection, max: Math.max(1, Math.floor(w.poolSize / 2)) });
const dispatcher = new Agent({ connections: 64, keepAliveTimeout: 30_000 });

const asService = async (pc: PooledClient) => {
  if (pc.boundAs === w.serviceDn) return;
  await pc.client.bind(w.serviceDn, w.servicePassword);
  pc.boundAs = w.serviceDn;
};

async function login(username: string, password: string): Promise<{ email: string; name: string } | undefined> {
  const found = await searches.use(async (pc) => {
    await asService(pc);
    const filter = `(&(objectClass=inetOrgPerson)(uid=${username}))`;
    return (await pc.client.search(w.baseDn, { scope: 'sub', filter, attributes: ['mail', 'givenName', 'sn', 'memberOf'], derefAliases: 'always', sizeLimit: 2 })).searchEntries;
  });
  const entry = found[0];
  if (found.length !== 1 || !entry) return undefined;
  const ok = await binds.use(async (pc) => {
    pc.boundAs = undefined;
    await pc.client.bind(entry.dn, password).then(() => (pc.boundAs = entry.dn));
    return true;
  });
  return ok ? { email: String(entry.mail), name: `${String(entry.givenName)} ${String(entry.sn)}` } : undefined;
}

async function ssoNonce(body: string): Promise<string | undefined> {
  const res = await request(`${w.tykUrl}/api/sso`, { method: 'POST', dispatcher, headers: { Authorization: CRED, 'Content-Type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) });
  const meta = ((await res.body.json()) as { Meta?: unknown }).Meta;
  return res.statusCode === 200 && typeof meta === 'string' ? meta : undefined;
}

const server = http.createServer((req, res) => {
  void (async () => {
    const form = new URLSearchParams(await readBody(req));
    const user = await login(form.get('username') ?? '', form.get('password') ?? '').catch(() => undefined);
    const nonce = user ? await ssoNonce(ssoBody(user.email, user.name)) : undefined;
    answer(res, nonce ? `${w.returnUrl}?nonce=${encodeURIComponent(nonce)}` : undefined, user ? 502 : 401);
  })().catch(() => answer(res, undefined, 500));
});
await listen(server);
announce(server);
