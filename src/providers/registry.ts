/**
 * The providers a broker knows: TIB's four modules and any an embedding application registers
 * (`createBroker({ providers })`). Everything the broker asks of a provider goes through here and its module
 * (module.ts), so no other file switches on a provider's name.
 */
import { FieldReader, type FieldError } from '../profiles/fields.js';
import type { Profile } from '../profiles/profile.js';
import { actionSecrets, type ProviderCatalogue } from '../profiles/validate.js';
import { ldapModule } from './ldap/module.js';
import { claimsIdentity, DEFAULT_FAILURE_CLASSES, type CreateProvider, type FailureClasses, type OutboundHost, type ProviderModule, type ProviderProfile } from './module.js';
import type { Provider, ProviderServices } from './provider.js';
import { proxyModule } from './proxy/module.js';
import { samlModule } from './saml/module.js';
import { socialModule } from './social/module.js';

/** TIB's providers, in TIB's order (docs/tib-behaviour.md §3.1). */
const builtinModules: readonly ProviderModule[] = [socialModule, ldapModule, proxyModule, samlModule] as ProviderModule[];

/** A profile's ProviderConfig as its module read it, with what the reader found wrong or unknown. */
export interface ParsedProviderConfig {
  /** The provider's typed config (the raw object for a module without readConfig). */
  config: unknown;
  /** ProviderConfig.FailureRedirect, read by the broker for every provider ("" when unset). */
  failureRedirect: string;
  errors: FieldError[];
  /** Keys the module does not know (typos, or options of another provider): worth a warning. */
  unknownKeys: string[];
  /** The keys it knows, for a "did you mean". */
  knownKeys: string[];
}

/** The provider-stack import under way, if any (prepare). */
let importing: Promise<unknown> = Promise.resolve();

const NAME_RULE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

export class ProviderRegistry implements ProviderCatalogue {
  private readonly modules: ReadonlyMap<string, ProviderModule>;
  /** Parsed once per ProviderConfig object: profiles are frozen, so a version is compared by reference. */
  private readonly parsed = new WeakMap<object, ParsedProviderConfig>();
  /** Each module's `create` once its stack is imported (ProviderModule.load), so nothing is loaded twice. */
  private readonly loaded = new Map<ProviderModule, CreateProvider<unknown>>();
  private readonly loading = new Map<ProviderModule, Promise<void>>();

  constructor(extra: readonly ProviderModule[] = []) {
    const all = new Map(builtinModules.map((m) => [m.name, m]));
    for (const m of extra) {
      if (!m.create && !m.load) throw new Error(`providers: ${JSON.stringify(m.name)} cannot be registered: its module has neither create nor load`);
      if (all.has(m.name) || !NAME_RULE.test(m.name)) {
        throw new Error(
          `providers: ${JSON.stringify(m.name)} cannot be registered: a provider's name must be 1 to 64 letters, digits, "_" or "-", starting with a letter, and not one already registered (${[...all.keys()].join(', ')})`,
        );
      }
      all.set(m.name, m);
    }
    this.modules = all;
  }

  get names(): string[] {
    return [...this.modules.keys()];
  }

  get(name: string): ProviderModule | undefined {
    return this.modules.get(name);
  }

  /** The module of a profile that validation accepted (so its ProviderName is known). */
  of(profile: Pick<Profile, 'ProviderName'>): ProviderModule {
    const m = this.modules.get(profile.ProviderName);
    if (!m) throw new Error(`no provider module ${JSON.stringify(profile.ProviderName)}`);
    return m;
  }

  /**
   * Imports the provider stacks these profiles need and have not loaded yet (ProviderModule.load), each once;
   * undefined when there is nothing to load, so a caller can build at once. Awaited before `create` (runtime.ts).
   */
  prepare(profiles: readonly Pick<Profile, 'ProviderName'>[]): Promise<void> | undefined {
    const waits: Promise<void>[] = [];
    for (const m of new Set(profiles.map((p) => this.get(p.ProviderName)))) {
      if (!m || m.create || this.loaded.has(m)) continue;
      let w = this.loading.get(m);
      if (!w) {
        const load = m.load as () => Promise<CreateProvider<unknown>>;
        // One import at a time: Jest's ESM loader fails two at once that share modules; a broker loses nothing.
        w = importing.then(load).then(
          (create) => void this.loaded.set(m, create),
          (err: unknown) => {
            // Not kept: a failed import is tried again by the next prepare.
            this.loading.delete(m);
            throw err;
          },
        );
        importing = w.catch(() => undefined);
        this.loading.set(m, w);
      }
      waits.push(w);
    }
    return waits.length > 0 ? Promise.all(waits).then(() => undefined) : undefined;
  }

