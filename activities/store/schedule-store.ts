/**
 * What changes an on-call schedule at run time: the overrides and time off people add
 * through the API. The rotations themselves are configuration (config.schedules); this
 * store only holds what is added beside them, so everything that computes who is on call
 * (the API, paging) reads both through `adjustmentsFor`.
 *
 * The folder store keeps one file per entry, under `<dataDir>/schedules/`:
 *   overrides/<scheduleId>/override-<random>.json
 *   time-off/timeoff-<random>.json
 * Each file is written whole to a staging name, then linked to its final name (which fails
 * if the name exists), so two API processes adding at once never overwrite each other and a
 * reader never sees half an entry. Listing reads the folder: there is no index to lose an
 * update in. Entries that ended more than PRUNE_AFTER_MS (400 days) ago are deleted as they are read.
 */
import { randomBytes } from 'node:crypto';
import { link, readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Adjustments, Override, ScheduleConfig, TimeOff } from '../../schedules/types';
import { isMissing, syncFolder, writeFileAtomic } from '../files';

export interface StoredOverride extends Override {
  id: string;
  /** The responder who made it. */
  by: string;
  /** When it was made, ISO. */
  at: string;
}

export interface StoredTimeOff extends TimeOff {
  id: string;
  by: string;
  at: string;
}

export interface ScheduleStore {
  /** A schedule's stored overrides, oldest first (later ones win where two overlap). */
  overrides(scheduleId: string): Promise<StoredOverride[]>;
  addOverride(scheduleId: string, o: Omit<StoredOverride, 'id'>): Promise<StoredOverride>;
  /** false when the schedule has no such override. */
  removeOverride(scheduleId: string, id: string): Promise<boolean>;
  /** Stored time off, oldest first; only `member`'s when given. */
  timeOff(member?: string): Promise<StoredTimeOff[]>;
  addTimeOff(t: Omit<StoredTimeOff, 'id'>): Promise<StoredTimeOff>;
  removeTimeOff(id: string): Promise<boolean>;
}

/** Everything that adjusts one schedule: its configured overrides and time off, then the stored ones. */
export async function adjustmentsFor(schedule: ScheduleConfig, store: ScheduleStore): Promise<Adjustments> {
  const [overrides, timeOff] = await Promise.all([store.overrides(schedule.id), store.timeOff()]);
  // Configured first: an override added at run time wins over the configuration's where they overlap.
  return {
    overrides: [...schedule.overrides, ...overrides],
    timeOff: [...schedule.timeOff, ...timeOff],
  };
}

/**
 * Entries that ended this long ago are deleted when a listing reads them. Not 30 days: a
 * fairness report looks back up to 400 days (schedules/shifts.ts MAX_WINDOW_MS), and an
 * override pruned sooner would change what the report says about last quarter.
 */
export const PRUNE_AFTER_MS = 400 * 86_400_000;

const SCHEDULE_ID = /^[a-z0-9][a-z0-9_-]{0,99}$/;
const OVERRIDE_ID = /^override-[a-f0-9]{32}$/;
const TIME_OFF_ID = /^timeoff-[a-f0-9]{32}$/;

export function isOverrideId(id: string): boolean {
  return OVERRIDE_ID.test(id);
}

export function isTimeOffId(id: string): boolean {
  return TIME_OFF_ID.test(id);
}

const entryFields = {
  member: z.string(),
  from: z.number().finite(),
  to: z.number().finite(),
  by: z.string(),
  at: z.string(),
};
const storedOverrideSchema = z.object({ id: z.string(), ...entryFields, replacing: z.string().optional() });
const storedTimeOffSchema = z.object({ id: z.string(), ...entryFields });

/**
 * Creates `file` with `content`, or fails with EEXIST: written whole to a staging file (a
 * name the listing ignores), then hard-linked into place, which never replaces a file.
 */
async function createExclusive(file: string, content: string): Promise<void> {
  const folder = path.dirname(file);
  const staging = path.join(folder, `.${path.basename(file)}.${randomBytes(8).toString('hex')}.staging`);
  await writeFileAtomic(staging, content);
  try {
    await link(staging, file);
  } finally {
    await rm(staging, { force: true });
  }
  await syncFolder(folder);
}

