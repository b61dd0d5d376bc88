/**
 * The Tyk Developer Portal's admin API (`/portal-api`, OpenAPI 1.14.0: test/support/contracts/tyk-portal-api-1.14.0.yaml)
 * as the broker uses it: users, organisations and teams. Answers are checked for the fields the broker reads;
 * anything else is a PortalApiError, never a crash. Bodies are never logged (they carry emails).
 */
import { TykCallError, type TykApi, type TykCall, type TykResponse } from '../tyk/client.js';

/** The page size asked for; a portal that ignores it is still read to the end (see `pages`). */
export const PER_PAGE = 100;
/** A bound on any listing: 2000 pages of 100 is far beyond a portal's users, and a loop cannot run forever. */
const MAX_PAGES = 2000;

export type PortalErrorKind = 'unreachable' | 'timeout' | 'unauthorised' | 'status' | 'bad-answer';

export class PortalApiError extends Error {
  constructor(
    readonly kind: PortalErrorKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** A user as the index lists it (User-index-elem). */
export interface PortalUserSummary {
  ID: number;
  Email: string;
  First: string;
  Last: string;
  Active: boolean;
  OrganisationID: number;
  Role: string;
  Provider: string;
}
/** A user as shown (User-show): with the IDs of their teams. */
export interface PortalAccount extends PortalUserSummary {
  Teams: number[];
}
export interface PortalOrganisationEntry { ID: number; Name: string; CID?: string }
export interface PortalTeamEntry { ID: number; Name: string; Default: boolean; CID?: string }

/** What may be written to a user: User-update (User-basis and Teams as strings). */
export type PortalUserWrite = Partial<Omit<PortalUserSummary, 'ID'>> & { Teams?: string[] };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const int = (v: unknown) => (typeof v === 'number' && Number.isSafeInteger(v) ? v : undefined);
const str = (v: unknown) => (typeof v === 'string' ? v : '');

function summary(v: unknown): PortalUserSummary | undefined {
  if (!isObj(v)) return undefined;
  const id = int(v.ID);
  if (id === undefined || typeof v.Email !== 'string') return undefined;
  return { ID: id, Email: v.Email, First: str(v.First), Last: str(v.Last), Active: v.Active !== false, OrganisationID: int(v.OrganisationID) ?? 0, Role: str(v.Role), Provider: str(v.Provider) };
}

function account(v: unknown): PortalAccount | undefined {
  const s = summary(v);
  if (!s || !isObj(v)) return undefined;
  const teams = Array.isArray(v.Teams) ? v.Teams : [];
  const ids = teams.map((t) => (isObj(t) ? int(t.ID) : int(t)));
  if (ids.some((id) => id === undefined)) return undefined;
  return { ...s, Teams: ids as number[] };
}

function organisation(v: unknown): PortalOrganisationEntry | undefined {
  if (!isObj(v) || int(v.ID) === undefined || typeof v.Name !== 'string') return undefined;
  return { ID: v.ID as number, Name: v.Name, ...(typeof v.CID === 'string' && v.CID !== '' && { CID: v.CID }) };
}

function team(v: unknown): PortalTeamEntry | undefined {
  if (!isObj(v) || int(v.ID) === undefined || typeof v.Name !== 'string') return undefined;
  return { ID: v.ID as number, Name: v.Name, Default: v.Default === true, ...(typeof v.CID === 'string' && v.CID !== '' && { CID: v.CID }) };
}

export interface PortalApi {
  /** Every user, page by page until the portal has no more. */
  listUsers(stop?: (page: PortalUserSummary[]) => boolean): Promise<PortalUserSummary[]>;
  /** The user, or undefined when the portal has none with that ID. */
  getUser(id: number): Promise<PortalAccount | undefined>;
  createUser(body: PortalUserWrite): Promise<PortalAccount>;
  updateUser(id: number, body: PortalUserWrite): Promise<PortalAccount>;
  deleteUser(id: number): Promise<void>;
  listOrganisations(): Promise<PortalOrganisationEntry[]>;
  listTeams(organisationId: number): Promise<PortalTeamEntry[]>;
}

export function createPortalApi(tyk: Pick<TykApi, 'portal'>): PortalApi {
  const call = async (path: string, c: TykCall): Promise<TykResponse> => {
    const what = `${c.method} /portal-api${c.label ?? path}`;
    let res: TykResponse;
    try {
      res = await tyk.portal(path, c);
    } catch (err) {
      if (err instanceof TykCallError) throw new PortalApiError(err.kind === 'timeout' ? 'timeout' : 'unreachable', `${what}: ${err.message.replace(/^\S+ \S+: /, '')}`);
      throw err;
    }
    if (res.status === 401 || res.status === 403) {
      throw new PortalApiError('unauthorised', `${what} answered ${res.status}: check TykAPISettings.PortalAPIConfig.AdminToken (an admin user's API credential)`, res.status);
    }
    return res;
  };
  const expect = <T>(what: string, res: TykResponse, read: (v: unknown) => T | undefined): T => {
    if (res.status !== 200 && res.status !== 201) throw new PortalApiError('status', `${what} answered ${res.status}${errorsOf(res.json)}`, res.status);
    const v = read(res.json);
    if (v === undefined) throw new PortalApiError('bad-answer', `${what} answered 200 without the fields the admin API documents`);
    return v;
  };
  const list = <T>(read: (v: unknown) => T | undefined) => (v: unknown) => {
    if (!Array.isArray(v)) return undefined;
    const items = v.map(read);
    return items.some((x) => x === undefined) ? undefined : (items as T[]);
  };
  /**
   * Page after page until an empty one. A short page is not taken as the end (a portal may cap per_page below
   * what was asked), and a page that repeats the previous one ends the listing (a portal that ignores `page`).
   */
  const pages = async <T extends { ID: number }>(path: string, read: (v: unknown) => T | undefined, stop?: (page: T[]) => boolean): Promise<T[]> => {
    const out: T[] = [];
    let previous = '';
    for (let page = 1; page <= MAX_PAGES; page++) {
      const what = `GET /portal-api${path}`;
      const rows = expect(what, await call(`${path}?page=${page}&per_page=${PER_PAGE}`, { method: 'GET', label: path }), list(read));
      const ids = rows.map((r) => r.ID).join(',');
      if (rows.length === 0 || ids === previous) break;
      previous = ids;
      out.push(...rows);
      if (stop?.(rows)) break;
    }
    return out;
  };
  return {
    listUsers: (stop) => pages('/users', summary, stop),
    async getUser(id) {
      const res = await call(`/users/${id}`, { method: 'GET', label: '/users/<id>' });
      if (res.status === 404) return undefined;
      return expect('GET /portal-api/users/<id>', res, account);
    },
    async createUser(body) {
      return expect('POST /portal-api/users', await call('/users', { method: 'POST', body }), account);
    },
    async updateUser(id, body) {
      return expect('PUT /portal-api/users/<id>', await call(`/users/${id}`, { method: 'PUT', body, label: '/users/<id>' }), account);
    },
    async deleteUser(id) {
      const res = await call(`/users/${id}`, { method: 'DELETE', label: '/users/<id>' });
      if (res.status !== 200 && res.status !== 204 && res.status !== 404) throw new PortalApiError('status', `DELETE /portal-api/users/<id> answered ${res.status}${errorsOf(res.json)}`, res.status);
    },
    listOrganisations: () => pages('/organisations', organisation),
    listTeams: (organisationId) => pages(`/organisations/${organisationId}/teams`, team),
  };
}

/** The portal's own error messages (OnlyErrors: `{"errors": [string]}`), cut short; they name fields, not values. */
function errorsOf(json: unknown): string {
  if (!isObj(json) || !Array.isArray(json.errors)) return '';
  const messages = json.errors.filter((e): e is string => typeof e === 'string').map((e) => e.slice(0, 200));
  return messages.length ? ` (${messages.slice(0, 3).join('; ')})` : '';
}