  /** The module's `create`: its own, or what its load gave (undefined until prepare has loaded it). */
  creator(module: ProviderModule): CreateProvider<unknown> | undefined {
    // Bound: an embedder's create may use `this`, as when it was called as module.create(...).
    return module.create ? (module.create.bind(module) as CreateProvider<unknown>) : this.loaded.get(module);
  }

  /** A profile's provider, its stack loaded first: for a tool that builds one outside a runtime (cli/sync.ts). */
  async createProvider(profile: Profile, services: ProviderServices): Promise<Provider> {
    await this.prepare([profile]);
    const module = this.of(profile);
    const create = this.creator(module);
    if (!create) throw new Error(`the ${module.name} stack is not loaded`);
    const { failureRedirect: _failureRedirect, ...built } = this.providerProfile(profile);
    return create(built, services);
  }

  /** Reads a ProviderConfig as its module does; memoised per object, so a profile version is read once. */
  parse(module: ProviderModule, raw: Record<string, unknown> | null): ParsedProviderConfig {
    const hit = raw ? this.parsed.get(raw) : undefined;
    if (hit) return hit;
    const errors: FieldError[] = [];
    const reader = new FieldReader(raw ?? {}, 'ProviderConfig', errors);
    const failureRedirect = reader.url('FailureRedirect');
    const config = module.readConfig ? module.readConfig(reader) : (raw ?? {});
    const out = { config, failureRedirect, errors, unknownKeys: module.readConfig ? reader.unknownKeys() : [], knownKeys: reader.knownKeys() };
    if (raw && Object.isFrozen(raw)) this.parsed.set(raw, out);
    return out;
  }

  /** For validation: the ProviderConfig as the module reads it, and the hosts it names. */
  read(providerName: string, raw: Record<string, unknown> | null) {
    const m = this.get(providerName);
    if (!m) return undefined;
    const parsed = this.parse(m, raw);
    return { ...parsed, hosts: m.outboundHosts?.(parsed.config) ?? [], logout: m.logout?.(parsed.config) };
  }

  /** The profile as its provider is built from it. */
  providerProfile(profile: Profile): ProviderProfile<unknown> & { failureRedirect: string } {
    const parsed = this.parse(this.of(profile), profile.ProviderConfig);
    return { profile, config: parsed.config, failureRedirect: parsed.failureRedirect };
  }

  /** Where a profile's logins start: `/auth/{id}/{segment}` for each of these (ProviderModule.loginSegments). */
  loginSegments(profile: Profile): string[] {
    const m = this.of(profile);
    return m.loginSegments?.(this.parse(m, profile.ProviderConfig).config) ?? [m.name.replace(/Provider$/, '').toLowerCase()];
  }

  outboundHosts(profile: Profile): OutboundHost[] {
    const m = this.of(profile);
    return m.outboundHosts?.(this.parse(m, profile.ProviderConfig).config) ?? [];
  }

  /**
   * The credentials a profile holds, masked in log lines while it is live and redacted by the profile tools:
   * its action's (validate.ts actionSecrets) and those its provider module names. Only fields known to be
   * secrets: a generic "ends in Key/Password" walk let any profile writer mask arbitrary words.
   */
  profileSecrets(profile: Profile): string[] {
    const m = this.get(profile.ProviderName);
    const own = m?.secrets?.(this.parse(m, profile.ProviderConfig).config) ?? [];
    return [...actionSecrets(profile), ...own].filter((v) => v !== '');
  }

  /** The names of the providers whose logins sign a browser cookie with the session secret. */
  get cookieProviders(): string[] {
    return [...this.modules.values()].filter((m) => m.usesLoginCookie === true).map((m) => m.name);
  }

  /** What the profile's provider builds from these claims or attributes (explain); may throw a ClaimsError. */
  identityFromClaims(profile: Profile, claims: Record<string, unknown>, username: string) {
    const m = this.of(profile);
    if (!m.identityFromClaims) return claimsIdentity(claims, profile.ProviderName);
    return m.identityFromClaims({ profile, config: this.parse(m, profile.ProviderConfig).config }, claims, username);
  }

  failureClasses(profile: Pick<Profile, 'ProviderName'>): FailureClasses {
    return this.get(profile.ProviderName)?.failureClasses ?? DEFAULT_FAILURE_CLASSES;
  }
}

/** The registry of TIB's providers alone (the CLI's, and validation's default). */
export const builtinProviders = new ProviderRegistry();
