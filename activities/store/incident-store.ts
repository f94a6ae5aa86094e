/**
 * The incident store: one folder of files per incident (`record.md`, `record.json`,
 * `timeline.jsonl`, the documents, `diagnostics/...`). Everything that writes or reads it goes
 * through this interface, so a team that keeps incidents elsewhere (an object store, a shared
 * volume with its own locking) implements these few calls and passes its store to
 * `createDocumentationActivities`, `writeDiagnostics` and `DocumentStore`.
 *
 * An incident is named by its folder name (see `recordFolderName`); a file by its path inside
 * the incident's folder, with `/` (`diagnostics/<time>-<occasion>/x.svg`). Names are plain:
 * segments of letters, digits, `.`, `_` and `-`, never `.` or `..`.
 */
import { lstat, open, readdir, readFile, realpath } from 'node:fs/promises';
import path from 'node:path';
import { appendLine, writeFileAtomic } from '../files';

export interface StoredFile {
  /** Relative to the incident's folder, with `/`. */
  name: string;
  bytes: number;
  modifiedAt: string;
}

export interface IncidentStore {
  /** Writes a whole file: a reader sees the old content or the new one, never a part. */
  write(incident: string, name: string, content: string | Uint8Array): Promise<void>;
  /** Appends text as whole lines (several joined with `\n` go as one batch), durable when it resolves. */
  append(incident: string, name: string, lines: string): Promise<void>;
  /** A file's content; undefined when there is no such regular file. */
  read(incident: string, name: string): Promise<Buffer | undefined>;
  /** The last `bytes` of a file as text (its first line may be cut); empty when there is none. */
  tail(incident: string, name: string, bytes: number): Promise<string>;
  /** A file's lines one by one, for files too long to read whole; none when there is no file. */
  lines(incident: string, name: string): AsyncIterable<string>;
  /** The incident's regular files, sorted by name; links are never listed. */
  files(incident: string): Promise<StoredFile[]>;
  /** The incidents' folder names, in no particular order. */
  incidents(): Promise<string[]>;
  /** Where the incident's files are, for people and logs (a folder, a URL). */
  where(incident: string): string;
}

/** No segment starts with a dot: `.`, `..` and hidden files are never names. */
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,254}$/;

/** A plain relative name's segments; undefined for anything that could leave a folder. */
export function nameSegments(name: string): string[] | undefined {
  const segments = name.split('/');
  return segments.every((s) => SEGMENT.test(s)) ? segments : undefined;
}

function isIncidentName(name: string): boolean {
  return SEGMENT.test(name);
}

function missing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** Folders below an incident's that `files` descends into (`diagnostics/<collection>/`). */
const MAX_DEPTH = 3;

/**
 * The default store: a folder per incident under `root` (`<dataDir>/incidents`). Writes are
 * atomic renames and synced appends (activities/files.ts). Reads refuse what could lead out
 * of the incident's folder: a name that is not plain, a linked file or folder, a real path
 * outside the folder.
 */
export class LocalFolderStore implements IncidentStore {
  readonly root: string;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  where(incident: string): string {
    return path.join(this.root, incident);
  }

  /** The file's path; throws for a name that is not plain, which only a bug would pass. */
  private pathOf(incident: string, name: string): string {
    const segments = nameSegments(name);
    if (!isIncidentName(incident) || !segments) {
      throw new Error(`not a plain name in the incident store: ${JSON.stringify(`${incident}/${name}`)}`);
    }
    return path.join(this.root, incident, ...segments);
  }

  async write(incident: string, name: string, content: string | Uint8Array): Promise<void> {
    await writeFileAtomic(this.pathOf(incident, name), content);
  }

  async append(incident: string, name: string, lines: string): Promise<void> {
    await appendLine(this.pathOf(incident, name), lines);
  }

  /** The path when it is a regular file whose real path stays inside the incident's folder. */
  private async inside(incident: string, name: string): Promise<string | undefined> {
    if (!nameSegments(name) || !isIncidentName(incident)) return undefined;
    const file = this.pathOf(incident, name);
    const info = await lstat(file).catch(() => undefined);
    if (!info?.isFile()) return undefined;
    const base = await realpath(path.join(this.root, incident)).catch(() => undefined);
    const real = await realpath(file).catch(() => undefined);
    if (!base || !real || !real.startsWith(`${base}${path.sep}`)) return undefined;
    return real;
  }

  async read(incident: string, name: string): Promise<Buffer | undefined> {
    const file = await this.inside(incident, name);
    if (!file) return undefined;
    try {
      return await readFile(file);
    } catch (err) {
      if (missing(err)) return undefined;
      throw err;
    }
  }

  async tail(incident: string, name: string, bytes: number): Promise<string> {
    const file = await this.inside(incident, name);
    if (!file) return '';
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      const length = Math.min(size, bytes);
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, size - length);
      return buffer.toString('utf8');
    } finally {
      await handle.close();
    }
  }

  async *lines(incident: string, name: string): AsyncIterable<string> {
    const file = await this.inside(incident, name);
    if (!file) return;
    const handle = await open(file, 'r');
    try {
      for await (const line of handle.readLines({ encoding: 'utf8' })) yield line;
    } finally {
      await handle.close();
    }
  }

  async files(incident: string): Promise<StoredFile[]> {
    if (!isIncidentName(incident)) return [];
    const found: StoredFile[] = [];
    const walk = async (folder: string, prefix: string, depth: number): Promise<void> => {
      let entries;
      try {
        entries = await readdir(folder, { withFileTypes: true });
      } catch (err) {
        if (missing(err)) return;
        throw err;
      }
      for (const entry of entries) {
        // A dirent is never a directory or a file when it is a link: links are passed over.
        if (!nameSegments(entry.name)) continue;
        const name = `${prefix}${entry.name}`;
        if (entry.isDirectory() && depth < MAX_DEPTH) {
          await walk(path.join(folder, entry.name), `${name}/`, depth + 1);
        } else if (entry.isFile()) {
          const info = await lstat(path.join(folder, entry.name)).catch(() => undefined);
          if (info?.isFile()) {
            found.push({ name, bytes: info.size, modifiedAt: info.mtime.toISOString() });
          }
        }
      }
    };
    const top = await lstat(path.join(this.root, incident)).catch(() => undefined);
    if (top?.isDirectory()) await walk(path.join(this.root, incident), '', 0);
    return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async incidents(): Promise<string[]> {
    try {
      const entries = await readdir(this.root, { withFileTypes: true });
      return entries.filter((e) => e.isDirectory() && isIncidentName(e.name)).map((e) => e.name);
    } catch (err) {
      if (missing(err)) return [];
      throw err;
    }
  }
}
