/**
 * `npm run bench:sync` (issue 20): a directory sync of 10,000 people against a portal of 10,000 accounts, run as
 * an operator runs it, `node dist/main.js sync <profile> --json -c tib.conf -p profiles.json`, each run a process
 * of its own (so its peak RSS is the sync's own), with BackEnd "redis" (the accounts the broker manages, the
 * links and the lock live there). Counterparts as the tests use them: slapd (test/support/slapd.ts) bulk-loaded
 * with one ldapadd stream, redis-server (test/support/redis.ts) and the portal stand-in
 * (test/support/portal-stub.ts, every admin API call validated against the published contract) seeded in place.
 *
 * The portal holds 10,000 accounts the broker has managed so far (on Redis, as logins would have left them):
 * 90% match their person (by email) as they are, 5% are in another team (updates), 5% left the directory
 * (deactivations: 5% of the managed accounts, under a 10% brake); 5% of the people have no account (creates).
 * Runs, in order: a dry run (the first run's plan, nothing written), the first run, a second run with nothing
 * changed. Then a direct baseline (bench/servers/sync-direct.ts, no broker code) does the same reads: one paged
 * search of the same entries and attributes, the portal's users listed, as many users read in full, as many at once.
 *
 * Each process: wall time (start to exit, Node's start included), the engine's own seconds, CPU time, peak RSS
 * (VmHWM) and heap (bench/sync-probe.ts); slapd's, Redis's and the portal stand-in's CPU meanwhile (where the
 * time goes). Printed as Markdown; no assertions. BENCH_SYNC_PEOPLE: another size (e.g. 500 to try it out);
 * BENCH_SYNC_FLAGS: extra node flags for the broker's process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { RedisManagedAccounts } from '../src/state/portal-managed.js';
import type { SyncReport } from '../src/sync/engine.js';
import { portalApiBase } from '../src/tyk/client.js';
import { PORTAL_CONTRACT, startPortalStub, type PortalTeam } from '../test/support/portal-stub.js';
import { startRedis } from '../test/support/redis.js';
import { ROOT_DN, ROOT_PW, serviceAccountSearch, startSlapd, SUFFIX } from '../test/support/slapd.js';
import { CLK_TCK, cpuTicks, loadAverage } from './proc.js';
import { pinning, pinSelf } from './spawn.js';

const PEOPLE = Number(process.env.BENCH_SYNC_PEOPLE ?? 10_000);
const GROUPS = 8;
/** 5% each: people in another team in the portal, people without an account, accounts whose person left. */
const SHARE = Math.max(1, Math.round(PEOPLE / 20));
const PROFILE = 'bench-sync';
const SECRET = 'bench-sync-portal-sso-secret';
const TOKEN = 'bench-sync-portal-admin-token';
const KEY_PREFIX = 'tib:';
/** What the engine reads at once (src/sync/engine.ts: 8 users in full at once) and the portal API's page size. */
const IN_FLIGHT = 8;
const PER_PAGE = 100;
const ATTRIBUTES = ['mail', 'givenName', 'sn', 'memberOf'];

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const log = (msg: string) => process.stderr.write(`bench:sync: ${msg}\n`);
const probe = pathToFileURL(path.join(here, 'sync-probe.js')).href;

const pad = (i: number) => String(i).padStart(5, '0');
const uid = (i: number) => `p${pad(i)}`;
const groupDn = (g: number) => `cn=bench-team-${g},ou=groups,${SUFFIX}`;
const teamOf = (i: number) => i % GROUPS;

interface Measured {
  label: string;
  code: number;
  wallSeconds: number;
  /** Seconds from the start to these log lines of the process (its log's timestamps), when it wrote them. */
  marks: { connected?: number; listed?: number };
  probe: { peakRssMb: number; heapAfterMajorGcMb: number; heapAtEndMb: number; cpuSeconds: number };
  /** CPU of the counterparts meanwhile. */
  slapdSeconds: number;
  redisSeconds: number;
  stubSeconds: number;
  stdout: string;
  stderr: string;
}

