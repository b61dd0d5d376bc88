/** What the bench's processes share: the fixed credentials, the login users, and how a server says it is ready. */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

export const CRED = 'bench-dashboard-credential';
export const ADMIN_SECRET = 'bench-admin-secret';
export const CLIENT_ID = 'bench';
export const CLIENT_SECRET = 'bench-client-secret';
export const ORG = 'bench';
/** The users the LDAP logins rotate through (seeded by test/support/slapd.ts, salted SHA-1: cheap to check). */
export const USERS = [
  { uid: 'alice', password: 'alice-pass' },
  { uid: 'bob', password: 'bob-pass' },
  { uid: 'carol', password: 'carol-pass' },
] as const;

/** Where a baseline finds the others, handed over in the BENCH environment variable as JSON. */
export interface Wiring {
  slapdUrl: string;
  serviceDn: string;
  servicePassword: string;
  baseDn: string;
  /** The Tyk stub's base URL, e.g. http://127.0.0.1:4567. */
  tykUrl: string;
  /** The 302's target (the profile's ReturnURL). */
  returnUrl: string;
  /** Connections per pool (the broker's LDAPPoolSize). */
  poolSize: number;
  discoveryUrl?: string;
  /** The OIDC baseline's own callback URL. */
  callbackUrl?: string;
}

export function wiring(): Wiring {
  return JSON.parse(process.env.BENCH ?? '{}') as Wiring;
}

/** The first stdout line of every bench server: how the runner learns its URL. */
export function announce(server: http.Server, extra: Record<string, unknown> = {}): void {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`READY ${JSON.stringify({ url: `http://127.0.0.1:${port}`, port, ...extra })}\n`);
}

export function listen(server: http.Server, port = 0): Promise<void> {
  server.keepAliveTimeout = 5_000;
  return new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
}

/** TIB's SSOAccessData for a Dashboard login, as the broker sends it. */
export function ssoBody(email: string, displayName: string): string {
  return JSON.stringify({ ForSection: 'dashboard', OrgID: ORG, EmailAddress: email, DisplayName: displayName, GroupID: '', GroupsIDs: [], SSOOnlyForRegisteredUsers: false });
}

/** Reads a whole request body, refusing more than `limit` bytes. */
export function readBody(req: http.IncomingMessage, limit = 64 * 1024): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) req.destroy(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A bare 302 to `location`, or a 401/502 with a one-line reason. */
export function answer(res: http.ServerResponse, location: string | undefined, status = 302): void {
  if (location) {
    res.writeHead(302, { Location: location, 'Cache-Control': 'no-store' });
    res.end();
  } else {
    res.writeHead(status === 302 ? 401 : status, { 'Content-Type': 'text/plain' });
    res.end('login failed\n');
  }
}
