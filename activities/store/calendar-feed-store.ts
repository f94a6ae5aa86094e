/**
 * Calendar feeds: the unguessable URLs a calendar app subscribes to, one per person and
 * schedule (or responder). A calendar app cannot send a bearer token, so the URL's token is
 * the credential; only its SHA-256 is kept, and the URL is shown once, when the feed is made.
 *
 * The folder store keeps one file per feed, `<dataDir>/calendar-feeds/<feedId>.json`, written
 * whole through writeFileAtomic. Finding a feed by its token reads the folder: feeds are few
 * (a handful per person), and an index would be one more thing to keep right across API
 * processes. Each file is read only up to MAX_FEED_FILE_BYTES.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { isMissing, syncFolder, writeFileAtomic } from '../files';

/** What a feed shows: one schedule's shifts, or one responder's across their schedules. */
export type FeedSubject = { schedule: string } | { responder: string };

/** A feed as it is made: who holds it, what it shows, its token's digest. */
export type NewCalendarFeed = {
  /** The responder who made it: the one holding its URL. */
  owner: string;
  /** Hex SHA-256 of the URL's token. */
  tokenSha256: string;
  /** ISO. */
  createdAt: string;
} & FeedSubject;

export type StoredCalendarFeed = { id: string } & NewCalendarFeed;

export interface CalendarFeedStore {
  add(feed: NewCalendarFeed): Promise<StoredCalendarFeed>;
  get(id: string): Promise<StoredCalendarFeed | undefined>;
  /** Every feed, oldest first. */
  list(): Promise<StoredCalendarFeed[]>;
  /** The feed whose token has this SHA-256 (hex), if any. */
  withTokenSha256(sha256: string): Promise<StoredCalendarFeed | undefined>;
  /** false when there is no such feed. */
  remove(id: string): Promise<boolean>;
}

/** A feed's file is a few hundred bytes; anything larger was not written by Baton and is skipped. */
export const MAX_FEED_FILE_BYTES = 4096;

const FEED_ID = /^feed-[a-f0-9]{32}$/;
const SHA256_HEX = /^[a-f0-9]{64}$/;

export function isFeedId(id: string): boolean {
  return FEED_ID.test(id);
}

const common = {
  id: z.string(),
  owner: z.string(),
  tokenSha256: z.string().regex(SHA256_HEX),
  createdAt: z.string(),
};
const storedFeedSchema = z.union([
  z.object({ ...common, schedule: z.string() }),
  z.object({ ...common, responder: z.string() }),
]);

function sameDigest(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}

/** The file's text, or undefined when it is gone or larger than a feed's file can be. */
async function readCapped(file: string): Promise<string | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    if (size > MAX_FEED_FILE_BYTES) return undefined;
    const buffer = Buffer.alloc(MAX_FEED_FILE_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    // Grown past the cap since the stat: not a file Baton wrote.
    if (bytesRead > MAX_FEED_FILE_BYTES) return undefined;
    return buffer.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** The default store: files under `root` (`<dataDir>/calendar-feeds`). */
export class FolderCalendarFeedStore implements CalendarFeedStore {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  async add(feed: NewCalendarFeed): Promise<StoredCalendarFeed> {
    // 128 random bits: two feeds never get the same id, so a plain atomic write is enough.
    const id = `feed-${randomBytes(16).toString('hex')}`;
    const stored: StoredCalendarFeed = { id, ...feed };
    await writeFileAtomic(path.join(this.root, `${id}.json`), `${JSON.stringify(stored)}\n`);
    return stored;
  }

  async get(id: string): Promise<StoredCalendarFeed | undefined> {
    return FEED_ID.test(id) ? this.read(id) : undefined;
  }

  async list(): Promise<StoredCalendarFeed[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
    const ids = names.filter((n) => n.endsWith('.json')).map((n) => n.slice(0, -'.json'.length));
    const feeds = await Promise.all(ids.filter((id) => FEED_ID.test(id)).map((id) => this.read(id)));
    return feeds
      .filter((f): f is StoredCalendarFeed => f !== undefined)
      .sort((a, b) =>
        a.createdAt !== b.createdAt ? (a.createdAt < b.createdAt ? -1 : 1) : a.id < b.id ? -1 : 1,
      );
  }

  async withTokenSha256(sha256: string): Promise<StoredCalendarFeed | undefined> {
    if (!SHA256_HEX.test(sha256)) return undefined;
    let found: StoredCalendarFeed | undefined;
    // Every digest is compared, so that the time taken does not tell how many feeds came first.
    for (const feed of await this.list()) if (sameDigest(feed.tokenSha256, sha256)) found = feed;
    return found;
  }

  async remove(id: string): Promise<boolean> {
    if (!FEED_ID.test(id)) return false;
    try {
      await rm(path.join(this.root, `${id}.json`));
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
    await syncFolder(this.root);
    return true;
  }

  /** A file that does not parse (written by hand, or by a newer version) is skipped, never fatal. */
  private async read(id: string): Promise<StoredCalendarFeed | undefined> {
    const text = await readCapped(path.join(this.root, `${id}.json`));
    if (text === undefined) return undefined;
    try {
      const parsed = storedFeedSchema.safeParse(JSON.parse(text));
      return parsed.success && parsed.data.id === id ? parsed.data : undefined;
    } catch {
      return undefined;
    }
  }
}

/** The folder store under a data folder, where Baton keeps it by default. */
export function calendarFeedStoreIn(dataDir: string): FolderCalendarFeedStore {
  return new FolderCalendarFeedStore(path.join(dataDir, 'calendar-feeds'));
}