/** `node <args>` to its exit, on the measured CPU when pinning (bench/spawn.ts), with the probe preloaded. */
async function runToEnd(label: string, args: string[], env: Record<string, string>, counterparts: () => Promise<{ slapd: number; redis: number; stub: number }>): Promise<Measured> {
  const cpus = os.availableParallelism();
  const node = [process.execPath, '--expose-gc', '--import', probe, ...args];
  const [cmd, argv] = pinning.startsWith('servers on CPU') ? ['taskset', ['-c', String(cpus - 1), ...node]] : [node[0] as string, node.slice(1)];
  const before = await counterparts();
  const t0 = performance.now();
  const epoch = Date.now();
  const child = spawn(cmd, argv, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number>((resolve) => child.once('close', (c) => resolve(c ?? -1)));
  const wallSeconds = (performance.now() - t0) / 1000;
  const after = await counterparts();
  const line = stderr.split('\n').find((l) => l.startsWith('SYNCPROBE '));
  if (!line) throw new Error(`${label}: no probe line (exit ${code}): ${stderr.slice(-2000)}`);
  const mark = (re: RegExp) => {
    const at = stderr.split('\n').find((l) => re.test(l))?.split(' ')[0];
    return at === undefined || Number.isNaN(Date.parse(at)) ? undefined : (Date.parse(at) - epoch) / 1000;
  };
  return {
    label,
    code,
    wallSeconds,
    marks: { connected: mark(/ \[INFO\] REDIS: connected/), listed: mark(/directory sync listed \d+ people/) },
    probe: JSON.parse(line.slice('SYNCPROBE '.length)) as Measured['probe'],
    slapdSeconds: after.slapd - before.slapd,
    redisSeconds: after.redis - before.redis,
    stubSeconds: after.stub - before.stub,
    stdout,
    stderr,
  };
}

/** The directory's people and groups as one LDIF stream (memberOf follows through the overlay). */
function ldif(): string {
  const out = [`dn: ou=staff,${SUFFIX}\nobjectClass: organizationalUnit\nou: staff\n`];
  for (let i = 1; i <= PEOPLE; i++) {
    out.push(`dn: uid=${uid(i)},ou=staff,${SUFFIX}\nobjectClass: inetOrgPerson\nuid: ${uid(i)}\ncn: Person ${pad(i)}\ngivenName: Person\nsn: N${pad(i)}\nmail: ${uid(i)}@bench.example.org\n`);
  }
  for (let g = 0; g < GROUPS; g++) {
    const members: string[] = [];
    for (let i = 1; i <= PEOPLE; i++) if (teamOf(i) === g) members.push(`member: uid=${uid(i)},ou=staff,${SUFFIX}`);
    out.push(`dn: ${groupDn(g)}\nobjectClass: groupOfNames\ncn: bench-team-${g}\n${members.join('\n')}\n`);
  }
  return out.join('\n');
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    p.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}: ${err.slice(-1000)}`))));
  });
}

async function main(): Promise<void> {
  const distMain = path.join(root, 'dist', 'main.js');
  if (!fs.existsSync(distMain)) throw new Error('dist/main.js is missing: run `npm run build` first');
  pinSelf();
  const startedAt = performance.now();
  // The stand-in reads the contract next to its compiled module (dist-bench/test/support/contracts/), which tsc does not copy.
  const contracts = path.dirname(fileURLToPath(PORTAL_CONTRACT));
  if (!fs.existsSync(fileURLToPath(PORTAL_CONTRACT))) fs.cpSync(path.join(root, 'test', 'support', 'contracts'), contracts, { recursive: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tib-bench-sync-'));
  // One after the other (a busy machine starts each slower), and each stopped at the end whatever failed.
  const stops: Array<() => Promise<void>> = [];
  try {
    const slapd = await startSlapd();
    stops.push(() => slapd.stop());
    const redis = await startRedis();
    stops.push(() => redis.stop());
    const portal = await startPortalStub({ portalApiSecret: SECRET, adminToken: TOKEN });
    stops.push(() => portal.close());
    const client = new Redis({ host: redis.host, port: redis.port, lazyConnect: true });
    stops.push(() => Promise.resolve(client.disconnect()));
    // The directory: PEOPLE people in GROUPS groups, one ldapadd.
    let t = performance.now();
    fs.writeFileSync(path.join(dir, 'people.ldif'), ldif());
    await run('ldapadd', ['-x', '-H', slapd.url, '-D', ROOT_DN, '-w', ROOT_PW, '-f', path.join(dir, 'people.ldif')]);
    log(`directory: ${PEOPLE} people in ${GROUPS} groups loaded in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    // The portal: one organisation, a team per group, the accounts (seeded in the stand-in's state).
    t = performance.now();
    const org = portal.addOrganisation('Bench');
    const teams: PortalTeam[] = Array.from({ length: GROUPS }, (_, g) => portal.addTeam(org.ID, `Team ${g}`));
    const managed = new Map<number, number>();
    const account = (email: string, first: string, last: string, team: PortalTeam) =>
      portal.addUser({ Email: email, First: first, Last: last, Active: true, OrganisationID: org.ID, Role: 'consumer-team-member', Provider: 'ADProvider', Teams: [team.ID] }).ID;
    // People 1..PEOPLE-SHARE have an account; the last SHARE of those are in the next team (an update); the rest get created.
    for (let i = 1; i <= PEOPLE - SHARE; i++) {
      const moved = i > PEOPLE - 2 * SHARE;
      managed.set(account(`${uid(i)}@bench.example.org`, 'Person', `N${pad(i)}`, teams[(teamOf(i) + (moved ? 1 : 0)) % GROUPS] as PortalTeam), 0);
    }
    for (let i = 1; i <= SHARE; i++) managed.set(account(`leaver${pad(i)}@bench.example.org`, 'Left', `L${pad(i)}`, teams[i % GROUPS] as PortalTeam), 0);
    await client.connect();
    const portalSettings = { Endpoint: portal.url, AdminToken: TOKEN };
    await new RedisManagedAccounts(client, KEY_PREFIX).save(portalApiBase(portalSettings), PROFILE, managed);
    log(`portal: ${portal.users.size} accounts in ${GROUPS} teams, ${managed.size} managed on Redis, in ${((performance.now() - t) / 1000).toFixed(1)} s`);

    const conf = path.join(dir, 'tib.conf');
    const profiles = path.join(dir, 'profiles.json');
    fs.writeFileSync(
      conf,
      JSON.stringify({
        BackEnd: { Name: 'redis', KeyPrefix: KEY_PREFIX, IdentityBackendSettings: { Host: redis.host, Port: redis.port } },
        TykAPISettings: { DashboardConfig: { Endpoint: portal.endpoint, Port: portal.port, AdminSecret: '' }, PortalAPIConfig: portalSettings },
      }),
      { mode: 0o600 },
    );
    const userGroupMapping = Object.fromEntries(Array.from({ length: GROUPS }, (_, g) => [groupDn(g), `Bench/Team ${g}`]));
    const providerConfig = {
      ...serviceAccountSearch(slapd),
      // The root DN: slapd caps a paged search at its size limit (500) for anyone else unless `limits ... size.prtotal=unlimited` (docs/providers/ldap.md).
      LDAPAdminUser: ROOT_DN,
      LDAPAdminPassword: ROOT_PW,
      LDAPBaseDN: `ou=staff,${SUFFIX}`,
      LDAPAttributes: ATTRIBUTES,
    };
    fs.writeFileSync(
      profiles,
      JSON.stringify([
        {
          ID: PROFILE,
          OrgID: '0',
          ActionType: 'GenerateOrLoginDeveloperProfile',
          ProviderName: 'ADProvider',
          ReturnURL: `${portal.url}/sso`,
          IdentityHandlerConfig: { DashboardCredential: SECRET },
          CustomUserGroupField: 'memberOf',
          UserGroupMapping: userGroupMapping,
          Membership: { Authority: 'idp', Teams: 'all' },
          Sync: { Source: 'ldap', IntervalSeconds: 0, Deprovision: 'deactivate', MaxDeprovisionPercent: 10 },
          ProviderConfig: providerConfig,
        },
      ]),
      { mode: 0o600 },
    );

    const slapdPid = Number(fs.readFileSync(path.join(slapd.dir, 'slapd.pid'), 'utf8').trim());
    const redisCpu = async () => {
      const info = await client.info('cpu');
      const v = (k: string) => Number(new RegExp(`${k}:([0-9.]+)`).exec(info)?.[1] ?? 0);
      return v('used_cpu_user') + v('used_cpu_sys');
    };
    // The portal stand-in runs in this process, which otherwise waits for the child meanwhile.
    const counterparts = async () => ({ slapd: cpuTicks(slapdPid) / CLK_TCK, redis: await redisCpu(), stub: (process.cpuUsage().user + process.cpuUsage().system) / 1e6 });
    const flags = (process.env.BENCH_SYNC_FLAGS ?? '').split(' ').filter(Boolean);
    const sync = async (label: string, ...extra: string[]) => {
      log(`${label}...`);
      const m = await runToEnd(label, [...flags, distMain, 'sync', PROFILE, '--json', '-c', conf, '-p', profiles, ...extra], {}, counterparts);
      fs.writeFileSync(path.join(dir, `${label.split(' ')[0]}-run.log`), m.stderr);
      let report: SyncReport;
      try {
        report = JSON.parse(m.stdout) as SyncReport;
      } catch {
        throw new Error(`${label}: exit ${m.code}, no JSON report: ${m.stderr.slice(-2000)}`);
      }
      log(`${label}: ${m.wallSeconds.toFixed(1)} s, exit ${m.code}, ${JSON.stringify(report.counts)}, ${report.errors} error(s)`);
      return { m, report };
    };
    const dry = await sync('dry run (the first run\'s plan)', '--dry-run');
    const first = await sync('first run');
    const second = await sync('second run (nothing changed)');

    // The same reads without the broker: as many accounts read in full as the second run read.
    const reads = Object.entries(second.report.counts).reduce((n, [kind, count]) => (kind === 'create' ? n : n + count), 0);
    log('direct baseline...');
    const wiring = {
      ldapUrl: slapd.url,
      bindDn: ROOT_DN,
      bindPassword: ROOT_PW,
      baseDn: providerConfig.LDAPBaseDN,
      filter: '(&(objectClass=inetOrgPerson)(uid=*))',
      attributes: [...ATTRIBUTES, 'uid'],
      portalUrl: portal.url,
      adminToken: TOKEN,
      pageSize: 500,
      perPage: PER_PAGE,
      inFlight: IN_FLIGHT,
      reads,
    };
    const direct = await runToEnd('direct', [path.join(here, 'servers', 'sync-direct.js')], { BENCH_SYNC: JSON.stringify(wiring) }, counterparts);
    const result = JSON.parse(direct.stdout.split('\n').find((l) => l.startsWith('RESULT '))?.slice(7) ?? '{}') as { entries: number; listed: number; read: number; directorySeconds: number; portalSeconds: number };
    log(`direct: ${direct.wallSeconds.toFixed(1)} s (${JSON.stringify(result)})`);
    if (portal.violations.length > 0) log(`WARNING: ${portal.violations.length} contract violation(s) at the portal stand-in, first: ${JSON.stringify(portal.violations[0])}`);

    print([dry, first, second], { m: direct, result }, portal.violations.length, (performance.now() - startedAt) / 1000);
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    if (process.env.BENCH_KEEP === '1') log(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

function print(runs: Array<{ m: Measured; report: SyncReport }>, direct: { m: Measured; result: { entries: number; listed: number; read: number; directorySeconds: number; portalSeconds: number } }, violations: number, seconds: number): void {
  const f = (n: number | undefined, d = 0) => (n === undefined || !Number.isFinite(n) ? '-' : n.toFixed(d));
  const out: string[] = [];
  out.push(`Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(1)} GB, Node ${process.version}, ${os.type()} ${os.release()}; ${pinning}; load average ${loadAverage().toFixed(2)} at the end.`);
  out.push(`Directory: ${PEOPLE} people in ${GROUPS} groups (slapd, memberOf); portal stand-in: ${PEOPLE} accounts, ${PEOPLE} managed on Redis; one measurement per row.`);
  out.push('');
  out.push('| run | exit | plan or applied | wall s | engine s | start-up / directory / portal, Redis, exit s | CPU s | peak RSS MB | heap after major GC, peak MB | heap after GC at exit MB | slapd CPU s | Redis CPU s | portal stand-in CPU s |');
  out.push('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
  // Start-up: to the Redis connection (modules loaded, files read); directory: to the listing's INFO line; the rest to the exit.
  const phases = (m: Measured) => {
    const { connected, listed } = m.marks;
    return connected === undefined || listed === undefined ? '-' : `${f(connected, 1)} / ${f(listed - connected, 1)} / ${f(m.wallSeconds - listed, 1)}`;
  };
  const row = (label: string, m: Measured, plan: string, engine?: number) =>
    out.push(`| ${label} | ${m.code} | ${plan} | ${f(m.wallSeconds, 1)} | ${f(engine, 1)} | ${phases(m)} | ${f(m.probe.cpuSeconds, 1)} | ${f(m.probe.peakRssMb)} | ${m.probe.heapAfterMajorGcMb > 0 ? f(m.probe.heapAfterMajorGcMb, 1) : 'no major GC'} | ${f(m.probe.heapAtEndMb, 1)} | ${f(m.slapdSeconds, 1)} | ${f(m.redisSeconds, 1)} | ${f(m.stubSeconds, 1)} |`);
  for (const { m, report: r } of runs) {
    const plan = (Object.entries(r.counts) as Array<[string, number]>).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
    row(m.label, m, `${r.listed} listed: ${plan}${r.errors ? `; ${r.errors} failed` : ''}${r.brake ? '; BRAKE' : ''}`, r.seconds);
  }
  const d = direct.result;
  row('direct (no broker)', direct.m, `${d.entries} entries, ${d.listed} users listed, ${d.read} read (directory ${f(d.directorySeconds, 1)} s, portal ${f(d.portalSeconds, 1)} s)`);
  out.push('');
  const second = runs.at(-1)?.m;
  if (second) {
    out.push(`Broker's second run (the same reads, nothing to write) vs the direct reads: wall time ${f(second.wallSeconds / direct.m.wallSeconds, 2)}x, CPU ${f(second.probe.cpuSeconds / direct.m.probe.cpuSeconds, 2)}x, peak RSS ${f(second.probe.peakRssMb / direct.m.probe.peakRssMb, 2)}x.`);
  }
  out.push(`Contract violations at the portal stand-in: ${violations}. Whole run: ${f(seconds)} s.`);
  console.log(`\n${out.join('\n')}`);
}

await main();
