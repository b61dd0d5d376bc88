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
