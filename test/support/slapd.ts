/**
 * A throwaway OpenLDAP (Debian slapd) on ephemeral loopback ports, in a temp dir: ldap:// (with StartTLS)
 * and ldaps://, both with a certificate from a test CA, on 127.0.0.1 and on a second loopback address the
 * certificate does not name (for host-name verification failures). Seeded with users in several groups
 * (memberOf overlay), two service accounts, a user with DN-special characters, a user with diacritics, a user
 * whose password contains colons, a locked-out user (its password cannot be used to bind), contractors
 * whose groups are posixGroups without memberOf (for the group-search option), and a user whose password is
 * hashed with Argon2 (a slow hash, for the timing of refusals). It can be paused (SIGSTOP) to stall it.
 */
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Attribute, Change, Client } from 'ldapts';
import { makeTestCa, type TestCa } from './test-ca.js';

const run = promisify(execFile);
export const SUFFIX = 'dc=example,dc=org';
export const ROOT_DN = `cn=admin,${SUFFIX}`;
export const ROOT_PW = 'root-password-for-tests';
export const SERVICE_DN = `cn=broker,ou=services,${SUFFIX}`;
export const SERVICE_PW = 'service-account-password';
/** A second service account, for one profile only: its connections can be told apart in cn=Monitor. */
export const PROBE_DN = `cn=probe,ou=services,${SUFFIX}`;
export const PROBE_PW = 'probe-account-password';
/** The DN-special user: every RFC 4514 special character in its uid. */
export const SPECIAL_UID = 'sp,e+c"i\\a<l>;';
/** Also loopback, but not in the server certificate (which names 127.0.0.1 and localhost). */
export const UNNAMED_ADDRESS = '127.0.0.2';

export interface User {
  uid: string;
  password: string;
  mail?: string;
  givenName: string;
  sn: string;
  ou?: string;
  /** How userPassword is hashed: salted SHA-1 (fast, the default) or Argon2 (slow on purpose). */
  scheme?: 'SSHA' | 'ARGON2';
}

export const USERS: User[] = [
  { uid: 'alice', password: 'alice-pass', mail: 'alice@example.org', givenName: 'Alice', sn: 'Admin' },
  { uid: 'bob', password: 'bob-pass', mail: 'bob@example.org', givenName: 'Bob', sn: 'Builder' },
  { uid: 'carol', password: 'carol-pass', mail: 'carol@example.org', givenName: 'Carol', sn: 'Cloud' },
  { uid: 'dave', password: 'dave-pass', givenName: 'Dave', sn: 'Nomail' },
  { uid: 'Zoë Müller', password: 'zoe-pass', mail: 'zoe@example.org', givenName: 'Zoë', sn: 'Müller' },
  { uid: SPECIAL_UID, password: 'special-pass', mail: 'special@example.org', givenName: 'Spe', sn: 'Cial' },
  { uid: 'colin', password: 'colon:in:password', mail: 'colin@example.org', givenName: 'Colin', sn: 'Colon' },
  { uid: 'locked', password: 'locked-pass', mail: 'locked@example.org', givenName: 'Locked', sn: 'Out' },
  { uid: 'erin', password: 'erin-pass', mail: 'erin@example.org', givenName: 'Erin', sn: 'Contractor', ou: 'contractors' },
  { uid: 'argon', password: 'argon-pass', mail: 'argon@example.org', givenName: 'Argon', sn: 'Two', scheme: 'ARGON2' },
];

/** groupOfNames (memberOf is maintained by the overlay). */
export const GROUPS: Record<string, string[]> = {
  admins: ['alice', 'carol'],
  developers: ['alice', 'bob', 'Zoë Müller', SPECIAL_UID],
  testers: ['bob'],
};
/** posixGroups for contractors (no memberOf). */
export const TEAMS: Record<string, string[]> = { 'api-partners': ['erin'], 'beta-testers': ['erin'] };

