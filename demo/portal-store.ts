/**
 * What the demo portal remembers, bounded: the SSO nonces it issued (single use, short-lived, as Tyk's), the
 * developers the broker created or updated, and the last sign-ins, to show on its pages.
 */
import { randomBytes } from 'node:crypto';

/** How long a nonce can be redeemed: the browser lands a moment after the broker asked for it. */
export const NONCE_TTL_MS = 60_000;
const MAX_NONCES = 1000;
const MAX_DEVELOPERS = 1000;
const MAX_SIGN_INS = 20;
const MAX_TEAMS = 50;
const MAX_TEXT = 256;

export type Section = 'dashboard' | 'portal';

/** The broker's SSO request (Tyk's SSOAccessData), as received. */
export interface SsoRequest {
  section: Section;
  /** Which endpoint issued the nonce: `/api/sso` (the profile's DashboardCredential) or `/admin/sso`. */
  via: '/api/sso' | '/admin/sso';
  orgId: string;
  email: string;
  displayName: string;
  groupId: string;
  groupIds: string[];
  ssoOnlyForRegisteredUsers: boolean;
}

export interface DeveloperChange {
  change: 'created' | 'updated';
  id: string;
  ssoKey: string;
  at: Date;
}

export interface SignIn extends SsoRequest {
  nonce: string;
  issuedAt: Date;
  redeemedAt?: Date;
  /** Portal SSO: the developer record the broker wrote with this nonce. */
  developer?: DeveloperChange;
}

const text = (v: unknown): string => (typeof v === 'string' ? v.slice(0, MAX_TEXT) : '');

/** The fields of an SSOAccessData body, each bounded; undefined when it is not one. */
export function parseSsoRequest(body: unknown, via: SsoRequest['via']): SsoRequest | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const b = body as Record<string, unknown>;
  if (b.ForSection !== 'dashboard' && b.ForSection !== 'portal') return undefined;
  const groups = Array.isArray(b.GroupsIDs) ? b.GroupsIDs.filter((g): g is string => typeof g === 'string').slice(0, MAX_TEAMS).map(text) : [];
  return {
    section: b.ForSection,
    via,
    orgId: text(b.OrgID),
    email: text(b.EmailAddress),
    displayName: text(b.DisplayName),
    groupId: text(b.GroupID),
    groupIds: groups,
    ssoOnlyForRegisteredUsers: b.SSOOnlyForRegisteredUsers === true,
  };
}

/** Maps that forget their oldest entries past a size (insertion order). */
function capped<K, V>(map: Map<K, V>, max: number): void {
  for (const key of map.keys()) {
    if (map.size <= max) return;
    map.delete(key);
  }
}

export type Redemption = { ok: true; signIn: SignIn } | { ok: false; why: string };

export class PortalStore {
  private readonly nonces = new Map<string, SignIn>();
  readonly developers = new Map<string, Record<string, unknown>>();
  private readonly signIns: SignIn[] = [];

  constructor(private readonly now: () => Date = () => new Date()) {}

  issue(req: SsoRequest): string {
    const nonce = randomBytes(16).toString('hex');
    this.nonces.set(nonce, { ...req, nonce, issuedAt: this.now() });
    capped(this.nonces, MAX_NONCES);
    return nonce;
  }

  /** Single use: a nonce is gone once redeemed, whatever the outcome. */
  redeem(nonce: string, landing: Section): Redemption {
    const signIn = this.nonces.get(nonce);
    if (!signIn) return { ok: false, why: 'This nonce is unknown or was already used: a nonce signs in once (reloading this page shows this).' };
    this.nonces.delete(nonce);
    if (this.now().getTime() - signIn.issuedAt.getTime() > NONCE_TTL_MS) return { ok: false, why: 'This nonce has expired: sign in again.' };
    if (signIn.section !== landing) return { ok: false, why: `This nonce was issued for the ${signIn.section === 'portal' ? 'Developer Portal' : 'Dashboard'}, not for this page.` };
    signIn.redeemedAt = this.now();
    this.signIns.unshift(signIn);
    this.signIns.length = Math.min(this.signIns.length, MAX_SIGN_INS);
    return { ok: true, signIn };
  }

  recent(): readonly SignIn[] {
    return this.signIns;
  }

  /** The broker created (POST) or updated (PUT) a developer with a nonce it was issued: remember it with that sign-in. */
  saveDeveloper(dev: Record<string, unknown>, change: DeveloperChange['change']): void {
    const ssoKey = text(dev.sso_key);
    this.developers.delete(ssoKey);
    this.developers.set(ssoKey, dev);
    capped(this.developers, MAX_DEVELOPERS);
    const signIn = typeof dev.nonce === 'string' ? this.nonces.get(dev.nonce) : undefined;
    if (signIn) signIn.developer = { change, id: text(dev.id), ssoKey, at: this.now() };
  }

