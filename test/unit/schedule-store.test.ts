/**
 * The folder schedule store on a real disk: entries written whole and never seen half-written,
 * concurrent adds all kept, removal, pruning of long-ended entries, and adjustmentsFor
 * putting the configured adjustments before the stored ones.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  adjustmentsFor,
  FolderScheduleStore,
  PRUNE_AFTER_MS,
  type StoredOverride,
} from '../../activities/store/schedule-store';
import type { ScheduleConfig } from '../../schedules/types';

const NOW = Date.parse('2026-11-04T12:00:00Z');
const HOUR = 3_600_000;

function freshStore(now = NOW): { store: FolderScheduleStore; root: string } {
  const root = path.join(mkdtempSync(path.join(os.tmpdir(), 'baton-schedule-store-')), 'schedules');
  return { store: new FolderScheduleStore(root, { now: () => now }), root };
}

const override = (member: string, from: number, to: number, at = new Date(NOW).toISOString()) => ({
  member,
  from,
  to,
  by: 'dave',
  at,
});

const SCHEDULE: ScheduleConfig = {
  id: 'payments-l2',
  team: 'payments',
  name: 'Payments Level 2',
  timezone: 'Europe/Berlin',
  layers: [{ members: ['alice', 'bob'], shift: 7 * 24 * HOUR, handoff: '2026-11-02T09:00' }],
  overrides: [{ member: 'bob', from: NOW - HOUR, to: NOW + HOUR }],
  timeOff: [{ member: 'alice', from: NOW, to: NOW + 2 * HOUR }],
};

describe('FolderScheduleStore', () => {
  it('keeps an override in a file of its own and lists it back with its id', async () => {
    const { store, root } = freshStore();
    const added = await store.addOverride('payments-l2', {
      ...override('bob', NOW, NOW + HOUR),
      replacing: 'alice',
    });
    expect(added.id).toMatch(/^override-[0-9a-f]{32}$/);
    expect(await store.overrides('payments-l2')).toEqual([added]);
    expect(await store.overrides('checkout-l2')).toEqual([]);
    const files = readdirSync(path.join(root, 'overrides', 'payments-l2'));
    expect(files).toEqual([`${added.id}.json`]);
    expect(
      JSON.parse(readFileSync(path.join(root, 'overrides', 'payments-l2', files[0] as string), 'utf8')),
    ).toEqual(added);
  });

  it('removes an override once, and answers false for an unknown or malformed id', async () => {
    const { store } = freshStore();
    const a = await store.addOverride('payments-l2', override('bob', NOW, NOW + HOUR));
    const b = await store.addOverride('payments-l2', override('alice', NOW, NOW + HOUR));
    expect(await store.removeOverride('payments-l2', a.id)).toBe(true);
    expect(await store.removeOverride('payments-l2', a.id)).toBe(false);
    expect(await store.removeOverride('checkout-l2', b.id)).toBe(false);
    expect(await store.removeOverride('payments-l2', '../../etc/passwd')).toBe(false);
    expect((await store.overrides('payments-l2')).map((o) => o.id)).toEqual([b.id]);
  });

  it('keeps time off by member and removes it by id', async () => {
    const { store } = freshStore();
    const alice = await store.addTimeOff({
      member: 'alice',
      from: NOW,
      to: NOW + HOUR,
      by: 'alice',
      at: 'x',
    });
    const bob = await store.addTimeOff({ member: 'bob', from: NOW, to: NOW + HOUR, by: 'dave', at: 'y' });
    expect(alice.id).toMatch(/^timeoff-[0-9a-f]{32}$/);
    expect(await store.timeOff('alice')).toEqual([alice]);
    expect((await store.timeOff()).map((t) => t.id).sort()).toEqual([alice.id, bob.id].sort());
    expect(await store.removeTimeOff(alice.id)).toBe(true);
    expect(await store.removeTimeOff(alice.id)).toBe(false);
    expect(await store.timeOff()).toEqual([bob]);
  });

  it('lists entries oldest first, so that a later override wins', async () => {
    const { store } = freshStore();
    const late = await store.addOverride(
      'payments-l2',
      override('bob', NOW, NOW + HOUR, '2026-11-04T10:00:00.000Z'),
    );
    const early = await store.addOverride(
      'payments-l2',
      override('alice', NOW, NOW + HOUR, '2026-11-04T09:00:00.000Z'),
    );
    expect((await store.overrides('payments-l2')).map((o) => o.id)).toEqual([early.id, late.id]);
  });

  it('keeps every one of 50 concurrent adds, under distinct ids', async () => {
    const { store } = freshStore();
    const added = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        store.addOverride('payments-l2', override('bob', NOW + i, NOW + HOUR)),
      ),
    );
    const listed = await store.overrides('payments-l2');
    expect(listed).toHaveLength(50);
    expect(new Set(listed.map((o) => o.id))).toEqual(new Set(added.map((o) => o.id)));
  });

  it('never shows a partly written entry while adds are under way', async () => {
    const { store, root } = freshStore();
    const folder = path.join(root, 'overrides', 'payments-l2');
    const seen: StoredOverride[][] = [];
    let writing = true;
    const torn: string[] = [];
    const reader = (async () => {
      while (writing) {
        seen.push(await store.overrides('payments-l2'));
        // Every final name on disk holds a whole entry at every moment.
        for (const name of (() => {
          try {
            return readdirSync(folder);
          } catch {
            return [];
          }
        })()) {
          if (!/^override-[0-9a-f]{32}\.json$/.test(name)) continue;
          const text = readFileSync(path.join(folder, name), 'utf8');
          try {
            JSON.parse(text);
          } catch {
            torn.push(name);
          }
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const big = 'x'.repeat(200_000);
    await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        store.addOverride('payments-l2', { ...override('bob', NOW + i, NOW + HOUR), by: big }),
      ),
    );
    writing = false;
    await reader;
    expect(torn).toEqual([]);
    expect(seen.length).toBeGreaterThan(1);
    for (const list of seen) for (const o of list) expect(o.by).toBe(big);
    // No staging file is left behind once the adds are done.
    expect(readdirSync(folder).filter((n) => !/^override-[0-9a-f]{32}\.json$/.test(n))).toEqual([]);
  });

  it('passes over staging files, torn files and files of other names', async () => {
    const { store, root } = freshStore();
    const good = await store.addOverride('payments-l2', override('bob', NOW, NOW + HOUR));
    const folder = path.join(root, 'overrides', 'payments-l2');
    const id = `override-${'a'.repeat(32)}`;
    writeFileSync(path.join(folder, `.${id}.json.0123456789abcdef.staging`), JSON.stringify({ ...good, id }));
    writeFileSync(path.join(folder, `override-${'b'.repeat(32)}.json`), '{"id":"override-bbbb');
    writeFileSync(path.join(folder, 'notes.txt'), 'hello');
    // A file whose content names another id than its file name is not believed.
    writeFileSync(path.join(folder, `override-${'c'.repeat(32)}.json`), JSON.stringify(good));
    expect(await store.overrides('payments-l2')).toEqual([good]);
  });

  it('prunes entries that ended more than 400 days ago when it lists them', async () => {
    const { store, root } = freshStore();
    const old = await store.addOverride(
      'payments-l2',
      override('bob', NOW - PRUNE_AFTER_MS - 2 * HOUR, NOW - PRUNE_AFTER_MS - HOUR),
    );
    const recent = await store.addOverride(
      'payments-l2',
      override('bob', NOW - PRUNE_AFTER_MS, NOW - PRUNE_AFTER_MS + HOUR),
    );
    const oldOff = await store.addTimeOff({
      member: 'alice',
      from: 0,
      to: NOW - PRUNE_AFTER_MS - 1,
      by: 'a',
      at: 'a',
    });
    expect((await store.overrides('payments-l2')).map((o) => o.id)).toEqual([recent.id]);
    expect(await store.timeOff()).toEqual([]);
    const files = readdirSync(path.join(root, 'overrides', 'payments-l2'));
    expect(files).toEqual([`${recent.id}.json`]);
    expect(files).not.toContain(`${old.id}.json`);
    expect(readdirSync(path.join(root, 'time-off'))).not.toContain(`${oldOff.id}.json`);
  });

  it('refuses to add under a schedule id that is not a plain name, and lists nothing for one', async () => {
    const { store } = freshStore();
    await expect(store.addOverride('../x', override('bob', NOW, NOW + HOUR))).rejects.toThrow(
      /not a schedule id/,
    );
    expect(await store.overrides('../x')).toEqual([]);
  });
});

describe('adjustmentsFor', () => {
  it('puts the configured overrides and time off first, then the stored ones', async () => {
    const { store } = freshStore();
    const o = await store.addOverride('payments-l2', override('alice', NOW, NOW + HOUR));
    await store.addOverride('checkout-l2', override('frank', NOW, NOW + HOUR));
    const t = await store.addTimeOff({ member: 'bob', from: NOW, to: NOW + HOUR, by: 'bob', at: 'x' });
    const adjustments = await adjustmentsFor(SCHEDULE, store);
    expect(adjustments.overrides).toEqual([SCHEDULE.overrides[0], o]);
    expect(adjustments.timeOff).toEqual([SCHEDULE.timeOff[0], t]);
  });
});
