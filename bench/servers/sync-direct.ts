/**
 * The sync bench's baseline (bench/sync.ts): the reads of a directory sync done directly, no broker code, in a
 * process of its own run to its end. The directory: one ldapts paged search of the same entries with the same
 * attributes as the broker's listing. The portal: its users listed page by page, then GET /users/{id} for as
 * many accounts as the broker reads, as many at once, with undici. Writes `RESULT {json}` on stdout.
 */
import { Client } from 'ldapts';
import { Pool } from 'undici';

interface DirectWiring {
  ldapUrl: string;
  bindDn: string;
  bindPassword: string;
  baseDn: string;
  filter: string;
  attributes: string[];
  portalUrl: string;
  adminToken: string;
  pageSize: number;
  perPage: number;
  /** GET /users/{id} in flight at once (the broker's engine reads 8 at once). */
  inFlight: number;
  /** How many accounts to read in full (the broker's count). */
  reads: number;
}

const w = JSON.parse(process.env.BENCH_SYNC ?? '{}') as DirectWiring;
const started = performance.now();

const ldap = new Client({ url: w.ldapUrl });
await ldap.bind(w.bindDn, w.bindPassword);
let entries = 0;
for await (const page of ldap.searchPaginated(w.baseDn, { scope: 'sub', filter: w.filter, attributes: w.attributes, paged: { pageSize: w.pageSize } })) entries += page.searchEntries.length;
await ldap.unbind();
const directorySeconds = (performance.now() - started) / 1000;

const portal = new Pool(w.portalUrl, { connections: w.inFlight });
const headers = { authorization: w.adminToken, accept: 'application/json' };
const getJson = async (path: string): Promise<unknown> => {
  const res = await portal.request({ method: 'GET', path, headers });
  if (res.statusCode !== 200) throw new Error(`GET ${path} answered ${res.statusCode}`);
  return res.body.json();
};
const ids: number[] = [];
for (let page = 1; ; page++) {
  const rows = (await getJson(`/portal-api/users?page=${page}&per_page=${w.perPage}`)) as Array<{ ID: number }>;
  if (rows.length === 0) break;
  ids.push(...rows.map((r) => r.ID));
}
const listed = ids.length;
const toRead = ids.slice(0, w.reads);
let next = 0;
let read = 0;
await Promise.all(
  Array.from({ length: w.inFlight }, async () => {
    while (next < toRead.length) {
      const user = (await getJson(`/portal-api/users/${toRead[next++]}`)) as { Teams?: unknown[] };
      if (Array.isArray(user.Teams)) read++;
    }
  }),
);
await portal.close();
const seconds = (performance.now() - started) / 1000;
process.stdout.write(`RESULT ${JSON.stringify({ entries, listed, read, seconds, directorySeconds, portalSeconds: seconds - directorySeconds })}\n`);