  developerById(id: string): Record<string, unknown> | undefined {
    return [...this.developers.values()].find((d) => d.id === id);
  }
}

// --- The portal's own accounts, behind its admin API (`/portal-api`, demo/portal-app.ts). ---

/** Shapes of test/support/contracts/tyk-portal-api-1.14.0.yaml (Organisation-index-elem, Team-index-elem, User-basis). */
export interface PortalOrganisation {
  ID: number;
  Name: string;
}
export interface PortalTeam {
  ID: number;
  Name: string;
  Default: boolean;
  OrganisationID: number;
}
export interface PortalAccount {
  ID: number;
  Email: string;
  First: string;
  Last: string;
  Active: boolean;
  /** 0: no organisation (a developer without a team). */
  OrganisationID: number;
  Role: string;
  Provider: string;
  Teams: number[];
  CreatedAt: string;
  UpdatedAt: string;
}

/** What happened to an account, said in names (`Teams: Acme/Partners → Acme/Internal`), for the portal's pages. */
export interface AccountEvent {
  at: Date;
  email: string;
  /** `PUT /portal-api/users/3`, or the SSO landing when the portal itself created the account. */
  via: string;
  changes: string[];
}

/** The organisations and teams the demo portal starts with; the demo profile refers to them by name. */
export const DEMO_ORGANISATIONS: ReadonlyArray<{ name: string; teams: string[] }> = [
  { name: 'Acme', teams: ['Partners', 'Internal'] },
  { name: 'Globex', teams: ['Developers'] },
];

const MAX_ACCOUNTS = 1000;
const MAX_EVENTS = 50;
/** The document's date-time format, `2023-06-23 21:02`. */
const stamp = (d: Date) => d.toISOString().slice(0, 16).replace('T', ' ');

/** An account update as the admin API receives it (User-update: User-basis fields, `Teams` as ID strings). */
export interface AccountInput {
  Email?: unknown;
  First?: unknown;
  Last?: unknown;
  Active?: unknown;
  OrganisationID?: unknown;
  Role?: unknown;
  Provider?: unknown;
  Teams?: unknown;
}

export type AccountResult = { ok: true; account: PortalAccount } | { ok: false; status: number; error: string };

const ROLES = ['consumer-admin', 'consumer-team-member'];

/** The portal's organisations, teams and accounts, bounded; each change remembered with its before → after. */
export class PortalAccounts {
  readonly organisations = new Map<number, PortalOrganisation>();
  readonly teams = new Map<number, PortalTeam>();
  private readonly accounts = new Map<number, PortalAccount>();
  private readonly events: AccountEvent[] = [];
  private nextId = 1;
  /** When the organisations and teams were made (Team-show's CreatedAt). */
  readonly seededAt: string;

  constructor(private readonly now: () => Date = () => new Date()) {
    this.seededAt = stamp(now());
    for (const o of DEMO_ORGANISATIONS) {
      const org = { ID: this.organisations.size + 1, Name: o.name };
      this.organisations.set(org.ID, org);
      for (const name of o.teams) {
        const team = { ID: this.teams.size + 1, Name: name, Default: false, OrganisationID: org.ID };
        this.teams.set(team.ID, team);
      }
    }
  }

  list(): PortalAccount[] {
    return [...this.accounts.values()];
  }

  get(id: number): PortalAccount | undefined {
    return this.accounts.get(id);
  }

  byEmail(email: string): PortalAccount | undefined {
    const e = email.toLowerCase();
    return this.list().find((a) => a.Email.toLowerCase() === e);
  }

  recentEvents(): readonly AccountEvent[] {
    return this.events;
  }

  orgName(id: number): string {
    return this.organisations.get(id)?.Name ?? '';
  }

  /** `Acme/Partners`: the stable name the demo profile uses (docs: `<organisation name>/<team name>`). */
  teamName(id: number): string {
    const t = this.teams.get(id);
    return t ? `${this.orgName(t.OrganisationID)}/${t.Name}` : `#${id}`;
  }

  /** POST /portal-api/users (User-create). */
  create(input: AccountInput, via: string): AccountResult {
    if (typeof input.Email !== 'string' || !input.Email.includes('@')) return { ok: false, status: 422, error: 'Email is required' };
    if (this.byEmail(input.Email)) return { ok: false, status: 422, error: 'Email is already taken' };
    const at = stamp(this.now());
    const account: PortalAccount = { ID: this.nextId++, Email: text(input.Email), First: '', Last: '', Active: true, OrganisationID: 0, Role: 'consumer-team-member', Provider: 'password', Teams: [], CreatedAt: at, UpdatedAt: at };
    const r = this.apply(account, input);
    if (!r.ok) return r;
    this.accounts.set(account.ID, account);
    capped(this.accounts, MAX_ACCOUNTS);
    this.remember(account, via, ['created', ...this.describe(undefined, account)]);
    return { ok: true, account };
  }

