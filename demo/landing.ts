/** The demo's landing page, on the broker's port: what runs, each profile, and a button that starts its login. */
import { esc, page } from './html.js';
import { loginPath, type DemoProfile } from './files.js';
import type { DemoUrls } from './settings.js';
import type { DemoUser } from './users.js';

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
</section>`;
}

export function landingPage(urls: DemoUrls, profiles: readonly DemoProfile[], users: readonly DemoUser[]): string {
  const userRows = users.map(
    (u) => `<tr><td>${esc(u.name)}</td><td>${esc(u.email)}</td><td>${u.groups.map((g) => `<code>${esc(g)}</code>`).join(' ') || '<em>none</em>'}</td><td>${esc(u.note)}</td></tr>`,
  );
  return page(
    'Identity broker demo',
    `<h1>Identity broker demo</h1>
<p>Sign in as a demo user and see what the Tyk Developer Portal or Dashboard would receive. The demo OpenID Provider
lets you pick a user (no passwords); Cancel there shows a failed sign-in.</p>
${profiles.map(startCard).join('\n')}
<h2>What runs here</h2>
<p>Three servers, in this one process:</p>
<table>
<tr><th>Part</th><th>Where</th><th></th></tr>
<tr><td>The identity broker</td><td>${url(urls.broker)}</td><td><strong>Real</strong>: the same code and profile format as in production (this page is the demo's own).</td></tr>
<tr><td>Demo OpenID Provider</td><td>${url(urls.issuer)}</td><td><strong>Stand-in</strong> for your identity provider (Okta, Entra ID, Keycloak, Dex...): oidc-provider with the demo users below, no passwords.</td></tr>
<tr><td>Demo portal</td><td><a href="${esc(urls.portal)}/">${url(urls.portal)}</a></td><td><strong>Stand-in</strong> for the Tyk Dashboard and Developer Portal: only the SSO endpoints the broker calls, and a page that shows what arrived.</td></tr>
</table>
<p class="standin">No LDAP directory in this demo: no maintained LDAP server exists on npm (<code>ldapjs</code>, which the npm mock
servers are built on, was decommissioned in 2024). The broker's LDAP provider is tested against a real OpenLDAP
(<code>slapd</code>) in <code>npm test</code>, and <code>docker-compose.yml</code> runs one with demo users.</p>
<h2>What each sign-in does</h2>
${profiles.map(profileDetails).join('\n')}
<h2>Demo users</h2>
<table><tr><th>User</th><th>Email</th><th><code>groups</code> claim</th><th>Shows</th></tr>${userRows.join('')}</table>
<p>Cancel at the OpenID Provider to see a failed sign-in end at the profile's <code>FailureRedirect</code>, which shows why. The terminal
running <code>npm run demo</code> shows the broker's log; Ctrl-C stops everything. The profiles and secrets are made for
this run only and removed when it stops.</p>`,
  );
}
