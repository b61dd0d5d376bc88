/**
 * What the profiles need from tib.conf and the environment, checked together before the broker starts (and by
 * --check): a profile whose action calls a Dashboard or Gateway that is not configured, a missing credential,
 * a session secret too short to sign cookies, a profiles directory that cannot be written. Each of these
 * fails every login (or every admin-API save) at run time; here it is one message naming the profile, the
 * setting (in the file, or the variable in env-only mode) and the usual fix.
 */
import fs from 'node:fs';
import path from 'node:path';
import { handlerConfig } from './handler-config.js';
import { namedTeamValues } from '../portal/team-ref.js';
import { configForProfile, ownTykKeys } from './tyk-settings.js';
import type { Profile } from './profile.js';
import { brokerUser } from './file-store.js';
import { settingPhrase, type ConfigSource } from '../config/load.js';
import { MIN_SESSION_SECRET } from '../config/session-secret.js';
import type { Config } from '../config/types.js';

export interface Findings {
  errors: string[];
  warnings: string[];
}

export interface NeedsContext {
  source: ConfigSource;
  /** The profiles file (`-p`). */
  profilesPath: string;
  /** Which variable holds the session secret (TYK_IB_SESSION_SECRET, or the deprecated SESSION_SECRET). */
  secretVariable: string;
  /** The ProviderNames whose logins sign a browser cookie with the session secret (their modules say so). */
  cookieProviders: readonly string[];
}

const DASHBOARD = 'TykAPISettings.DashboardConfig';
const GATEWAY = 'TykAPISettings.GatewayConfig';
const PORTAL = 'TykAPISettings.PortalAPIConfig';

export function checkProfileNeeds(config: Config, profiles: readonly Profile[], ctx: NeedsContext): Findings {
  const out: Findings = { errors: [], warnings: [] };
  const file = path.basename(ctx.profilesPath);
  const setting = (key: string) => settingPhrase(ctx.source, key);
  const who = (p: Profile) => `${file}: profile ${JSON.stringify(p.ID)} (${p.ActionType})`;
  let tyk = config.TykAPISettings;

  const needEndpoint = (p: Profile, group: string, what: string, why: string) => {
    const e = group === DASHBOARD ? tyk.DashboardConfig : tyk.GatewayConfig;
    if (e.Endpoint !== '') return;
    const own = ownTykKeys(p).find((k) => k.startsWith(`${group}.`));
    if (own) {
      out.errors.push(`${who(p)} ${why}, but its own ${own} leaves ${group}.Endpoint empty: set it in the profile or in tib.conf`);
      return;
    }
    const example = group === DASHBOARD ? '"http://tyk-dashboard" with Port "3000"' : '"http://tyk-gateway" with Port "8080"';
    out.errors.push(`${who(p)} ${why}, but ${setting(`${group}.Endpoint`)} is not set: set it to the ${what}'s scheme and host, e.g. ${example}`);
  };

  for (const p of profiles) {
    // A profile's own TykAPISettings override tib.conf's (src/profiles/tyk-settings.ts).
    tyk = configForProfile(config, p).TykAPISettings;
    const { DashboardCredential: credential, DisableOneTokenPerAPI } = handlerConfig(p);
    const oneTokenPerUser = !DisableOneTokenPerAPI;
    switch (p.ActionType) {
      case 'GenerateOrLoginUserProfile':
        needEndpoint(p, DASHBOARD, 'Dashboard', 'asks the Dashboard for an SSO nonce');
        if (credential === '' && tyk.DashboardConfig.AdminSecret === '') {
          out.errors.push(
            `${who(p)}: IdentityHandlerConfig.DashboardCredential is not set and neither is ${setting(`${DASHBOARD}.AdminSecret`)}, so no SSO nonce can be requested: set DashboardCredential to a Dashboard user's API key (or the AdminSecret to the Dashboard's admin_secret)`,
          );
        }
        break;
      case 'GenerateOrLoginDeveloperProfile':
        needEndpoint(p, DASHBOARD, 'Dashboard', 'finds and updates the developer through the Dashboard');
        if (credential === '') {
          out.errors.push(`${who(p)}: IdentityHandlerConfig.DashboardCredential: is required: the developer is looked up, created and updated with it (a Dashboard user's API key)`);
        }
        needPortalApi(p);
        break;
      case 'GenerateTemporaryAuthToken':
        needEndpoint(p, DASHBOARD, 'Dashboard', 'creates keys with POST /api/keys on the Dashboard');
        break;
      case 'GenerateOAuthTokenForClient':
        needEndpoint(p, GATEWAY, 'Gateway', "authorizes the OAuth client on the Gateway's API");
        if (tyk.GatewayConfig.AdminSecret === '') {
          out.errors.push(`${who(p)} calls the Gateway API, but ${setting(`${GATEWAY}.AdminSecret`)} is not set: set it to the Gateway's secret (tyk.conf "secret")`);
        }
        if (oneTokenPerUser) needEndpoint(p, DASHBOARD, 'Dashboard', "deletes the user's previous token through the Dashboard (unless IdentityHandlerConfig.DisableOneTokenPerAPI is true)");
        break;
    }
  }

  function needPortalApi(p: Profile): void {
    const idp = p.Membership?.Authority === 'idp';
    const named = namedTeamValues(p);
    if (!idp && named.length === 0) return;
    const why = idp ? 'reconciles portal accounts (Membership.Authority "idp")' : `names portal teams by name or CID (${named.slice(0, 3).map((v) => JSON.stringify(v)).join(', ')})`;
    const portal = tyk.PortalAPIConfig;
    if (portal.Endpoint === '') {
      out.errors.push(`${who(p)} ${why} through the portal's admin API, but ${setting(`${PORTAL}.Endpoint`)} is not set: set it to the portal's base URL, e.g. "http://tyk-portal:3001" (or the profile's own TykAPISettings.PortalAPIConfig)`);
    }
    if (portal.AdminToken === '') {
      out.errors.push(`${who(p)} ${why} through the portal's admin API, but ${setting(`${PORTAL}.AdminToken`)} is not set: set it to an admin user's API credential (the portal's profile page), not PORTAL_API_SECRET`);
    }
  }

  const sessionSecret = checkSessionSecret(config.SessionSecret, profiles, ctx);
  out.errors.push(...sessionSecret.errors);
  out.warnings.push(...sessionSecret.warnings);
  checkProfileDir(config, ctx, out);
  return out;
}

