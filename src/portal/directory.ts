/**
 * A portal's organisations and teams, read through the admin API and kept for `REFRESH_MS`, so team references
 * by CID or by name (src/portal/team-ref.ts) resolve without a call per login. A reference the snapshot does
 * not know reloads it once (at most every `MISS_RELOAD_MS`) before it is called unknown: a team made a moment
 * ago is found, and unknown references cannot make the broker hammer the portal. Concurrent callers share one
 * load; a failed background refresh keeps serving the previous snapshot (with a WARN) until it is
 * `STALE_LIMIT_MS` old.
 */
import { closest } from '../config/suggest.js';
import type { Logger } from '../log.js';
import type { PortalApi } from './api.js';
import type { TeamRef } from './team-ref.js';

export const REFRESH_MS = 5 * 60_000;
const MISS_RELOAD_MS = 30_000;
const STALE_LIMIT_MS = 60 * 60_000;

export interface PortalTeam {
  id: number;
  name: string;
  cid?: string;
  organisationId: number;
  organisationName: string;
}

export interface DirectorySnapshot {
  teams: PortalTeam[];
  loadedAt: number;
}

export type Resolution = { team: PortalTeam } | { problem: string };

/** A reference against one snapshot: a team ID must exist, a CID or name must name exactly one team. */
export function resolveTeamRef(snapshot: DirectorySnapshot, ref: TeamRef): Resolution {
  const teams = snapshot.teams;
  if (ref.kind === 'id') {
    const t = teams.find((x) => String(x.id) === ref.raw);
    return t ? { team: t } : { problem: `no team has ID ${ref.raw}` };
  }
  if (ref.kind === 'cid') {
    if (!teams.some((x) => x.cid !== undefined)) return { problem: `the portal shows no team CIDs (its admin API 1.14.0 does not), so ${JSON.stringify(ref.raw)} cannot be resolved: name the team as "<organisation>/<team>" or by ID` };
    const t = teams.find((x) => x.cid === ref.cid);
    return t ? { team: t } : { problem: `no team has CID ${JSON.stringify(ref.cid)}` };
  }
  const inOrg = teams.filter((x) => x.organisationName === ref.organisation);
  if (inOrg.length === 0) {
    const close = closest(ref.organisation, new Set(teams.map((x) => x.organisationName)));
    return { problem: `no organisation is named ${JSON.stringify(ref.organisation)}${close ? ` (did you mean ${JSON.stringify(`${close}/${ref.team}`)}?)` : ''}` };
  }
  const matches = inOrg.filter((x) => x.name === ref.team);
  if (new Set(inOrg.map((x) => x.organisationId)).size > 1) return { problem: `several organisations are named ${JSON.stringify(ref.organisation)}: name the team by ID or CID` };
  if (matches.length > 1) return { problem: `organisation ${JSON.stringify(ref.organisation)} has several teams named ${JSON.stringify(ref.team)}: name it by ID or CID` };
  if (matches.length === 1 && matches[0]) return { team: matches[0] };
  // A case slip or a typo: the nearest name, as a reference the operator can paste (src/config/suggest.ts).
  const close = closest(ref.team, inOrg.map((x) => x.name));
  return { problem: `organisation ${JSON.stringify(ref.organisation)} has no team named ${JSON.stringify(ref.team)}${close ? ` (did you mean ${JSON.stringify(`${ref.organisation}/${close}`)}?)` : ''}` };
}

/** Every organisation's teams, read now through the admin API. */
export async function listPortalTeams(api: Pick<PortalApi, 'listOrganisations' | 'listTeams'>): Promise<PortalTeam[]> {
  const teams: PortalTeam[] = [];
  for (const org of await api.listOrganisations()) {
    for (const t of await api.listTeams(org.ID)) teams.push({ id: t.ID, name: t.Name, ...(t.CID && { cid: t.CID }), organisationId: org.ID, organisationName: org.Name });
  }
  return teams;
}

export class PortalDirectory {
  private snapshot?: DirectorySnapshot;
  private loading?: Promise<DirectorySnapshot>;
  private lastMissReload = 0;
  /** When a background refresh last failed: the next waits MISS_RELOAD_MS (one attempt and one WARN per 30 s in an outage). */
  private lastFailedRefresh = -Infinity;

  constructor(
    private readonly api: PortalApi,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Reads every organisation and its teams now. */
  async load(): Promise<DirectorySnapshot> {
    this.loading ??= (async () => {
      try {
        this.snapshot = { teams: await listPortalTeams(this.api), loadedAt: this.now() };
        return this.snapshot;
      } finally {
        this.loading = undefined;
      }
    })();
    return this.loading;
  }

  /**
   * The cached snapshot. Older than REFRESH_MS, it is refreshed in the background and served meanwhile, so no
   * login waits for the listing; only the first use (or one after STALE_LIMIT_MS of failed refreshes) waits.
   */
  async current(): Promise<DirectorySnapshot> {
    const s = this.snapshot;
    if (!s || this.now() - s.loadedAt > STALE_LIMIT_MS) return this.load();
    if (this.now() - s.loadedAt >= REFRESH_MS && !this.loading && this.now() - this.lastFailedRefresh >= MISS_RELOAD_MS) {
      this.load().catch((err: unknown) => {
        this.lastFailedRefresh = this.now();
        this.log.warn("the portal's teams could not be refreshed: using the previous list", { reason: err instanceof Error ? err.message : String(err) });
      });
    }
    return s;
  }

  /** Every reference resolved, reloading once when one is unknown to the snapshot. */
  async resolve(refs: readonly TeamRef[]): Promise<Resolution[]> {
    let s = await this.current();
    let out = refs.map((r) => resolveTeamRef(s, r));
    if (out.some((r) => 'problem' in r) && this.now() - this.lastMissReload > MISS_RELOAD_MS && s.loadedAt < this.now()) {
      this.lastMissReload = this.now();
      s = await this.load();
      out = refs.map((r) => resolveTeamRef(s, r));
    }
    return out;
  }

  /** The snapshot held now, however old, without asking the portal (a login going on without it). */
  cached(): DirectorySnapshot | undefined {
    return this.snapshot;
  }

  /** Forget the snapshot (profiles reloaded: the operator may have just made the teams they name). */
  invalidate(): void {
    this.snapshot = undefined;
  }
}
