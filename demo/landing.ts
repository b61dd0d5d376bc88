/**
 * The demo's landing page, on the broker's port: what runs, each profile, a button that starts its login, and a
 * form per demo user that moves them between groups at the demo OP (the next sign-in carries the move).
 */
import express, { type Request, type Response } from 'express';
import { esc, page, sendPage } from './html.js';
import { loginPath, type DemoProfile } from './files.js';
import type { DemoUrls } from './settings.js';
import { DEMO_GROUPS, type DemoDirectory, type DemoUser } from './users.js';

const ACTIONS: Record<DemoProfile['ActionType'], { audience: string; what: string; button: string }> = {
  GenerateOrLoginDeveloperProfile: {
    audience: 'API consumers: the Developer Portal (Portal SSO)',
    button: 'Sign in to the Developer Portal',
    what: 'asks the portal for a one-time nonce (<code>POST /api/sso</code>, <code>ForSection: "portal"</code>), creates or updates the developer (<code>/api/portal/developers</code>), then sends the browser to the portal with the nonce',
  },
  GenerateOrLoginUserProfile: {
    audience: 'API owners and operators: the Dashboard (Dashboard SSO)',
    button: 'Sign in to the Dashboard',
    what: 'asks the Dashboard for a one-time nonce (<code>POST /api/sso</code>, <code>ForSection: "dashboard"</code>), then sends the browser to its <code>/tap</code> with the nonce',
  },
};

/**
 * A URL that wraps only after a slash, never inside a host name or a path segment: each segment is unbreakable
 * (white-space: nowrap in demo/html.ts) and a <wbr> between two offers the break.
 */
function url(value: string): string {
  const segments = value.split(/(?<=\/)(?!\/)/);
  return `<code class="url">${segments.map((s) => `<span>${esc(s)}</span>`).join('<wbr>')}</code>`;
}

/** What a newcomer needs first: who it is for, and the button. */
function startCard(p: DemoProfile): string {
  const action = ACTIONS[p.ActionType];
  return `<section class="card" data-profile="${esc(p.ID)}">
<h2>${esc(p.Name)}</h2>
<p>For ${action.audience}.</p>
<p><a class="button" href="${esc(loginPath(p.ID))}">${esc(action.button)}</a></p>
</section>`;
}

/** What the sign-in does, in the profile's own terms, after the buttons. */
function profileDetails(p: DemoProfile): string {
  const action = ACTIONS[p.ActionType];
  const mapping = Object.entries(p.UserGroupMapping).map(([group, team]) => `<tr><td><code>${esc(group)}</code></td><td><code>${esc(team)}</code></td></tr>`);
  return `<section data-profile-details="${esc(p.ID)}">
<h3>${esc(p.Name)}</h3>
<p>Profile <code>${esc(p.ID)}</code>, action <code>${esc(p.ActionType)}</code>, provider
<code>SocialProvider</code> / <code>openid-connect</code>, starting at ${url(loginPath(p.ID))}. After the sign-in at the OpenID Provider the broker maps the
<code>groups</code> claim (<code>CustomUserGroupField</code>) to teams, ${action.what}.</p>
<table><tr><th>OP group</th><th>Team / group id (<code>UserGroupMapping</code>)</th></tr>${mapping.join('')}
<tr><td><em>no mapped group</em></td><td><code>${esc(p.DefaultUserGroupID)}</code> (<code>DefaultUserGroupID</code>)</td></tr></table>
${membershipDetails(p)}
</section>`;
}

/** A developer profile in "idp" mode: what the broker does at the portal's admin API first. */
function membershipDetails(p: DemoProfile): string {
  const m = p.Membership;
  if (!m || m.Authority !== 'idp') return '';
  const roles = Object.entries(m.RoleMapping).map(([group, role]) => `<tr><td><code>${esc(group)}</code></td><td><code>${esc(role)}</code></td></tr>`);
  return `<p data-test="membership"><code>Membership.Authority: "idp"</code>: before the nonce, the broker makes the portal account follow the
groups through the portal's admin API (${url('/portal-api/users')}): it finds the account by email (or creates it), sets its
teams to ${m.Teams === 'all' ? 'all the mapped teams' : 'the first mapped team'} (teams named <code>&lt;organisation&gt;/&lt;team&gt;</code>, looked up at the
portal), the organisation of those teams (teams of two organisations: the first in mapping order wins, the broker's log names the
dropped ones), and the role below, writing only what differs. Move a user to another group below and
sign in again: the portal's page shows the account's teams move.</p>
<table><tr><th>OP group</th><th>Portal role (<code>RoleMapping</code>)</th></tr>${roles.join('')}
<tr><td><em>otherwise</em></td><td><code>${esc(m.DefaultRole)}</code> (<code>DefaultRole</code>)</td></tr></table>`;
}

/** Where a user's groups form posts. */
export function groupsPath(userId: string): string {
  return `/demo/users/${encodeURIComponent(userId)}/groups`;
}

