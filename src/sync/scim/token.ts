/**
 * The bearer token an IdP sends to `/scim/v2/{profile}` (issue 20, item 5): the content of the profile's
 * `Sync.SCIM.TokenFile` (trimmed), at least 32 characters. Read on first use and again whenever the file's
 * size or modification time changes (a rotated token works without a reload); compared in constant time on
 * keyed digests, so neither its length nor its content shows in the timing. Never logged.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs/promises';
import type { Profile } from '../../profiles/profile.js';

export const MIN_TOKEN_LENGTH = 32;

interface Known {
  file: string;
  stamp: string;
  digest?: Buffer;
  problem?: string;
}

export class ScimTokens {
  private readonly key = randomBytes(32);
  private readonly known = new Map<string, Known>();

  private digest(v: string): Buffer {
    return createHmac('sha256', this.key).update(v, 'utf8').digest();
  }

  /** The profile's token as a digest, or why there is none (naming the profile and the field). */
  private async load(profile: Profile): Promise<Known> {
    const file = profile.Sync?.SCIM?.TokenFile ?? '';
    const field = `profile "${profile.ID}": Sync.SCIM.TokenFile`;
    if (file === '') return { file, stamp: '', problem: `${field} is not set` };
    let stamp: string;
    try {
      const st = await fs.stat(file);
      stamp = `${st.size}:${st.mtimeMs}:${st.ino}`;
    } catch (err) {
      return { file, stamp: '', problem: `${field}: ${JSON.stringify(file)} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
    }
    const seen = this.known.get(profile.ID);
    if (seen && seen.file === file && seen.stamp === stamp) return seen;
    let out: Known;
    try {
      const token = (await fs.readFile(file, 'utf8')).trim();
      out = token.length < MIN_TOKEN_LENGTH ? { file, stamp, problem: `${field}: ${JSON.stringify(file)} holds fewer than ${MIN_TOKEN_LENGTH} characters` } : { file, stamp, digest: this.digest(token) };
    } catch (err) {
      out = { file, stamp, problem: `${field}: ${JSON.stringify(file)} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})` };
    }
    this.known.set(profile.ID, out);
    return out;
  }

  /** Why the profile's token cannot be used (for the load's error), or undefined when it can. */
  async problem(profile: Profile): Promise<string | undefined> {
    return (await this.load(profile)).problem;
  }

  /** Whether `given` (the Authorization header) is "Bearer <the profile's token>". */
  async matches(profile: Profile, given: string | undefined): Promise<boolean> {
    const k = await this.load(profile);
    const m = /^Bearer\s+(\S+)\s*$/i.exec(given ?? '');
    if (!k.digest || !m) return false;
    return timingSafeEqual(this.digest(m[1] as string), k.digest);
  }
}