/**
 * The session secret the cookie-signing profiles need: all that the environment alone decides, so
 * `profiles validate` without tib.conf checks it too (src/cli/validate.ts).
 */
export function checkSessionSecret(secret: string, profiles: readonly Profile[], ctx: Pick<NeedsContext, 'profilesPath' | 'secretVariable' | 'cookieProviders'>): Findings {
  const out: Findings = { errors: [], warnings: [] };
  const file = path.basename(ctx.profilesPath);
  const signing = profiles.filter((p) => ctx.cookieProviders.includes(p.ProviderName));
  const fix = `set it to a random string of at least ${MIN_SESSION_SECRET} characters (e.g. openssl rand -base64 32), the same on every replica`;
  for (const p of signing) {
    const who = `${file}: profile ${JSON.stringify(p.ID)} (${p.ProviderName}) signs its login cookie with ${ctx.secretVariable}`;
    if (secret === '') out.errors.push(`${who}, which is not set: ${fix}`);
    else if (secret.length < MIN_SESSION_SECRET) out.errors.push(`${who}, which has only ${secret.length} characters: ${fix}`);
  }
  if (signing.length === 0 && secret !== '' && secret.length < MIN_SESSION_SECRET) {
    out.warnings.push(`${ctx.secretVariable} has only ${secret.length} characters (no profile uses it yet; ${ctx.cookieProviders.join(' and ')} profiles will refuse it): ${fix}`);
  }
  return out;
}

/**
 * With no admin Secret (empty, or its key misspelt in tib.conf) the admin API answers 401 to every call and
 * /metrics on the main port too (src/http/admin-api.ts, src/http/metrics-route.ts), where TIB's admin API
 * would be open (docs/differences-from-tib.md). --check and the start say it with this one message.
 */
export function adminApiOffWarning(config: Config): string | undefined {
  if (config.Secret !== '') return undefined;
  const metrics = config.Management.Port === 0 ? ', and so does /metrics (or serve it on the management listener, Management.Port)' : '';
  return `Secret is empty: the admin API (/api/profiles) is disabled and answers 401 to every call${metrics}; to use it, set Secret (or TYK_IB_SECRET) to a random string of at least 32 characters (openssl rand -base64 32)`;
}

/** Why `dir` cannot take the profiles file's backups or its atomic rewrite, or undefined. */
function unwritable(dir: string): string | undefined {
  try {
    if (!fs.statSync(dir).isDirectory()) return 'is not a directory';
    fs.accessSync(dir, fs.constants.W_OK);
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'does not exist' : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? `is not writable by the broker's user, ${brokerUser()}` : `cannot be used (${code ?? 'error'})`;
  }
}

/**
 * The admin API writes the profiles file (a temp file renamed over it) and a backup in ProfileDir on every
 * change; with the admin API off (no Secret) nothing is written, so a problem is only a warning.
 */
function checkProfileDir(config: Config, ctx: NeedsContext, out: Findings): void {
  const writes = config.Secret !== '';
  const push = (msg: string) => (writes ? out.errors : out.warnings).push(writes ? msg : `${msg} (only used by the admin API, which is off)`);
  // Saves write through a symbolic link to the file it names (file-store.ts), so that file's directory counts.
  let target = path.resolve(ctx.profilesPath);
  try {
    target = fs.realpathSync(target);
  } catch {
    // No file yet: the first save creates it where it is named.
  }
  const profilesDir = path.dirname(target);
  if (config.ProfileDir !== '') {
    const why = unwritable(config.ProfileDir);
    if (why) push(`${settingPhrase(ctx.source, 'ProfileDir')} ${JSON.stringify(config.ProfileDir)} ${why}: profile backups are written there on every admin-API change; create it for the broker's user, or leave ProfileDir empty to keep them beside the profiles file`);
  }
  const why = unwritable(profilesDir);
  if (why) push(`${profilesDir}, the directory of ${path.basename(ctx.profilesPath)}, ${why}: the admin API saves every change by writing a new file there and renaming it; make it writable by the broker's user (the image's: node, uid 1000; chown 1000:1000 on the host directory)`);
}
