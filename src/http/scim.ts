/**
 * SCIM 2.0 inbound (issue 20, item 5; RFC 7643, RFC 7644) at `/scim/v2/{profile}`, for profiles with
 * `Sync.Source: "scim"` (docs/directory-sync.md#source-scim): Users and Groups (POST, GET, list with filter
 * and paging, PUT, PATCH, DELETE), ServiceProviderConfig, ResourceTypes, Schemas. The IdP authenticates with
 * the profile's bearer token (src/sync/scim/token.ts), never the admin Secret; a client that keeps sending bad
 * tokens is answered 429 for the rest of its minute. Every error is RFC 7644 §3.12's shape.
 *
 * The resources live in the SCIM store (src/state/scim-store.ts); each change then goes to the portal through
 * the sync engine (src/sync/scim/push.ts), and the answer does not depend on the portal being up.
 */
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { clientIp, ipCounterKey, TrustedProxies } from '../client-ip.js';
import type { Identity } from '../identity/identity.js';
import type { Logger } from '../log.js';
import type { Profile } from '../profiles/profile.js';
import { failedAuthLogger } from './admin-api.js';
import type { ScimKind, ScimResource, ScimStore } from '../state/scim-store.js';
import type { ScimPush } from '../sync/scim/push.js';
import { compileFilter, ERROR_SCHEMA, groupBody, LIST_SCHEMA, loadScimLibraries, patchResource, project, ScimError, userBody } from '../sync/scim/resources.js';
import { RESOURCE_TYPES, SCHEMAS, serviceProviderConfig } from '../sync/scim/discovery.js';
import { groupsOf, scimIdentity } from '../sync/scim/source.js';
import type { ScimTokens } from '../sync/scim/token.js';

export interface ScimApiDeps {
  /** The profiles as loaded now. */
  profiles(): readonly Profile[];
  store: ScimStore;
  tokens: ScimTokens;
  push: Pick<ScimPush, 'people' | 'remove'>;
  log: Logger;
  trustedProxies?: TrustedProxies;
  /** Milliseconds now; injectable for the bad-token limit's tests. */
  now?: () => number;
}

const CONTENT_TYPE = 'application/scim+json; charset=utf-8';
/** RFC 7644 §3.4.2.4: a page is at most this long, whatever `count` asks. */
export const MAX_PAGE = 200;
const BODY_LIMIT = '256kb';

function send(res: Response, status: number, body: unknown): void {
  res.status(status).type(CONTENT_TYPE).send(JSON.stringify(body));
}

function sendError(res: Response, err: ScimError): void {
  send(res, err.status, { schemas: [ERROR_SCHEMA], status: String(err.status), ...(err.scimType && { scimType: err.scimType }), detail: err.message });
}

/** One change at a time per resource in this process: two PATCHes of one group must not lose each other's members. */
function serialiser() {
  const tails = new Map<string, Promise<unknown>>();
  return <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const prev = tails.get(key) ?? Promise.resolve();
    const next = prev.then(work, work);
    const tail = next.catch(() => undefined);
    tails.set(key, tail);
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
    return next;
  };
}

const list = (v: unknown): string[] | undefined => (typeof v === 'string' ? v.split(',') : undefined);
const intParam = (v: unknown, name: string): number | undefined => {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !/^-?\d{1,9}$/.test(v)) throw new ScimError(400, `${name} must be an integer`, 'invalidValue');
  return Number(v);
};

