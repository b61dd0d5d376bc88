/**
 * Baseline (c), the leanest: node:http in and out (a keep-alive agent for /api/sso), a pool of ldapts
 * connections bound once as the service account for searches and a pool of its own for user binds, nothing else.
 */
import http from 'node:http';
import { Client } from 'ldapts';
import { announce, answer, listen, readBody, ssoBody, wiring } from '../common.js';
import { ssoNonce } from './sso-node-http.js';

const w = wiring();

/** Up to `max` clients, lent one login at a time; a client that failed is dropped. */
class Pool {
  private idle: Client[] = [];
  private size = 0;
  private waiters: Array<(c: Client) => void> = [];
  constructor(
    private readonly max: number,
    private readonly open: () => Promise<Client>,
  ) {}

  async use<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    const c = await this.acquire();
    try {
      const out = await fn(c);
      this.release(c);
      return out;
    } catch (err) {
      this.size--;
      void c.unbind().catch(() => undefined);
      throw err;
    }
  }

  private async acquire(): Promise<Client> {
    const idle = this.idle.pop();
    if (idle) return idle;
    if (this.size < this.max) {
      this.size++;
      return this.open().catch((err: unknown) => {
        this.size--;
        throw err;
      });
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private release(c: Client): void {
    const next = this.waiters.shift();
    if (next) next(c);
    else this.idle.push(c);
  }
}

const client = () => new Client({ url: w.slapdUrl, timeout: 5000, connectTimeout: 5000 });
const searches = new Pool(Math.ceil(w.poolSize / 2), async () => {
  const c = client();
  await c.bind(w.serviceDn, w.servicePassword);
  return c;
});
const binds = new Pool(Math.max(1, Math.floor(w.poolSize / 2)), async () => client());

async function login(username: string, password: string): Promise<{ email: string; name: string } | undefined> {
  const { searchEntries } = await searches.use((c) =>
    c.search(w.baseDn, { scope: 'sub', filter: `(&(objectClass=inetOrgPerson)(uid=${username}))`, attributes: ['mail', 'givenName', 'sn', 'memberOf'], sizeLimit: 2 }),
  );
  const entry = searchEntries[0];
  if (searchEntries.length !== 1 || !entry) return undefined;
  await binds.use((c) => c.bind(entry.dn, password));
  return { email: String(entry.mail), name: `${String(entry.givenName)} ${String(entry.sn)}` };
}

const server = http.createServer((req, res) => {
  void (async () => {
    const form = new URLSearchParams(await readBody(req));
    const user = await login(form.get('username') ?? '', form.get('password') ?? '').catch(() => undefined);
    const nonce = user ? await ssoNonce(w.tykUrl, ssoBody(user.email, user.name)) : undefined;
    answer(res, nonce ? `${w.returnUrl}?nonce=${encodeURIComponent(nonce)}` : undefined, user ? 502 : 401);
  })().catch(() => answer(res, undefined, 500));
});
await listen(server);
announce(server);