  /** PUT /portal-api/users/{id} (User-update): only the fields sent change. */
  update(id: number, input: AccountInput, via: string): AccountResult {
    const existing = this.accounts.get(id);
    if (!existing) return { ok: false, status: 422, error: 'User not found' };
    const next = { ...existing, Teams: [...existing.Teams] };
    const r = this.apply(next, input);
    if (!r.ok) return r;
    const changes = this.describe(existing, next);
    if (changes.length > 0) next.UpdatedAt = stamp(this.now());
    this.accounts.set(id, next);
    this.remember(next, via, changes.length ? changes : ['nothing changed']);
    return { ok: true, account: next };
  }

  delete(id: number, via: string): boolean {
    const existing = this.accounts.get(id);
    if (!existing) return false;
    this.accounts.delete(id);
    this.remember(existing, via, ['deleted']);
    return true;
  }

  /**
   * The browser lands with a nonce: the portal's documented SSO login (test/support/contracts/README.md) finds the
   * account by email, else creates one as an API Consumer Admin; the team the broker sent is set only while the
   * account has none (frozen after the first team). In "idp" mode the broker has already made the account match.
   */
  signIn(email: string, displayName: string, teamId: string): PortalAccount | undefined {
    if (!email) return undefined;
    const team = /^\d+$/.test(teamId) ? this.teams.get(Number(teamId)) : undefined;
    let account = this.byEmail(email);
    if (!account) {
      const [first = '', ...last] = displayName.split(' ');
      const r = this.create({ Email: email, First: first, Last: last.join(' '), Role: 'consumer-admin', Provider: 'sso' }, 'the SSO landing (no account yet)');
      if (!r.ok) return undefined;
      account = r.account;
    }
    if (team && account.Teams.length === 0) {
      const r = this.update(account.ID, { Teams: [String(team.ID)], OrganisationID: team.OrganisationID }, 'the SSO landing (first team)');
      if (r.ok) account = r.account;
    }
    return account;
  }

  private apply(a: PortalAccount, b: AccountInput): { ok: true } | { ok: false; status: number; error: string } {
    for (const k of ['Email', 'First', 'Last', 'Provider'] as const) if (typeof b[k] === 'string') a[k] = text(b[k]);
    if (typeof b.Active === 'boolean') a.Active = b.Active;
    if (b.Role !== undefined) {
      if (typeof b.Role !== 'string' || !ROLES.includes(b.Role)) return { ok: false, status: 422, error: `Role must be one of ${ROLES.join(', ')}` };
      a.Role = b.Role;
    }
    if (b.OrganisationID !== undefined) {
      if (typeof b.OrganisationID !== 'number' || (b.OrganisationID !== 0 && !this.organisations.has(b.OrganisationID))) return { ok: false, status: 422, error: 'Organisation not found' };
      a.OrganisationID = b.OrganisationID;
    }
    if (b.Teams !== undefined) {
      if (!Array.isArray(b.Teams) || b.Teams.length > MAX_TEAMS || !b.Teams.every((t) => typeof t === 'string' && this.teams.has(Number(t)))) return { ok: false, status: 422, error: 'Team not found' };
      a.Teams = [...new Set(b.Teams.map(Number))];
      // The organisation follows the teams when the body does not name it.
      if (b.OrganisationID === undefined && a.Teams.length > 0) a.OrganisationID = this.teams.get(a.Teams[0] as number)?.OrganisationID ?? 0;
    }
    if (a.Teams.some((t) => this.teams.get(t)?.OrganisationID !== a.OrganisationID)) return { ok: false, status: 422, error: 'Teams must belong to the user organisation' };
    return { ok: true };
  }

  /** The fields that differ, in names: `Teams: Acme/Partners → Acme/Internal`. */
  private describe(before: PortalAccount | undefined, after: PortalAccount): string[] {
    const show = (a: PortalAccount | undefined): Record<string, string> =>
      a
        ? {
            Organisation: this.orgName(a.OrganisationID) || 'none',
            Teams: a.Teams.map((t) => this.teamName(t)).join(', ') || 'none',
            Role: a.Role,
            Active: String(a.Active),
            Name: `${a.First} ${a.Last}`.trim(),
          }
        : {};
    const b = show(before);
    const a = show(after);
    return Object.keys(a)
      .filter((k) => b[k] !== a[k])
      .map((k) => (before ? `${k}: ${b[k]} → ${a[k]}` : `${k}: ${a[k]}`));
  }

  private remember(a: PortalAccount, via: string, changes: string[]): void {
    this.events.unshift({ at: this.now(), email: a.Email, via, changes });
    this.events.length = Math.min(this.events.length, MAX_EVENTS);
  }
}