export interface Slapd {
  url: string;
  ldapsUrl: string;
  port: number;
  ldapsPort: number;
  ca: TestCa;
  /** A CA that did not sign the server certificate (for verification failures). */
  otherCa: TestCa;
  dir: string;
  userDn(uid: string, ou?: string): string;
  /** Total connections slapd has accepted so far (cn=Monitor). */
  totalConnections(): Promise<number>;
  /** What each open connection is bound as ('' for anonymous), the monitor query's own included (cn=Monitor). */
  boundAs(): Promise<string[]>;
  /** Bind operations slapd has completed so far, the binds of these monitor queries left out (cn=Monitor). */
  binds(): Promise<number>;
  /** Freeze the server (SIGSTOP), resolved once every thread is stopped: connections are still accepted by the kernel, nothing is answered. */
  pause(): Promise<void>;
  /** Let a paused server run again (SIGCONT). */
  resume(): void;
  stop(): Promise<void>;
}

/** ADProvider settings most tests use: the service account searches people by uid over plain LDAP. */
export function serviceAccountSearch(slapd: Pick<Slapd, 'port'>): Record<string, unknown> {
  return {
    LDAPServer: '127.0.0.1',
    LDAPPort: String(slapd.port),
    LDAPAdminUser: SERVICE_DN,
    LDAPAdminPassword: SERVICE_PW,
    LDAPBaseDN: `ou=people,${SUFFIX}`,
    LDAPFilter: '(&(objectClass=inetOrgPerson)(uid=*USERNAME*))',
    LDAPSearchScope: 2,
  };
}

export interface LdapProfileOptions {
  id: string;
  /** ReturnURL (e.g. the Tyk stub's `/tap`). */
  returnUrl: string;
  /** IdentityHandlerConfig.DashboardCredential. */
  credential: string;
  /** The profile's Name; none by default. */
  name?: string;
  orgId?: string;
  actionType?: string;
  /** Extra IdentityHandlerConfig keys (TokenAuth, OAuth, ...). */
  identityHandlerConfig?: Record<string, unknown>;
  /** Profile-level keys (CustomUserGroupField, UserGroupMapping, MatchedPolicyID, ...). */
  profile?: Record<string, unknown>;
  /** Extra ProviderConfig keys, over serviceAccountSearch(). */
  providerConfig?: Record<string, unknown>;
}

/** A Dashboard-SSO profile (by default) whose service account searches this directory (serviceAccountSearch). */
export function ldapProfile(slapd: Pick<Slapd, 'port'>, o: LdapProfileOptions): Record<string, unknown> {
  return {
    ID: o.id,
    ...(o.name === undefined ? {} : { Name: o.name }),
    OrgID: o.orgId ?? 'org-1',
    ActionType: o.actionType ?? 'GenerateOrLoginUserProfile',
    ProviderName: 'ADProvider',
    ReturnURL: o.returnUrl,
    IdentityHandlerConfig: { DashboardCredential: o.credential, ...o.identityHandlerConfig },
    ...o.profile,
    ProviderConfig: { ...serviceAccountSearch(slapd), ...o.providerConfig },
  };
}

/**
 * A port free now, below the kernel's ephemeral range (32768-60999 on Linux): a port the kernel handed out
 * (listen on 0) is also what it hands to outgoing connections, so on a busy test run another suite's client
 * socket could take it before the server meant for it binds (seen as "redis-server did not listen").
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; ; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * 22_000);
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
    if (attempt > 50) throw new Error('no free port found below 32000');
  }
}

const escapeDn = (v: string) => v.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`);
/** LDIF: base64 for values that are not plain ASCII-safe. */
const attr = (name: string, value: string) => (/^[\x20-\x7e]*$/.test(value) && !/^[ :<]/.test(value) ? `${name}: ${value}` : `${name}:: ${Buffer.from(value).toString('base64')}`);

/** Argon2 with RFC 9106's second recommended setting (64 MiB, 3 passes): each check costs the server tens of ms. */
const ARGON2 = ['-o', 'module-load=argon2 m=65536 t=3 p=1', '-h', '{ARGON2}'];

function hash(password: string, scheme: User['scheme'] = 'SSHA'): string {
  return execFileSync('slappasswd', [...(scheme === 'ARGON2' ? ARGON2 : ['-h', '{SSHA}']), '-s', password]).toString().trim();
}