function byCreation<T extends { at: string; id: string }>(a: T, b: T): number {
  if (a.at !== b.at) return a.at < b.at ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export interface FolderScheduleStoreOptions {
  /** The present, for pruning (tests give their own clock). */
  now?: () => number;
}

/** The default store: files under `root` (`<dataDir>/schedules`). */
export class FolderScheduleStore implements ScheduleStore {
  readonly root: string;
  private readonly now: () => number;

  constructor(root: string, options: FolderScheduleStoreOptions = {}) {
    this.root = path.resolve(root);
    this.now = options.now ?? Date.now;
  }

  private overridesFolder(scheduleId: string): string | undefined {
    return SCHEDULE_ID.test(scheduleId) ? path.join(this.root, 'overrides', scheduleId) : undefined;
  }

  private get timeOffFolder(): string {
    return path.join(this.root, 'time-off');
  }

  async overrides(scheduleId: string): Promise<StoredOverride[]> {
    const folder = this.overridesFolder(scheduleId);
    if (!folder) return [];
    return this.list(folder, OVERRIDE_ID, storedOverrideSchema);
  }

  async addOverride(scheduleId: string, o: Omit<StoredOverride, 'id'>): Promise<StoredOverride> {
    const folder = this.overridesFolder(scheduleId);
    if (!folder) throw new Error(`not a schedule id: ${JSON.stringify(scheduleId)}`);
    return this.add(folder, 'override', o);
  }

  async removeOverride(scheduleId: string, id: string): Promise<boolean> {
    const folder = this.overridesFolder(scheduleId);
    if (!folder || !OVERRIDE_ID.test(id)) return false;
    return this.remove(folder, id);
  }

  async timeOff(member?: string): Promise<StoredTimeOff[]> {
    const all = await this.list(this.timeOffFolder, TIME_OFF_ID, storedTimeOffSchema);
    return member === undefined ? all : all.filter((t) => t.member === member);
  }

  async addTimeOff(t: Omit<StoredTimeOff, 'id'>): Promise<StoredTimeOff> {
    return this.add(this.timeOffFolder, 'timeoff', t);
  }

  async removeTimeOff(id: string): Promise<boolean> {
    if (!TIME_OFF_ID.test(id)) return false;
    return this.remove(this.timeOffFolder, id);
  }

  private async add<T extends object>(folder: string, prefix: string, entry: T): Promise<T & { id: string }> {
    for (;;) {
      const id = `${prefix}-${randomBytes(16).toString('hex')}`;
      const stored = { id, ...entry };
      try {
        await createExclusive(path.join(folder, `${id}.json`), `${JSON.stringify(stored)}\n`);
        return stored;
      } catch (err) {
        // 128 random bits do not collide; if they ever do, the other entry is kept and this one takes a new id.
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
  }

  private async remove(folder: string, id: string): Promise<boolean> {
    try {
      await rm(path.join(folder, `${id}.json`));
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
    await syncFolder(folder);
    return true;
  }

  /**
   * The folder's entries that parse, oldest first. A file that does not parse (written by
   * hand, or by a newer version) is skipped, never fatal; entries that ended more than
   * PRUNE_AFTER_MS ago are deleted, and another process deleting them first is no error.
   */
  private async list<T extends { id: string; to: number; at: string }>(
    folder: string,
    idPattern: RegExp,
    schema: z.ZodType<T>,
  ): Promise<T[]> {
    let names: string[];
    try {
      names = await readdir(folder);
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
    const pruneBefore = this.now() - PRUNE_AFTER_MS;
    const entries: (T | undefined)[] = await Promise.all(
      names.map(async (name): Promise<T | undefined> => {
        const id = name.endsWith('.json') ? name.slice(0, -'.json'.length) : '';
        if (!idPattern.test(id)) return undefined;
        const file = path.join(folder, name);
        let text: string;
        try {
          text = await readFile(file, 'utf8');
        } catch (err) {
          if (isMissing(err)) return undefined;
          throw err;
        }
        let parsed: z.ZodSafeParseResult<T>;
        try {
          parsed = schema.safeParse(JSON.parse(text));
        } catch {
          return undefined;
        }
        if (!parsed.success || parsed.data.id !== id) return undefined;
        if (parsed.data.to < pruneBefore) {
          await rm(file, { force: true });
          return undefined;
        }
        return parsed.data;
      }),
    );
    return entries.filter((e): e is T => e !== undefined).sort((a, b) => byCreation(a, b));
  }
}

/** The folder store under a data folder, where Baton keeps it by default. */
export function scheduleStoreIn(dataDir: string): FolderScheduleStore {
  return new FolderScheduleStore(path.join(dataDir, 'schedules'));
}
