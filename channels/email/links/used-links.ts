/**
 * Remembers which email action links were used, so each works once. One empty file per
 * used link's nonce under `<dataDir>/email-links/used`, created exclusively: of two
 * requests with the same link (a double click, two API instances sharing the folder), one
 * creates the file and acts, the other finds it and is told the link was used.
 *
 * Email replies that acted are kept the same way, by their request id, under
 * `<dataDir>/email-links/used-replies`. The incident remembers request ids too, but only its
 * newest 500 (workflows/incident/limits.ts) and only within a run; a signed reply never expires, so a
 * copy sent again a thousand notes later would act again. Those files are never pruned: one
 * per reply a responder's domain vouched for, which people write, not machines.
 */
import { mkdir, open, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';

const NONCE = /^[A-Za-z0-9_-]{8,64}$/;

/** What is used once: an action link (by its nonce) or a reply (by its request id). */
export type UsedOnce = 'links' | 'replies';

const FOLDERS: Record<UsedOnce, string> = { links: 'used', replies: 'used-replies' };

export class UsedLinks {
  private readonly dir: string;

  constructor(dataDir: string, kind: UsedOnce = 'links') {
    this.dir = path.join(dataDir, 'email-links', FOLDERS[kind]);
  }

  private fileFor(nonce: string): string {
    if (!NONCE.test(nonce)) throw new Error('a link nonce is a short base64url word');
    return path.join(this.dir, nonce);
  }

  async used(nonce: string): Promise<boolean> {
    try {
      await stat(this.fileFor(nonce));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  /** Claims the link: true for the one caller that may act on it, false if it was used. */
  async claim(nonce: string): Promise<boolean> {
    await mkdir(this.dir, { recursive: true });
    try {
      const file = await open(this.fileFor(nonce), 'wx');
      await file.sync();
      await file.close();
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    }
  }

  /** Gives a claimed link back, when the step could not be tried (Temporal unavailable). */
  async release(nonce: string): Promise<void> {
    await rm(this.fileFor(nonce), { force: true });
  }

  /**
   * Forgets links used longer ago than any link lives: an expired link is refused for its
   * expiry whether or not it is remembered. (Never called for replies, which do not expire.)
   */
  async prune(olderThanMs: number, now = Date.now()): Promise<number> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    let removed = 0;
    for (const name of names) {
      if (!NONCE.test(name)) continue;
      const file = path.join(this.dir, name);
      const info = await stat(file).catch(() => undefined);
      if (info && now - info.mtimeMs > olderThanMs) {
        await rm(file, { force: true });
        removed += 1;
      }
    }
    return removed;
  }
}