export function scimRouter(deps: ScimApiDeps): Router {
  const router = express.Router({ mergeParams: true });
  const trusted = deps.trustedProxies ?? new TrustedProxies([]);
  // The admin API's bounded, log-limited table (src/http/admin-api.ts): FAILURES_BEFORE_THROTTLE bad tokens a minute.
  const failedAuth = failedAuthLogger(deps.log, deps.now, undefined, 'SCIM');
  const serial = serialiser();
  const json = express.json({ type: ['application/scim+json', 'application/json'], limit: BODY_LIMIT, strict: true });

  const profileOf = (req: Request): Profile => (req as Request & { scimProfile: Profile }).scimProfile;

  // Who may ask: the profile must take SCIM, the client must not be throttled, the token must match.
  router.use(async (req, res, next) => {
    res.set('Cache-Control', 'no-store');
    try {
      // Counted per client as the brute-force guard does (src/client-ip.ts ipCounterKey: an IPv6 /64 as one).
      const client = ipCounterKey(clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], trusted));
      const wait = failedAuth.throttled(client);
      if (wait !== undefined) {
        failedAuth(client);
        res.set('Retry-After', String(wait));
        return sendError(res, new ScimError(429, 'too many failed authentications from this address; retry later'));
      }
      const id = String(req.params.profile ?? '');
      const profile = deps.profiles().find((p) => p.ID === id);
      if (!profile || profile.Sync?.Source !== 'scim') return sendError(res, new ScimError(404, `no profile "${id}" takes SCIM provisioning`));
      if (!(await deps.tokens.matches(profile, req.get('Authorization')))) {
        failedAuth(client, { profile: id });
        res.set('WWW-Authenticate', 'Bearer realm="SCIM"');
        return sendError(res, new ScimError(401, 'the bearer token is missing or wrong'));
      }
      (req as Request & { scimProfile: Profile }).scimProfile = profile;
      // The PATCH and filter libraries, loaded by a SCIM profile's first request (docs/performance.md "Idle memory").
      await loadScimLibraries();
      next();
    } catch (err) {
      next(err);
    }
  });
  // A body only as JSON (RFC 7644 §3.1: application/scim+json; application/json accepted), within the limit.
  router.use((req, res, next) => {
    if (!['POST', 'PUT', 'PATCH'].includes(req.method)) return next();
    if (!req.is(['application/scim+json', 'application/json'])) return sendError(res, new ScimError(415, 'the body must be application/scim+json or application/json'));
    json(req, res, next);
  });

  const base = (req: Request) => `${req.protocol}://${req.get('host') ?? 'localhost'}${req.baseUrl}`;

  const withMeta = (req: Request, kind: ScimKind, body: Record<string, unknown>, id: string, created?: string): ScimResource => {
    const now = new Date().toISOString();
    return { ...body, id, meta: { resourceType: kind, created: created ?? now, lastModified: now, location: `${base(req)}/${kind}s/${id}`, version: `W/"${Date.parse(now).toString(36)}"` } };
  };

  /** The identities of these users, with the groups they are in now. */
  const identities = async (profile: Profile, users: readonly ScimResource[]): Promise<{ active: Identity[]; inactive: Identity[] }> => {
    const groups = await deps.store.list(profile.ID, 'Group');
    const active: Identity[] = [];
    const inactive: Identity[] = [];
    for (const u of users) (u.active === false ? inactive : active).push(scimIdentity(profile, u, groupsOf(u.id, groups)));
    return { active, inactive };
  };

  const usersById = async (profile: Profile, ids: Iterable<string>): Promise<ScimResource[]> => {
    const out: ScimResource[] = [];
    for (const id of new Set(ids)) {
      const u = await deps.store.get(profile.ID, 'User', id);
      if (u) out.push(u);
    }
    return out;
  };

  const pushUsers = async (profile: Profile, users: readonly ScimResource[]) => {
    const { active, inactive } = await identities(profile, users);
    await deps.push.people(profile, active, inactive);
  };

  const memberIds = (g: ScimResource | undefined): string[] => (Array.isArray(g?.members) ? (g.members as Array<{ value: string }>).map((m) => m.value) : []);

  /** Members that are users of this profile (unknown ids are dropped: the IdP pushes users before their groups). */
  const knownMembers = async (profile: Profile, body: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const users = new Set((await deps.store.list(profile.ID, 'User')).map((u) => u.id));
    return { ...body, members: memberIds(body as ScimResource).filter((id) => users.has(id)).map((value) => ({ value })) };
  };

  const validate = (kind: ScimKind, body: unknown) => (kind === 'User' ? userBody(body) : groupBody(body, deps.store.limits.membersPerGroup));

  const write = async (profile: Profile, kind: ScimKind, r: ScimResource, previous?: ScimResource) => {
    const w = await deps.store.put(profile.ID, kind, r, previous);
    if (w.ok) return;
    if (w.reason === 'uniqueness') throw new ScimError(409, `another user has the userName ${JSON.stringify(r.userName)}`, 'uniqueness');
    // No scimType fits (tooMany is about filters): a plain 400 that says the bound.
    throw new ScimError(400, `this profile holds at most ${kind === 'User' ? deps.store.limits.users : deps.store.limits.groups} ${kind.toLowerCase()}s`);
  };

  /** After a group changed: the people whose teams may have changed go to the portal. */
  const afterGroup = async (profile: Profile, before: ScimResource | undefined, after: ScimResource | undefined) => {
    const was = new Set(memberIds(before));
    const now = new Set(memberIds(after));
    const renamed = before && after && before.displayName !== after.displayName;
    const affected = renamed ? [...was, ...now] : [...[...was].filter((id) => !now.has(id)), ...[...now].filter((id) => !was.has(id))];
    await pushUsers(profile, await usersById(profile, affected));
  };

  const run = (handler: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
    handler(req, res).catch(next);
  };

  // Discovery (RFC 7644 §4).
  router.get('/ServiceProviderConfig', (req, res) => send(res, 200, serviceProviderConfig(base(req), MAX_PAGE)));
  router.get('/ResourceTypes', (req, res) => {
    const all = RESOURCE_TYPES.map((t) => ({ ...t, meta: { resourceType: 'ResourceType', location: `${base(req)}/ResourceTypes/${t.id}` } }));
    send(res, 200, { schemas: [LIST_SCHEMA], totalResults: all.length, startIndex: 1, itemsPerPage: all.length, Resources: all });
  });
  router.get('/ResourceTypes/:name', (req, res) => {
    const t = RESOURCE_TYPES.find((x) => x.id === req.params.name);
    if (!t) return sendError(res, new ScimError(404, `no resource type ${JSON.stringify(req.params.name)}`));
    send(res, 200, { ...t, meta: { resourceType: 'ResourceType', location: `${base(req)}/ResourceTypes/${t.id}` } });
  });
  router.get('/Schemas', (req, res) => {
    const all = SCHEMAS.map((s) => ({ ...s, meta: { resourceType: 'Schema', location: `${base(req)}/Schemas/${s.id}` } }));
    send(res, 200, { schemas: [LIST_SCHEMA], totalResults: all.length, startIndex: 1, itemsPerPage: all.length, Resources: all });
  });
  router.get('/Schemas/:id', (req, res) => {
    const s = SCHEMAS.find((x) => x.id === req.params.id);
    if (!s) return sendError(res, new ScimError(404, `no schema ${JSON.stringify(req.params.id)}`));
    send(res, 200, { ...s, meta: { resourceType: 'Schema', location: `${base(req)}/Schemas/${s.id}` } });
  });

  for (const kind of ['User', 'Group'] as const) {
    const path = `/${kind}s`;

    router.get(path, run(async (req, res) => {
      const profile = profileOf(req);
      const filter = typeof req.query.filter === 'string' ? compileFilter(kind, req.query.filter) : undefined;
      if (req.query.filter !== undefined && typeof req.query.filter !== 'string') throw new ScimError(400, 'one filter only', 'invalidFilter');
      const startIndex = Math.max(1, intParam(req.query.startIndex, 'startIndex') ?? 1);
      const count = Math.min(MAX_PAGE, Math.max(0, intParam(req.query.count, 'count') ?? MAX_PAGE));
      const all = (await deps.store.list(profile.ID, kind)).filter((r) => !filter || filter(r));
      all.sort((a, b) => String((a.meta as { created?: string })?.created ?? '').localeCompare(String((b.meta as { created?: string })?.created ?? '')) || a.id.localeCompare(b.id));
      const page = all.slice(startIndex - 1, startIndex - 1 + count);
      send(res, 200, { schemas: [LIST_SCHEMA], totalResults: all.length, startIndex, itemsPerPage: page.length, Resources: page.map((r) => project(r, list(req.query.attributes), list(req.query.excludedAttributes))) });
    }));

    router.get(`${path}/:id`, run(async (req, res) => {
      const r = await deps.store.get(profileOf(req).ID, kind, String(req.params.id));
      if (!r) throw new ScimError(404, `no ${kind} ${JSON.stringify(req.params.id)}`);
      send(res, 200, project(r, list(req.query.attributes), list(req.query.excludedAttributes)));
    }));

    router.post(path, run(async (req, res) => {
      const profile = profileOf(req);
      let body = validate(kind, req.body);
      if (kind === 'Group') body = await knownMembers(profile, body);
      const r = withMeta(req, kind, body, randomUUID());
      await write(profile, kind, r);
      // Stored: the portal follows before the answer when it is quick (the push's budget; logged when it cannot).
      if (kind === 'User') await pushUsers(profile, [r]);
      else await afterGroup(profile, undefined, r);
      res.set('Location', String((r.meta as { location: string }).location));
      send(res, 201, r);
    }));

    const replace = (mode: 'put' | 'patch') =>
      run(async (req, res) => {
        const profile = profileOf(req);
        const id = String(req.params.id);
        await serial(`${profile.ID}:${kind}:${id}`, async () => {
          const before = await deps.store.get(profile.ID, kind, id);
          if (!before) throw new ScimError(404, `no ${kind} ${JSON.stringify(id)}`);
          let body = validate(kind, mode === 'put' ? req.body : patchResource(kind, before, req.body));
          if (kind === 'Group') body = await knownMembers(profile, body);
          const r = withMeta(req, kind, body, id, (before.meta as { created?: string } | undefined)?.created);
          await write(profile, kind, r, before);
          if (kind === 'User') await pushUsers(profile, [r]);
          else await afterGroup(profile, before, r);
          // Entra ID takes 204 for a PATCH; Okta reads the resource back: 200 with it suits both (RFC 7644 §3.5.2).
          send(res, 200, r);
        });
      });
    router.put(`${path}/:id`, replace('put'));
    router.patch(`${path}/:id`, replace('patch'));

    router.delete(`${path}/:id`, run(async (req, res) => {
      const profile = profileOf(req);
      const id = String(req.params.id);
      await serial(`${profile.ID}:${kind}:${id}`, async () => {
        const gone = await deps.store.delete(profile.ID, kind, id);
        if (!gone) throw new ScimError(404, `no ${kind} ${JSON.stringify(id)}`);
        if (kind === 'Group') {
          await afterGroup(profile, gone, undefined);
          res.status(204).end();
          return;
        }
        // The user leaves their groups too, so a later group change does not name them.
        const groups = await deps.store.list(profile.ID, 'Group');
        for (const g of groups.filter((x) => memberIds(x).includes(id))) await serial(`${profile.ID}:Group:${g.id}`, () => deps.store.put(profile.ID, 'Group', { ...g, members: memberIds(g).filter((m) => m !== id).map((value) => ({ value })) }, g));
        await deps.push.remove(profile, scimIdentity(profile, gone, groupsOf(id, groups)));
        res.status(204).end();
      });
    }));
  }

  router.use((_req, res) => sendError(res, new ScimError(404, 'no such SCIM endpoint')));
  // Every error in RFC 7644 §3.12's shape: ours, the body parser's (too large, not JSON), anything else as 500.
  router.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) {
      if (!(err instanceof ScimError)) deps.log.error('SCIM: after the answer', { reason: err instanceof Error ? err.message : String(err) });
      return;
    }
    if (err instanceof ScimError) return sendError(res, err);
    const e = err as { type?: string; status?: number };
    if (e.type === 'entity.too.large') return sendError(res, new ScimError(413, `the body is larger than ${BODY_LIMIT}`));
    if (e.type === 'entity.parse.failed' || e.status === 400) return sendError(res, new ScimError(400, 'the body is not valid JSON', 'invalidSyntax'));
    deps.log.error('SCIM request failed', { reason: err instanceof Error ? err.message : String(err) });
    sendError(res, new ScimError(500, 'internal error'));
  });
  return router;
}