/**
 * Moves users in or out of a seeded group (cn=<cn>,ou=groups): one LDAP modify as the root DN, so memberOf follows
 * through the overlay and the next login sees it. Additions go first: a groupOfNames must keep a member.
 */
export async function changeGroupMembers(slapd: Pick<Slapd, 'url' | 'userDn'>, cn: string, change: { add?: string[]; remove?: string[] }): Promise<void> {
  const member = (uids: string[]) => new Attribute({ type: 'member', values: uids.map((u) => slapd.userDn(u)) });
  const changes = [
    ...(change.add?.length ? [new Change({ operation: 'add', modification: member(change.add) })] : []),
    ...(change.remove?.length ? [new Change({ operation: 'delete', modification: member(change.remove) })] : []),
  ];
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(ROOT_DN, ROOT_PW);
    await client.modify(`cn=${cn},ou=groups,${SUFFIX}`, changes);
  } finally {
    await client.unbind();
  }
}

/** `idleTimeout`: seconds after which slapd closes an idle connection (its `idletimeout`), as directories do. */
export async function startSlapd(opts: { idleTimeout?: number } = {}): Promise<Slapd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'slapd-'));
  const [port, ldapsPort] = [await freePort(), await freePort()];
  const ca = makeTestCa(dir, 'ldap');
  const otherCa = makeTestCa(dir, 'other');
  const userDn = (uid: string, ou = 'people') => `uid=${escapeDn(uid)},ou=${ou},${SUFFIX}`;
  fs.mkdirSync(path.join(dir, 'data'));

  fs.writeFileSync(
    path.join(dir, 'slapd.conf'),
    `include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
pidfile ${dir}/slapd.pid
argsfile ${dir}/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload refint
moduleload argon2
loglevel none
${opts.idleTimeout ? `idletimeout ${opts.idleTimeout}\n` : ''}TLSCACertificateFile ${ca.caCert}
TLSCertificateFile ${ca.serverCert}
TLSCertificateKeyFile ${ca.serverKey}

database mdb
maxsize 104857600
suffix "${SUFFIX}"
rootdn "${ROOT_DN}"
rootpw ${hash(ROOT_PW)}
directory ${dir}/data
index objectClass eq
index uid,cn,mail,member,memberUid eq

overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE
overlay refint
refint_attributes member

access to dn.exact="${userDn('locked')}" attrs=userPassword
  by * none
access to attrs=userPassword
  by self write
  by anonymous auth
  by * none
access to *
  by * read

database monitor
access to *
  by dn.exact="${ROOT_DN}" read
  by * none
`,
  );

  const people = USERS.map(
    (u) => `dn: ${userDn(u.uid, u.ou)}
objectClass: inetOrgPerson
${attr('uid', u.uid)}
${attr('cn', `${u.givenName} ${u.sn}`)}
${attr('sn', u.sn)}
${attr('givenName', u.givenName)}
${u.mail ? `mail: ${u.mail}\n` : ''}userPassword: ${hash(u.password, u.scheme)}
`,
  );
  const groups = Object.entries(GROUPS).map(
    ([cn, members]) => `dn: cn=${cn},ou=groups,${SUFFIX}
objectClass: groupOfNames
cn: ${cn}
${members.map((m) => attr('member', userDn(m))).join('\n')}
`,
  );
  const teams = Object.entries(TEAMS).map(
    ([cn, members], i) => `dn: cn=${cn},ou=teams,${SUFFIX}
objectClass: posixGroup
cn: ${cn}
gidNumber: ${5000 + i}
${members.map((m) => `memberUid: ${m}`).join('\n')}
`,
  );
  const ous = ['people', 'groups', 'services', 'contractors', 'teams'].map((ou) => `dn: ou=${ou},${SUFFIX}\nobjectClass: organizationalUnit\nou: ${ou}\n`);
  const seed = [
    `dn: ${SUFFIX}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: Example Org\ndc: example\n`,
    ...ous,
    `dn: ${SERVICE_DN}\nobjectClass: person\ncn: broker\nsn: service\nuserPassword: ${hash(SERVICE_PW)}\n`,
    `dn: ${PROBE_DN}\nobjectClass: person\ncn: probe\nsn: service\nuserPassword: ${hash(PROBE_PW)}\n`,
    ...people,
    ...groups,
    ...teams,
  ].join('\n');
  fs.writeFileSync(path.join(dir, 'seed.ldif'), seed);

  const url = `ldap://127.0.0.1:${port}`;
  const ldapsUrl = `ldaps://127.0.0.1:${ldapsPort}`;
  await run('slaptest', ['-Q', '-u', '-f', path.join(dir, 'slapd.conf')]);
  const unnamed = `ldap://${UNNAMED_ADDRESS}:${port}/ ldaps://${UNNAMED_ADDRESS}:${ldapsPort}/`;
  await run('/usr/sbin/slapd', ['-f', path.join(dir, 'slapd.conf'), '-h', `${url}/ ${ldapsUrl}/ ${unnamed}`]);
  for (let i = 0; ; i++) {
    try {
      await run('ldapwhoami', ['-x', '-H', url, '-D', ROOT_DN, '-w', ROOT_PW]);
      break;
    } catch (err) {
      if (i > 200) throw err;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  // Loaded online (not slapadd) so the memberof overlay computes memberOf.
  await run('ldapadd', ['-x', '-H', url, '-D', ROOT_DN, '-w', ROOT_PW, '-f', path.join(dir, 'seed.ldif')]);

  const slapdPid = () => Number(fs.readFileSync(path.join(dir, 'slapd.pid'), 'utf8').trim());
  // Each monitor query binds as the root DN once: binds() leaves those out.
  let monitorQueries = 0;
  const monitor = (args: string[]) => {
    monitorQueries++;
    return run('ldapsearch', ['-x', '-LLL', '-o', 'ldif-wrap=no', '-H', url, '-D', ROOT_DN, '-w', ROOT_PW, ...args]);
  };
  return {
    url,
    ldapsUrl,
    port,
    ldapsPort,
    ca,
    otherCa,
    dir,
    userDn,
    async totalConnections() {
      const { stdout } = await monitor(['-b', 'cn=Total,cn=Connections,cn=Monitor', '-s', 'base', 'monitorCounter']);
      return Number(/monitorCounter: (\d+)/.exec(stdout)?.[1] ?? NaN);
    },
    async boundAs() {
      const { stdout } = await monitor(['-b', 'cn=Connections,cn=Monitor', '-s', 'one', '(objectClass=monitorConnection)', 'monitorConnectionAuthzDN']);
      const entries = stdout.split(/\n\s*\n/).filter((e) => e.trim() !== '');
      return entries.map((e) => /^monitorConnectionAuthzDN: (.*)$/m.exec(e)?.[1] ?? '');
    },
    async binds() {
      const { stdout } = await monitor(['-b', 'cn=Bind,cn=Operations,cn=Monitor', '-s', 'base', 'monitorOpCompleted']);
      return Number(/monitorOpCompleted: (\d+)/.exec(stdout)?.[1] ?? NaN) - monitorQueries;
    },
    async pause() {
      const pid = slapdPid();
      process.kill(pid, 'SIGSTOP');
      // The signal is delivered asynchronously: wait until no thread is still running (state T in /proc).
      const running = () => fs.readdirSync(`/proc/${pid}/task`).some((t) => !/^\d+ \(.*\) [Tt] /.test(fs.readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8')));
      for (let i = 0; running(); i++) {
        if (i > 200) throw new Error('slapd did not stop');
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    resume: () => process.kill(slapdPid(), 'SIGCONT'),
    async stop() {
      const pidFile = path.join(dir, 'slapd.pid');
      if (fs.existsSync(pidFile)) {
        const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
        try {
          process.kill(pid, 'SIGCONT'); // a paused server would not act on SIGTERM
          process.kill(pid, 'SIGTERM');
          for (let i = 0; i < 100; i++) {
            process.kill(pid, 0);
            await new Promise((r) => setTimeout(r, 20));
          }
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
