/**
 * The live profile set. Every change is written to profiles.json before it becomes visible, so memory and
 * disk always agree (TIB keeps a change in memory when the write fails). Changes are serialised: concurrent
 * admin-API calls never interleave file writes, and a reload's read waits for them. An operator's edit on
 * disk is never overwritten by an API write: it is adopted first. Profiles are frozen; a change replaces
 * the object.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { Profile } from './profile.js';
import { isSingleFileMount, loadProfilesFile, saveProfilesFile, singleFileMountFix, type FsOps, type LoadedProfiles } from './file-store.js';
import { formatProblem, freezeProfile, type ValidationRules } from './validate.js';

export type StoreErrorKind = 'exists' | 'not-found' | 'flush';

export class StoreError extends Error {
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
  ) {
    super(message);
  }
}

export interface StoreOptions {
  /** The profiles file changes are written to. */
  path: string;
  backupDir: string;
  keep: number;
  /** Hash of the file content the initial set came from. */
  hash?: string;
  ops?: FsOps;
  /** tib.conf's rules every profile must follow (AllowedIdPHosts), on reload and API writes alike. */
  rules: ValidationRules;
}

export class ProfileStore extends EventEmitter<{ change: []; warning: [string] }> {
  private profiles: ReadonlyMap<string, Profile>;
  private queue: Promise<unknown> = Promise.resolve();
  /** Hash of what the file holds as far as we know (what we loaded or last wrote). */
  contentHash: string;

  constructor(
    initial: readonly Profile[],
    private readonly opts: StoreOptions,
  ) {
    super();
    this.profiles = new Map(initial.map((p) => [p.ID, freezeProfile(p)]));
    this.contentHash = opts.hash ?? '';
    // `docker run -v .../profiles.json:...` reads fine and fails every save with EBUSY: say so at start, once
    // the owner listens (src/broker.ts logs 'warning'), instead of at the first admin-API change.
    if (!opts.ops) {
      void isSingleFileMount(opts.path).then((mounted) => {
        if (mounted) this.emit('warning', `${singleFileMountFix(opts.path)}; until then every save of it fails (admin-API changes, POST /api/profiles/save)`);
      });
    }
  }

  /** Where the set lives, for log lines. */
  get label(): string {
    return 'profiles file';
  }

  get rules(): ValidationRules {
    return this.opts.rules;
  }

  get(id: string): Profile | undefined {
    return this.profiles.get(id);
  }

  /** Ordered by ID (TIB's order is random). */
  list(): Profile[] {
    return [...this.profiles.values()].sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
  }

  create(p: Profile): Promise<Profile> {
    return this.change(() => {
      if (this.profiles.has(p.ID)) throw new StoreError('exists', 'Object ID already exists');
      return [p.ID, freezeProfile(p)];
    });
  }

  /** Full replace, as TIB's PUT. */
  update(p: Profile): Promise<Profile> {
    return this.change(() => {
      if (!this.profiles.has(p.ID)) throw new StoreError('not-found', 'Object ID does not exist, operation not permitted');
      return [p.ID, freezeProfile(p)];
    });
  }

  async remove(id: string): Promise<void> {
    await this.change(() => {
      if (!this.profiles.has(id)) throw new StoreError('not-found', 'Object ID does not exist');
      return [id, undefined];
    });
  }

  /** Write the running set over the file (POST /api/profiles/save): on purpose, e.g. to restore it; backed up first. */
  flush(): Promise<void> {
    return this.serial(() => this.persist(this.profiles));
  }

  /**
   * Re-read the file (a watch event, SIGHUP). Queued behind API writes, so a read taken before a write can
   * never replace that write in memory afterwards. An invalid file changes nothing.
   */
  reload(): Promise<LoadedProfiles & { unchanged: boolean }> {
    return this.serial(async () => {
      const loaded = await loadProfilesFile(this.opts.path, this.opts.ops, this.opts.rules);
      const unchanged = loaded.problems.length === 0 && loaded.hash === this.contentHash;
      if (!unchanged && loaded.problems.length === 0) this.adopt(loaded);
      return { ...loaded, unchanged };
    });
  }

  /** Swap in a set just read from the file: nothing to write. */
  private adopt(loaded: LoadedProfiles): void {
    this.replaceSet(loaded.profiles);
    this.contentHash = loaded.hash;
  }

  /** Swap in a whole set read from where profiles are kept, and tell the runtime. */
  protected replaceSet(profiles: readonly Profile[]): void {
    const next = new Map<string, Profile>();
    for (const p of profiles) {
      const prev = this.profiles.get(p.ID);
      // Keep the same object for an unchanged profile, so its compiled provider is kept too.
      next.set(p.ID, prev && JSON.stringify(prev) === JSON.stringify(p) ? prev : freezeProfile(p));
    }
    this.profiles = next;
    this.emit('change');
  }

  /** Make one change visible (after it was made durable). */
  protected applyChange(id: string, value: Profile | undefined): void {
    const next = new Map(this.profiles);
    if (value) next.set(id, value);
    else next.delete(id);
    this.profiles = next;
    this.emit('change');
  }

  /**
   * Before an API write: an edit on disk the watcher has not delivered yet is adopted, so the write lands
   * on top of it instead of over it. A half-finished (invalid) edit blocks API writes rather than being lost.
   */
  private async adoptEditOnDisk(): Promise<void> {
    const loaded = await loadProfilesFile(this.opts.path, this.opts.ops, this.opts.rules);
    // Unknown baseline, or no file to read (the save recreates it): nothing to adopt.
    if (!this.contentHash || !loaded.hash || loaded.hash === this.contentHash) return;
    const [first] = loaded.problems;
    if (first) {
      throw new StoreError('flush', `flush failed: ${path.basename(this.opts.path)} was edited on disk and does not validate (${formatProblem(first)}); fix it or restore a backup first`);
    }
    this.adopt(loaded);
  }

  private change(apply: () => [string, Profile | undefined]): Promise<Profile> {
    return this.serial(async () => {
      await this.adoptEditOnDisk();
      const [id, value] = apply();
      const next = new Map(this.profiles);
      if (value) next.set(id, value);
      else next.delete(id);
      await this.persist(next);
      this.applyChange(id, value);
      return value as Profile;
    });
  }

  private async persist(set: ReadonlyMap<string, Profile>): Promise<void> {
    const ordered = [...set.values()].sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
    try {
      const { hash, warnings } = await saveProfilesFile(this.opts.path, ordered, { backupDir: this.opts.backupDir, keep: this.opts.keep, ops: this.opts.ops });
      this.contentHash = hash;
      for (const w of warnings) this.emit('warning', w);
    } catch (err) {
      throw new StoreError('flush', `flush failed: ${(err as Error).message}`);
    }
  }

  protected serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