/** One row per user: their groups now, as checkboxes, and a button that saves them at the demo OP. */
function userRow(u: DemoUser, groups: readonly string[]): string {
  const boxes = DEMO_GROUPS.map(
    (g) => `<label><input type="checkbox" name="group" value="${esc(g)}"${groups.includes(g) ? ' checked' : ''}> <code>${esc(g)}</code></label>`,
  );
  return `<tr data-user="${esc(u.id)}"><td>${esc(u.name)}</td><td>${esc(u.email)}</td>
<td><form method="post" action="${esc(groupsPath(u.id))}">${boxes.join(' ')} <button type="submit">Save groups</button></form></td><td>${esc(u.note)}</td></tr>`;
}

export function landingPage(urls: DemoUrls, profiles: readonly DemoProfile[], users: readonly DemoUser[], directory: DemoDirectory, changed?: DemoUser): string {
  const userRows = users.map((u) => userRow(u, directory.groupsOf(u.id)));
  const notice = changed
    ? `<p class="standin" data-test="groups-changed">${esc(changed.name)} is now in ${directory.groupsOf(changed.id).map((g) => `<code>${esc(g)}</code>`).join(' ') || 'no group'} at the demo
OpenID Provider. Sign in again as ${esc(changed.name)} to see the portal follow.</p>`
    : '';
  return page(
    'Identity broker demo',
    `<h1>Identity broker demo</h1>
<p>Sign in as a demo user and see what the Tyk Developer Portal or Dashboard would receive. The demo OpenID Provider
lets you pick a user (no passwords); Cancel there shows a failed sign-in.</p>
${notice}
${profiles.map(startCard).join('\n')}
<h2>What runs here</h2>
<p>Three servers, in this one process:</p>
<table>
<tr><th>Part</th><th>Where</th><th></th></tr>
<tr><td>The identity broker</td><td>${url(urls.broker)}</td><td><strong>Real</strong>: the same code and profile format as in production (this page is the demo's own).</td></tr>
<tr><td>Demo OpenID Provider</td><td>${url(urls.issuer)}</td><td><strong>Stand-in</strong> for your identity provider (Okta, Entra ID, Keycloak, Dex...): oidc-provider with the demo users below, no passwords.</td></tr>
<tr><td>Demo portal</td><td><a href="${esc(urls.portal)}/">${url(urls.portal)}</a></td><td><strong>Stand-in</strong> for the Tyk Dashboard and Developer Portal: only the SSO endpoints the broker calls, the part of the portal's admin API its <code>"idp"</code> membership uses, and pages that show what arrived and each developer's account.</td></tr>
</table>
<p class="standin">No LDAP directory in this demo: no maintained LDAP server exists on npm (<code>ldapjs</code>, which the npm mock
servers are built on, was decommissioned in 2024). The broker's LDAP provider is tested against a real OpenLDAP
(<code>slapd</code>) in <code>npm test</code>, and <code>docker-compose.yml</code> runs one with demo users.</p>
<h2>What each sign-in does</h2>
${profiles.map(profileDetails).join('\n')}
<h2 id="users">Demo users</h2>
<p>Each user's <code>groups</code> claim at the demo OpenID Provider. Change them as an administrator moves someone in the
directory: the next id token carries the new groups.</p>
<table><tr><th>User</th><th>Email</th><th><code>groups</code> claim</th><th>Shows</th></tr>${userRows.join('')}</table>
<p>Cancel at the OpenID Provider to see a failed sign-in end at the profile's <code>FailureRedirect</code>, which shows why. The terminal
running <code>npm run demo</code> shows the broker's log; Ctrl-C stops everything. The profiles and secrets are made for
this run only and removed when it stops.</p>`,
  );
}

/**
 * The landing page and its groups form, for the host app in front of the broker's router. A change is a
 * same-site form post only (a browser says where a request comes from in Sec-Fetch-Site): another site cannot
 * move a demo user.
 */
export function landingRoutes(urls: DemoUrls, profiles: readonly DemoProfile[], users: readonly DemoUser[], directory: DemoDirectory): express.Router {
  const router = express.Router();
  const show = (res: Response, status: number, changed?: DemoUser) => sendPage(res, status, landingPage(urls, profiles, users, directory, changed), { formAction: "'self'" });
  router.get('/', (req, res) => show(res, 200, users.find((u) => u.id === req.query.changed)));
  router.post('/demo/users/:id/groups', express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 20 }), (req: Request, res: Response) => {
    const site = req.get('Sec-Fetch-Site');
    if (site !== undefined && site !== 'same-origin') return res.status(403).type('text').send('The groups form only accepts posts from the demo landing page.');
    const user = users.find((u) => u.id === req.params.id);
    if (!user) return res.status(404).type('text').send('No such demo user.');
    const raw = (req.body as Record<string, unknown> | undefined)?.group;
    const groups = (Array.isArray(raw) ? raw : [raw]).filter((g): g is string => typeof g === 'string');
    directory.setGroups(user.id, groups);
    // Post/redirect/get: reloading the page does not post again.
    res.redirect(303, `/?changed=${encodeURIComponent(user.id)}`);
  });
  return router;
}
