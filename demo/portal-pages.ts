/** The demo portal's pages: what it received from the broker, and how the SSO nonce went back and forth. */
import type { LoggedFailure } from './failures.js';
import { esc, page } from './html.js';
import type { AccountEvent, PortalAccount, PortalAccounts, SignIn } from './portal-store.js';

export interface PortalLinks {
  /** The demo's landing page, when the portal runs inside `npm run demo`. */
  landing?: string;
}

const STANDIN = `<p class="standin"><strong>Demo portal</strong>: a stand-in for the Tyk Dashboard and Developer Portal. It implements
only the SSO endpoints the broker calls (<code>POST /api/sso</code>, <code>POST /admin/sso</code>, the portal's developer
endpoints), the part of the portal's admin API (<code>/portal-api</code>) the broker's <code>"idp"</code> membership uses,
and the browser's landing with the nonce, and shows what it received.</p>`;

/** A portal account with the names of its organisation and teams. */
export interface AccountView {
  account: PortalAccount;
  accounts: PortalAccounts;
}

const audience = (s: SignIn) => (s.section === 'portal' ? 'Developer Portal' : 'Dashboard');
const time = (d: Date) => `${d.toISOString().slice(11, 23)} UTC`;
/** Enough of a nonce to follow it through the steps; it is spent already, but a page need not show it whole. */
const shortNonce = (n: string) => `${n.slice(0, 8)}…`;

function footer(links: PortalLinks): string {
  const back = links.landing ? `<a href="${esc(links.landing)}">Back to the demo</a> · ` : '';
  return `<p>${back}<a href="/">Demo portal home</a></p>`;
}

function teamList(ids: readonly string[]): string {
  if (ids.length === 0) return '<em>none</em>';
  return `<ul data-test="teams">${ids.map((id) => `<li><code>${esc(id)}</code></li>`).join('')}</ul>`;
}

/**
 * TIB's SSO key is `<user id>@<provider>.com` (docs/tib-behaviour.md §5.5), an address that reaches nobody:
 * it looks like an email, so the page says what it is made of.
 */
function ssoKeyNote(key: string): string {
  const m = /^(.*)@([^@]+)\.com$/.exec(key);
  const parts = m ? `: the user id <code>${esc(m[1])}</code> and the provider <code>${esc(m[2])}</code>` : '';
  return `TIB's form of the key, <code>&lt;user id&gt;@&lt;provider&gt;.com</code>${parts}. It is not an email address (nothing is sent to it):
the broker keeps TIB's form so that developers TIB created are found again`;
}

function eventList(events: readonly AccountEvent[]): string {
  if (events.length === 0) return '<p><em>No changes yet.</em></p>';
  return `<ul data-test="account-changes">${events
    .map((e) => `<li>${esc(time(e.at))} <code>${esc(e.via)}</code> (${esc(e.email)}): ${e.changes.map((c) => esc(c)).join('; ')}</li>`)
    .join('')}</ul>`;
}

/** The account the portal signed the person into: what a developer sees of their organisation, teams and role. */
function accountSection({ account: a, accounts }: AccountView): string {
  const teams = a.Teams.length ? `<ul data-test="account-teams">${a.Teams.map((t) => `<li>${esc(accounts.teamName(t))}</li>`).join('')}</ul>` : '<em>none</em>';
  const changes = accounts.recentEvents().filter((e) => e.email === a.Email).slice(0, 5);
  return `<h2>Your portal account</h2>
<table>
<tr><th>Account</th><td>#${esc(a.ID)}</td></tr>
<tr><th>Organisation</th><td data-test="organisation">${esc(accounts.orgName(a.OrganisationID)) || '<em>none</em>'}</td></tr>
<tr><th>Teams</th><td>${teams}</td></tr>
<tr><th>Role</th><td data-test="role"><code>${esc(a.Role)}</code></td></tr>
<tr><th>Active</th><td>${a.Active}</td></tr>
</table>
<p>The last changes to this account (the broker's through the admin API when its profile's <code>Membership.Authority</code>
is <code>"idp"</code>; the portal's own at the first SSO login otherwise):</p>
${eventList(changes)}`;
}

