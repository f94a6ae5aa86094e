/**
 * The incident store, read-only, for the API: an incident's folder found by its id, its whole
 * timeline (`timeline.jsonl`) and the documents in it (the record and the diagnostics charts).
 * It reads only files the worker wrote, so it answers for incidents Temporal no longer knows.
 *
 * Nothing from the request becomes a path: the id must be a plain name that `safeName` leaves
 * as it is, the folder is one the data folder lists and its record names the same id, and a
 * document is served only by a name the listing itself produced, once its real path is seen
 * to stay inside the incident's folder.
 */
import { lstat, open, readdir, readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { recordFolderName } from '../activities/documentation';
import { safeName } from '../activities/files';
import type { IncidentState, TimelineEvent } from '../workflows/state';

export type DocumentKind = 'record' | 'chart';

export interface DocumentInfo {
  /** Relative to the incident's folder, with `/`: `record.md`, `diagnostics/<time>-<occasion>/x.svg`. */
  name: string;
  kind: DocumentKind;
  contentType: string;
  bytes: number;
  modifiedAt: string;
}

export interface IncidentFolder {
  /** The absolute folder. */
  dir: string;
  /** The record as last written (its team decides who may read the folder). */
  record: IncidentState;
}

export interface TimelinePage {
  /** Each with its `seq`. */
  events: (TimelineEvent & { seq: number })[];
  /** The `after` for the next page; absent on the last one. */
  next?: number;
}

const RECORD_DOCUMENTS: Record<string, string> = {
  'record.md': 'text/markdown; charset=utf-8',
  'record.json': 'application/json; charset=utf-8',
};
export const SVG_TYPE = 'image/svg+xml';

/** The folder stamp recordFolderName appends: `20260301T120000Z` (with or without a fraction cut). */
const STAMP = /^\d{8}T\d{6}Z$/;

/** An id the store can hold: what safeName keeps unchanged, nothing that walks out of a folder. */
export function isStoredId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(id) && safeName(id) === id && !id.includes('..');
}

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || err instanceof SyntaxError) return undefined;
    throw err;
  }
}

export class DocumentStore {
  private readonly root: string;

  constructor(dataDir: string) {
    this.root = path.resolve(dataDir, 'incidents');
  }

  /**
   * The incident's folder, or undefined for an id the store does not hold. An alert group
   * that fired again after its incident closed has a folder per opening under one id: the
   * newest opening answers, as the workflow does.
   */
  async find(id: string): Promise<IncidentFolder | undefined> {
    if (!isStoredId(id)) return undefined;
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    const prefix = `${id}-`;
    const candidates = names
      .filter((n) => n.startsWith(prefix) && STAMP.test(n.slice(prefix.length)))
      .sort()
      .reverse();
    for (const name of candidates) {
      const found = await this.folderOf(id, name);
      if (found) return found;
    }
    return undefined;
  }

  /** The folder `name` when it is one of incident `id`'s: a folder whose record names the id. */
  private async folderOf(id: string, name: string): Promise<IncidentFolder | undefined> {
    const dir = path.join(this.root, name);
    const info = await lstat(dir);
    if (!info.isDirectory()) return undefined;
    const record = (await readJson(path.join(dir, 'record.json'))) as IncidentState | undefined;
    // The record must name this id and be the one this folder was named from.
    if (
      !record ||
      record.id !== id ||
      typeof record.team !== 'string' ||
      typeof record.openedAt !== 'string' ||
      recordFolderName(record) !== name
    ) {
      return undefined;
    }
    return { dir, record };
  }

  /**
   * Every incident the store holds, one record per id (its newest opening), newest first.
   * Reads each folder's record.json: meant for listing archived incidents, not for every request.
   */
  async records(): Promise<IncidentState[]> {
    let names: string[];
    try {
      names = await readdir(this.root);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    const newest = new Map<string, IncidentState>();
    // Folder names end with the opening's stamp: sorted descending, each id's newest comes first.
    for (const name of names.sort().reverse()) {
      const stamp = name.slice(-16);
      if (!STAMP.test(stamp)) continue;
      const id = name.slice(0, -17);
      if (newest.has(id) || !isStoredId(id)) continue;
      const found = await this.folderOf(id, name);
      if (found) newest.set(id, found.record);
    }
    return [...newest.values()].sort((a, b) => (a.openedAt < b.openedAt ? 1 : -1));
  }

  /**
   * Events past `after` (by `seq`), oldest first, at most `limit`. Events written before
   * events were numbered count by their line. Torn lines are passed over.
   */
  async timeline(folder: IncidentFolder, after: number, limit: number): Promise<TimelinePage> {
    const events: TimelinePage['events'] = [];
    let more = false;
    let handle;
    try {
      handle = await open(path.join(folder.dir, 'timeline.jsonl'), 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { events };
      throw err;
    }
    let position = 0;
    try {
      for await (const line of handle.readLines({ encoding: 'utf8' })) {
        let event: TimelineEvent;
        try {
          event = JSON.parse(line) as TimelineEvent;
        } catch {
          continue;
        }
        if (typeof event !== 'object' || event === null || typeof event.kind !== 'string') continue;
        position += 1;
        const seq = typeof event.seq === 'number' ? event.seq : position;
        if (seq <= after) continue;
        if (events.length >= limit) {
          more = true;
          break;
        }
        events.push({ ...event, seq });
      }
    } finally {
      await handle.close();
    }
    const last = events.at(-1)?.seq;
    return { events, ...(more && last !== undefined ? { next: last } : {}) };
  }

  /** The record (Markdown and JSON) and every diagnostics chart, regular files only. */
  async list(folder: IncidentFolder): Promise<DocumentInfo[]> {
    const documents: DocumentInfo[] = [];
    const add = async (name: string, kind: DocumentKind, contentType: string): Promise<void> => {
      const info = await lstat(path.join(folder.dir, ...name.split('/'))).catch(() => undefined);
      // A symbolic link is never listed, so never served.
      if (!info?.isFile()) return;
      documents.push({
        name,
        kind,
        contentType,
        bytes: info.size,
        modifiedAt: info.mtime.toISOString(),
      });
    };
    for (const [name, type] of Object.entries(RECORD_DOCUMENTS)) await add(name, 'record', type);
    const diagnostics = path.join(folder.dir, 'diagnostics');
    // A linked diagnostics folder would list files from elsewhere: it is passed over.
    const isFolder = (await lstat(diagnostics).catch(() => undefined))?.isDirectory() ?? false;
    const collections = isFolder ? await readdir(diagnostics, { withFileTypes: true }) : [];
    for (const collection of collections.filter((c) => c.isDirectory()).sort(byName)) {
      const files = await readdir(path.join(diagnostics, collection.name), { withFileTypes: true });
      for (const file of files.filter((f) => f.isFile() && f.name.endsWith('.svg')).sort(byName)) {
        await add(`diagnostics/${collection.name}/${file.name}`, 'chart', SVG_TYPE);
      }
    }
    return documents;
  }

  /**
   * One listed document's content; undefined for a name the listing does not hold or whose
   * real path leaves the incident's folder.
   */
  async read(
    folder: IncidentFolder,
    name: string,
  ): Promise<{ document: DocumentInfo; content: Buffer } | undefined> {
    const document = (await this.list(folder)).find((d) => d.name === name);
    if (!document) return undefined;
    const base = await realpath(folder.dir);
    const real = await realpath(path.join(folder.dir, ...document.name.split('/'))).catch(() => undefined);
    if (!real || !real.startsWith(`${base}${path.sep}`)) return undefined;
    return { document, content: await readFile(real) };
  }
}

function byName(a: { name: string }, b: { name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
