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
import path from 'node:path';
import { recordFolderName } from '../activities/documentation';
import { HANDOVER_NAME } from '../activities/documents/handover';
import { safeName } from '../activities/files';
import { LocalFolderStore, type IncidentStore, type StoredFile } from '../activities/store/incident-store';
import type { IncidentState, TimelineEvent } from '../workflows/incident/state';

export type DocumentKind = 'record' | 'report' | 'handover' | 'lessons' | 'communications' | 'chart';

export interface DocumentInfo {
  /** Relative to the incident's folder, with `/`: `record.md`, `diagnostics/<time>-<occasion>/x.svg`. */
  name: string;
  kind: DocumentKind;
  contentType: string;
  bytes: number;
  modifiedAt: string;
}

export interface IncidentFolder {
  /** The incident's folder name in the store. */
  name: string;
  /** The record as last written (its team decides who may read the folder). */
  record: IncidentState;
}

export interface TimelinePage {
  /** Each with its `seq`. */
  events: (TimelineEvent & { seq: number })[];
  /** The `after` for the next page; absent on the last one. */
  next?: number;
}

export const MARKDOWN_TYPE = 'text/markdown; charset=utf-8';
export const SVG_TYPE = 'image/svg+xml';

/** The documents Baton writes at the folder's top, in the order they are listed. */
const TOP_DOCUMENTS: Record<string, { kind: DocumentKind; contentType: string }> = {
  'record.md': { kind: 'record', contentType: MARKDOWN_TYPE },
  'record.json': { kind: 'record', contentType: 'application/json; charset=utf-8' },
  'report.md': { kind: 'report', contentType: MARKDOWN_TYPE },
  'lessons.md': { kind: 'lessons', contentType: MARKDOWN_TYPE },
  'communications.md': { kind: 'communications', contentType: MARKDOWN_TYPE },
};
const CHART = /^diagnostics\/[^/]+\/[^/]+\.svg$/;

/** The folder stamp recordFolderName appends: `20260301T120000Z` (with or without a fraction cut). */
const STAMP = /^\d{8}T\d{6}Z$/;

/** An id the store can hold: what safeName keeps unchanged, nothing that walks out of a folder. */
export function isStoredId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/.test(id) && safeName(id) === id && !id.includes('..');
}

export class DocumentStore {
  private readonly store: IncidentStore;

  /** Over `<dataDir>/incidents` on the local disk, unless another store is given. */
  constructor(dataDir: string, store?: IncidentStore) {
    this.store = store ?? new LocalFolderStore(path.resolve(dataDir, 'incidents'));
  }

  private async readJson(incident: string, name: string): Promise<unknown> {
    const content = await this.store.read(incident, name);
    if (!content) return undefined;
    try {
      return JSON.parse(content.toString('utf8')) as unknown;
    } catch {
      return undefined;
    }
  }

  /**
   * The incident's folder, or undefined for an id the store does not hold. An alert group
   * that fired again after its incident closed has a folder per opening under one id: the
   * newest opening answers, as the workflow does.
   */
  async find(id: string): Promise<IncidentFolder | undefined> {
    if (!isStoredId(id)) return undefined;
    const names = await this.store.incidents();
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
    const record = (await this.readJson(name, 'record.json')) as IncidentState | undefined;
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
    return { name, record };
  }

  /**
   * Every incident the store holds, one record per id (its newest opening), newest first.
   * Reads each folder's record.json: meant for listing archived incidents, not for every request.
   */
  async records(): Promise<IncidentState[]> {
    const names = await this.store.incidents();
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
    let position = 0;
    for await (const line of this.store.lines(folder.name, 'timeline.jsonl')) {
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
    const last = events.at(-1)?.seq;
    return { events, ...(more && last !== undefined ? { next: last } : {}) };
  }

  /**
   * The record (Markdown and JSON), the documents (report, handovers, lessons,
   * communications) and every diagnostics chart; regular files only, links never.
   */
  async list(folder: IncidentFolder): Promise<DocumentInfo[]> {
    const files = await this.store.files(folder.name);
    const info = (f: StoredFile, kind: DocumentKind, contentType: string): DocumentInfo => ({
      name: f.name,
      kind,
      contentType,
      bytes: f.bytes,
      modifiedAt: f.modifiedAt,
    });
    const byName = new Map(files.map((f) => [f.name, f]));
    const documents: DocumentInfo[] = [];
    for (const [name, { kind, contentType }] of Object.entries(TOP_DOCUMENTS)) {
      const file = byName.get(name);
      if (file) documents.push(info(file, kind, contentType));
    }
    const handovers = files
      .map((f) => ({ f, n: Number(HANDOVER_NAME.exec(f.name)?.[1] ?? NaN) }))
      .filter(({ n }) => Number.isInteger(n))
      .sort((a, b) => a.n - b.n);
    for (const { f } of handovers) documents.push(info(f, 'handover', MARKDOWN_TYPE));
    for (const f of files.filter((file) => CHART.test(file.name))) documents.push(info(f, 'chart', SVG_TYPE));
    return documents;
  }

  /**
   * One listed document's content; undefined for a name the listing does not hold, or one
   * the store refuses (a link, a real path outside the incident's folder).
   */
  async read(
    folder: IncidentFolder,
    name: string,
  ): Promise<{ document: DocumentInfo; content: Buffer } | undefined> {
    const document = (await this.list(folder)).find((d) => d.name === name);
    if (!document) return undefined;
    const content = await this.store.read(folder.name, document.name);
    return content ? { document, content } : undefined;
  }
}
