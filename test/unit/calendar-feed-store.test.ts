/**
 * The folder store of calendar feeds on a real disk: a feed in a file of its own holding the
 * token's digest and never the token, found by that digest, removed for good, and files that
 * are too large or do not parse skipped rather than read or trusted.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  FolderCalendarFeedStore,
  isFeedId,
  MAX_FEED_FILE_BYTES,
} from '../../activities/store/calendar-feed-store';
import { sha256Hex } from '../../config/secrets';

function freshStore(): { store: FolderCalendarFeedStore; root: string } {
  const root = path.join(mkdtempSync(path.join(os.tmpdir(), 'baton-feed-store-')), 'calendar-feeds');
  return { store: new FolderCalendarFeedStore(root), root };
}

const TOKEN = 'x'.repeat(43);

describe('FolderCalendarFeedStore', () => {
  it('keeps a feed in a file named by its id, with the token’s digest and not the token', async () => {
    const { store, root } = freshStore();
    const feed = await store.add({
      owner: 'alice',
      schedule: 'payments-l2',
      tokenSha256: sha256Hex(TOKEN),
      createdAt: '2026-11-04T12:00:00.000Z',
    });
    expect(isFeedId(feed.id)).toBe(true);
    expect(readdirSync(root)).toEqual([`${feed.id}.json`]);
    const text = readFileSync(path.join(root, `${feed.id}.json`), 'utf8');
    expect(JSON.parse(text)).toEqual({
      id: feed.id,
      owner: 'alice',
      schedule: 'payments-l2',
      tokenSha256: sha256Hex(TOKEN),
      createdAt: '2026-11-04T12:00:00.000Z',
    });
    expect(text).not.toContain(TOKEN);
    expect(await store.get(feed.id)).toEqual(feed);
    expect(await store.list()).toEqual([feed]);
  });

  it('finds a feed by its token’s digest only', async () => {
    const { store } = freshStore();
    const mine = await store.add({
      owner: 'alice',
      responder: 'alice',
      tokenSha256: sha256Hex(TOKEN),
      createdAt: '2026-11-04T12:00:00.000Z',
    });
    await store.add({
      owner: 'bob',
      schedule: 'payments-l2',
      tokenSha256: sha256Hex('y'.repeat(43)),
      createdAt: '2026-11-04T12:00:01.000Z',
    });
    expect(await store.withTokenSha256(sha256Hex(TOKEN))).toEqual(mine);
    expect(await store.withTokenSha256(sha256Hex('z'.repeat(43)))).toBeUndefined();
    // The token itself is no digest: it finds nothing.
    expect(await store.withTokenSha256(TOKEN)).toBeUndefined();
    expect((await store.list()).map((f) => f.owner)).toEqual(['alice', 'bob']);
  });

  it('removes a feed for good, and says so only once', async () => {
    const { store, root } = freshStore();
    const feed = await store.add({
      owner: 'alice',
      schedule: 'payments-l2',
      tokenSha256: sha256Hex(TOKEN),
      createdAt: '2026-11-04T12:00:00.000Z',
    });
    expect(await store.remove(feed.id)).toBe(true);
    expect(await store.remove(feed.id)).toBe(false);
    expect(await store.remove('../../etc/passwd')).toBe(false);
    expect(readdirSync(root)).toEqual([]);
    expect(await store.withTokenSha256(sha256Hex(TOKEN))).toBeUndefined();
    expect(await store.get(feed.id)).toBeUndefined();
  });

  it('answers an empty list before any feed exists', async () => {
    const { store } = freshStore();
    expect(await store.list()).toEqual([]);
    expect(await store.withTokenSha256(sha256Hex(TOKEN))).toBeUndefined();
  });

  it('skips files that are too large, do not parse, or name another id', async () => {
    const { store, root } = freshStore();
    mkdirSync(root, { recursive: true });
    const digest = sha256Hex(TOKEN);
    const entry = (id: string, extra = '') =>
      JSON.stringify({
        id,
        owner: 'mallory',
        schedule: 'payments-l2',
        tokenSha256: digest,
        createdAt: 'x',
        extra,
      });
    const big = `feed-${'a'.repeat(32)}`;
    writeFileSync(path.join(root, `${big}.json`), entry(big, ' '.repeat(MAX_FEED_FILE_BYTES)));
    const broken = `feed-${'b'.repeat(32)}`;
    writeFileSync(path.join(root, `${broken}.json`), '{"id":');
    const misnamed = `feed-${'c'.repeat(32)}`;
    writeFileSync(path.join(root, `${misnamed}.json`), entry(`feed-${'d'.repeat(32)}`));
    writeFileSync(path.join(root, 'notes.json'), entry('notes'));
    expect(await store.list()).toEqual([]);
    expect(await store.withTokenSha256(digest)).toBeUndefined();
    // Just under the cap, the same entry is read.
    const fits = `feed-${'e'.repeat(32)}`;
    writeFileSync(path.join(root, `${fits}.json`), entry(fits, ' '.repeat(MAX_FEED_FILE_BYTES - 300)));
    expect((await store.withTokenSha256(digest))?.id).toBe(fits);
  });
});
