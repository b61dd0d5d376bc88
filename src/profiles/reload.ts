/**
 * Hot reload: a watch on profiles.json's directory (editors and Kubernetes ConfigMaps replace the file by
 * rename, which a watch on the file itself would miss), debounced, ignoring the broker's own writes. A
 * valid file replaces the profile set atomically; an invalid one is rejected and the last good set stays.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import { recordReload } from '../metrics.js';
import type { ProfileStore } from './store.js';
import { formatProblem, type ProfileProblem } from './validate.js';

export interface ReloadOutcome {
  ok: boolean;
  /** True when the file holds what the store already has (e.g. our own write). */
  unchanged: boolean;
  problems: ProfileProblem[];
}

/** Stores whose last reload was rejected: the next good one is logged even when it changes nothing. */
const rejected = new WeakSet<ProfileStore>();

/** Never rejects: whatever goes wrong (a bug included) is a rejected reload, logged, and the last good set stays. */
export async function reloadProfiles(store: ProfileStore, log: Logger): Promise<ReloadOutcome> {
  let loaded: Awaited<ReturnType<ProfileStore['reload']>>;
  try {
    loaded = await store.reload();
  } catch (err) {
    const message = `reload failed: ${err instanceof Error ? err.message : String(err)}`;
    recordReload(false);
    rejected.add(store);
    log.error(`${store.label} rejected, still serving the last good set (${store.list().length} profiles)`, { reason: message });
    return { ok: false, unchanged: false, problems: [{ profileId: '', index: -1, field: '', message }] };
  }
  if (loaded.unchanged) {
    // The fix put back what was served (an edit undone): without this line the last word logged is the rejection.
    if (rejected.delete(store)) log.info(`${store.label} is valid again, the same as the set being served (${store.list().length} profiles)`);
    return { ok: true, unchanged: true, problems: [] };
  }
  if (loaded.problems.length > 0) {
    log.error(`${store.label} rejected, still serving the last good set (${store.list().length} profiles)`);
    for (const p of loaded.problems) log.error(formatProblem(p));
    recordReload(false);
    rejected.add(store);
    return { ok: false, unchanged: false, problems: loaded.problems };
  }
  rejected.delete(store);
  for (const w of loaded.warnings) log.warn(formatProblem(w));
  log.info(`profiles reloaded: ${loaded.profiles.length} profiles`);
  recordReload(true);
  return { ok: true, unchanged: false, problems: [] };
}

export function watchProfiles(file: string, onChange: () => void, debounceMs = 150): { close(): void } {
  const dir = path.dirname(path.resolve(file));
  const base = path.basename(file);
  let timer: NodeJS.Timeout | undefined;
  const watcher = fs.watch(dir, { persistent: false }, (_event, name) => {
    // Kubernetes swaps a `..data` symlink; watch those events too.
    if (name !== null && name !== base && name !== '..data') return;
    clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
  });
  watcher.on('error', () => undefined);
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
