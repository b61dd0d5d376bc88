/**
 * Compiles each profile once per version: its ProviderConfig read by its module, its provider and action
 * built when the profile is loaded or changed, never per request (TIB rebuilds both, and re-runs OIDC
 * discovery, on every hit). Profiles are immutable objects, so a changed profile is a different object and
 * the cache compares by reference.
 */
import type { Action, ActionDeps } from './actions/action.js';
import { actionFactories } from './actions/registry.js';
import { setOwnedSecrets, type Logger } from './log.js';
import type { Profile } from './profiles/profile.js';
import { configForProfile, tykTargetsOf } from './profiles/tyk-settings.js';
import type { FailureClasses } from './providers/module.js';
import type { Provider, ProviderServices } from './providers/provider.js';
import type { ProviderRegistry } from './providers/registry.js';

export interface CompiledProfile {
  profile: Profile;
  /** How its provider's failures are classed when they carry no class (metrics, audit). */
  failureClasses: FailureClasses;
  /** Undefined only with a setupError. */
  provider?: Provider;
  /** Undefined only with a setupError. */
  action?: Action;
  /** ProviderConfig.FailureRedirect ("" when unset). */
  failureRedirect: string;
  /** Set when the provider or action could not be built; the routes answer 500 and the reason is logged. */
  setupError?: string;
}

export interface RuntimeDeps {
  providers: ProviderRegistry;
  provider: ProviderServices;
  action: ActionDeps;
  log: Logger;
}

let runtimes = 0;

/** A profile with its own TykAPISettings calls its own targets, through the broker's one client (src/profiles/tyk-settings.ts). */
function actionDepsFor(profile: Profile, deps: ActionDeps): ActionDeps {
  if (!profile.TykAPISettings) return deps;
  const config = configForProfile(deps.config, profile);
  return { ...deps, config, tyk: deps.tyk.withSettings(tykTargetsOf(deps.config, profile)) };
}

export class ProfileRuntime {
  private compiled = new Map<string, CompiledProfile>();
  /** Owner of this runtime's log masks: one per runtime, so two brokers in one process never share one. */
  private readonly maskOwner = `runtime-${++runtimes}`;

  constructor(private readonly deps: RuntimeDeps) {}

  /** Build what a profile needs; never throws (a setup error is recorded on the result). */
  compile(profile: Profile): CompiledProfile {
    const module = this.deps.providers.of(profile);
    const { failureRedirect, ...built } = this.deps.providers.providerProfile(profile);
    const out: CompiledProfile = { profile, failureRedirect, failureClasses: this.deps.providers.failureClasses(profile) };
    try {
      const create = this.deps.providers.creator(module);
      // prepare (update) loads it first; a caller that did not gets a setup error, not a crash.
      if (!create) throw new Error(`the ${module.name} stack is not loaded (ProviderRegistry.prepare)`);
      out.provider = create(built, this.deps.provider);
      // Every ActionType has a factory; only a setup error leaves `action` unset.
      out.action = actionFactories[profile.ActionType](profile, actionDepsFor(profile, this.deps.action));
    } catch (err) {
      out.setupError = err instanceof Error ? err.message : String(err);
      void out.provider?.close();
      delete out.provider;
    }
    return out;
  }

  /** sync, after importing the provider stacks these profiles need and have not loaded yet (registry.ts prepare). */
  async update(profiles: readonly Profile[]): Promise<void> {
    await this.deps.providers.prepare(profiles);
    this.sync(profiles);
  }

  /**
   * Bring the cache in line with the current profile set (their provider stacks loaded: update): unchanged profiles keep their provider (and its
   * pools and caches), changed ones are rebuilt, removed ones are closed. A live profile's credentials are
   * masked in log lines; a removed or changed profile's old ones no longer are.
   */
  sync(profiles: readonly Profile[]): void {
    const next = new Map<string, CompiledProfile>();
    for (const p of profiles) {
      const prev = this.compiled.get(p.ID);
      if (prev && prev.profile === p) {
        next.set(p.ID, prev);
        continue;
      }
      setOwnedSecrets(this.secretOwner(p.ID), this.deps.providers.profileSecrets(p));
      const c = this.compile(p);
      if (c.setupError) this.deps.log.error('profile cannot be used', { profile: p.ID, reason: c.setupError });
      next.set(p.ID, c);
    }
    const old = this.compiled;
    this.compiled = next;
    for (const [id, c] of old) {
      if (next.get(id) !== c) this.release(c);
      if (!next.has(id)) setOwnedSecrets(this.secretOwner(id), []);
    }
  }

  /** What providers use, built once (services.ts): the http layer's logout routes keep logins in its loginSessions. */
  get providerServices(): ProviderServices {
    return this.deps.provider;
  }

  get(id: string): CompiledProfile | undefined {
    return this.compiled.get(id);
  }

  async close(): Promise<void> {
    const all = [...this.compiled.values()];
    this.compiled = new Map();
    for (const c of all) setOwnedSecrets(this.secretOwner(c.profile.ID), []);
    await Promise.all(all.map((c) => c.provider?.close().catch(() => undefined)));
  }

  private secretOwner(id: string): string {
    return `${this.maskOwner}:${id}`;
  }

  private release(c: CompiledProfile): void {
    c.provider?.close().catch((err: unknown) => {
      this.deps.log.warn('closing a replaced provider failed', { profile: c.profile.ID, reason: String(err) });
    });
  }
}