export function signedInPage(s: SignIn, landingPath: string, links: PortalLinks, account?: AccountView): string {
  const dev = s.developer;
  const developerStep = dev
    ? `<li>${esc(time(dev.at))}: the broker looked the developer up by SSO key <code>${esc(dev.ssoKey)}</code> and
<strong>${esc(dev.change)}</strong> the developer record with this nonce (<code>${dev.change === 'created' ? 'POST /api/portal/developers' : 'PUT /api/portal/developers/{id}'}</code>).
<span data-test="sso-key">${ssoKeyNote(dev.ssoKey)}.</span></li>`
    : '';
  return page(
    `Signed in: demo ${audience(s)}`,
    `${STANDIN}
<h1 class="ok">Signed in to the demo ${esc(audience(s))}</h1>
<table>
<tr><th>Email</th><td data-test="email">${esc(s.email)}</td></tr>
<tr><th>Display name</th><td data-test="display-name">${esc(s.displayName)}</td></tr>
<tr><th>${s.section === 'portal' ? 'Teams' : 'User groups'} (<code>GroupsIDs</code>)</th><td>${teamList(s.groupIds)}</td></tr>
<tr><th><code>GroupID</code> (the first, for older Tyk versions)</th><td>${s.groupId ? `<code>${esc(s.groupId)}</code>` : '<em>empty</em>'}</td></tr>
<tr><th>Organisation (<code>OrgID</code>)</th><td><code>${esc(s.orgId)}</code></td></tr>
<tr><th><code>SSOOnlyForRegisteredUsers</code></th><td>${s.ssoOnlyForRegisteredUsers}</td></tr>
</table>
<h2>The nonce exchange</h2>
<ol data-test="exchange">
<li>${esc(time(s.issuedAt))}: the broker, after your sign-in at the OpenID Provider, called <code>${esc(s.via)}</code>
${s.via === '/api/sso' ? "with the profile's <code>DashboardCredential</code>" : 'with the Dashboard admin secret'} and the body above
(<code>ForSection: "${esc(s.section)}"</code>). The portal issued the one-time nonce <code>${esc(shortNonce(s.nonce))}</code>.</li>
${developerStep}
<li>${esc(time(s.redeemedAt ?? s.issuedAt))}: the broker redirected your browser to <code>${esc(landingPath)}?nonce=${esc(shortNonce(s.nonce))}</code>
(the profile's <code>ReturnURL</code>); the portal <strong>redeemed</strong> the nonce and signed you in. It cannot be used again:
reloading this page fails.</li>
</ol>
<p>The broker never sent your browser a password or token for the portal: only the nonce, which the portal issued itself.</p>
${account ? accountSection(account) : ''}
${footer(links)}`,
  );
}

export function nonceProblemPage(why: string, links: PortalLinks): string {
  return page('Demo portal: not signed in', `${STANDIN}<h1 class="bad">Not signed in</h1><p data-test="problem">${esc(why)}</p>${footer(links)}`);
}

/** Why the login failed, as the broker logged it: shown because this is a demo (a real portal never learns it). */
function failureReason(f: LoggedFailure): string {
  return `<p>Why, as the broker logged it at ${esc(time(f.at))} (shown here because this is a demo: the broker tells only its log,
never the browser):</p>
<table data-test="failure">
<tr><th>Profile</th><td><code>${esc(f.profile)}</code></td></tr>
<tr><th>Status</th><td>${esc(f.status)}</td></tr>
<tr><th>Reason</th><td data-test="reason">${esc(f.reason)}</td></tr>
${f.hint ? `<tr><th>What to check</th><td data-test="hint">${esc(f.hint)}</td></tr>` : ''}
</table>`;
}

export function loginFailedPage(links: PortalLinks, failure?: LoggedFailure): string {
  return page(
    'Demo portal: sign-in failed',
    `${STANDIN}<h1 class="bad">The sign-in failed</h1>
<p>The broker sent your browser here: this is the profile's <code>FailureRedirect</code>.</p>
${failure ? failureReason(failure) : '<p>The broker\'s log (in the terminal running <code>npm run demo</code>) says why, for example that the sign-in was cancelled at the OpenID Provider.</p>'}
${footer(links)}`,
  );
}

function accountRows(accounts: PortalAccounts): string {
  const rows = accounts.list().map(
    (a) => `<tr><td>${esc(a.Email)}</td><td>${esc(accounts.orgName(a.OrganisationID)) || '<em>none</em>'}</td>
<td>${a.Teams.map((t) => esc(accounts.teamName(t))).join(', ') || '<em>none</em>'}</td><td><code>${esc(a.Role)}</code></td><td>${esc(a.UpdatedAt)} UTC</td></tr>`,
  );
  return rows.length ? `<table data-test="accounts"><tr><th>Email</th><th>Organisation</th><th>Teams</th><th>Role</th><th>Updated</th></tr>${rows.join('\n')}</table>` : '<p>None yet.</p>';
}

export function homePage(recent: readonly SignIn[], links: PortalLinks, accounts: PortalAccounts): string {
  const rows = recent.map(
    (s) => `<tr><td>${esc(time(s.redeemedAt ?? s.issuedAt))}</td><td>${esc(audience(s))}</td><td>${esc(s.email)}</td><td>${esc(s.displayName)}</td>
<td>${s.groupIds.map((g) => `<code>${esc(g)}</code>`).join(' ') || '<em>none</em>'}</td></tr>`,
  );
  return page(
    'Demo portal',
    `${STANDIN}<h1>Demo portal</h1>
<h2>Recent sign-ins</h2>
${rows.length ? `<table><tr><th>Time</th><th>Audience</th><th>Email</th><th>Display name</th><th>Teams / groups</th></tr>${rows.join('\n')}</table>` : '<p>None yet.</p>'}
<h2>Developer accounts</h2>
${accountRows(accounts)}
<h2>Changes to accounts</h2>
${eventList(accounts.recentEvents())}
${footer(links)}`,
  );
}
