import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/** Incident ids become folder and file names; anything else is replaced, so no id escapes the data folder. */
export function safeName(id: string): string {
  const cleaned = id.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return cleaned.slice(0, 200) || '_';
}

/**
 * A rename or a new file is durable only once its folder is synced. Linux syncs a folder
 * opened read-only; Windows cannot open one for that, and has no need.
 */
export async function syncFolder(folder: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Writes through a temporary file, synced, then renamed over the target, then the folder
 * synced: a reader never sees half a record, and after a crash the file is the old one or
 * the new one, never an empty or torn one.
 */
export async function writeFileAtomic(file: string, content: string | Uint8Array): Promise<void> {
  const folder = path.dirname(file);
  await mkdir(folder, { recursive: true });
  const temporary = `${file}.${randomUUID()}.tmp`;
  try {
    const handle = await open(temporary, 'wx');
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
  await syncFolder(folder);
}

/** The append under way (or last finished) for each file, so the next one starts after it. */
const appending = new Map<string, Promise<void>>();

/**
 * Appends one line (JSONL; several lines joined with \n go as one batch): the whole text in one
 * O_APPEND write, then fsync, so it is on disk when this resolves and a crash can at worst
 * tear the last line. Appends to one file from this process run one after the other, so two
 * lines are never interleaved or merged.
 */
export function appendLine(file: string, line: string): Promise<void> {
  const key = path.resolve(file);
  const previous = appending.get(key) ?? Promise.resolve();
  // The next line is written whether or not the previous append failed.
  const next = previous.then(
    () => appendNow(key, line),
    () => appendNow(key, line),
  );
  appending.set(key, next);
  const forget = (): void => {
    if (appending.get(key) === next) appending.delete(key);
  };
  next.then(forget, forget);
  return next;
}

async function appendNow(file: string, line: string): Promise<void> {
  const folder = path.dirname(file);
  await mkdir(folder, { recursive: true });
  const handle = await open(file, 'a+');
  let size: number;
  try {
    ({ size } = await handle.stat());
    // A line torn by a crash stays a line of its own: the next one starts on a fresh line.
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    const data = Buffer.from(`${prefix}${line}\n`, 'utf8');
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await handle.write(data, written, data.length - written, null);
      written += bytesWritten;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  // A new file exists for good only once its folder is synced.
  if (size === 0) await syncFolder(folder);
}

/**
 * The lines of a JSONL file that parse, in order; a missing file has none. A line that does
 * not parse (the torn tail of a crash) is skipped and counted, never fatal.
 */
export function parseJsonLines(text: string): { values: unknown[]; skipped: number } {
  const values: unknown[] = [];
  let skipped = 0;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      values.push(JSON.parse(line));
    } catch {
      skipped += 1;
    }
  }
  return { values, skipped };
}

/** Whether a file system error says the file (or a folder on its path) is not there. */
export function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
