/** The files Baton writes survive a crash whole: atomic replacement, and JSONL lines never merged. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { appendLine, parseJsonLines, writeFileAtomic } from '../../activities/files';
import { DeliveryLedger } from '../../activities/ledger';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'baton-files-'));

describe('writeFileAtomic', () => {
  it('replaces the file whole, creating its folder, and leaves no temporary file behind', async () => {
    const dir = tmp();
    const file = path.join(dir, 'a', 'b', 'record.json');
    await writeFileAtomic(file, 'first\n');
    await writeFileAtomic(file, 'second\n');
    expect(readFileSync(file, 'utf8')).toBe('second\n');
    expect(readdirSync(path.dirname(file))).toEqual(['record.json']);
  });

  it('removes its temporary file when the rename fails', async () => {
    const dir = tmp();
    // A folder where the file should go: the rename over it fails.
    const file = path.join(dir, 'taken');
    await writeFileAtomic(path.join(file, 'inner'), 'x');
    await expect(writeFileAtomic(file, 'y')).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(readdirSync(dir)).toEqual(['taken']);
  });
});

describe('appendLine', () => {
  it('keeps concurrent appends to one file as whole lines, in the order they were asked for', async () => {
    const file = path.join(tmp(), 'outbox', 'inc.jsonl');
    // Lines well past a pipe buffer, so a split write would show.
    const lines = Array.from({ length: 60 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(70_000 + i) }));
    await Promise.all(lines.map((line) => appendLine(file, line)));
    const text = readFileSync(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const { values, skipped } = parseJsonLines(text);
    expect(skipped).toBe(0);
    expect(values.map((v) => (v as { i: number }).i)).toEqual(lines.map((_, i) => i));
  });

  it('appends to a file again after an append to it failed, a batch of lines in one go', async () => {
    const dir = tmp();
    const blocker = path.join(dir, 'later');
    writeFileSync(blocker, 'a file where the folder belongs');
    const file = path.join(blocker, 'x.jsonl');
    await expect(appendLine(file, '{"a":1}')).rejects.toThrow(/EEXIST|ENOTDIR/);
    rmSync(blocker);
    await appendLine(file, '{"b":2}\n{"c":3}');
    expect(readFileSync(file, 'utf8')).toBe('{"b":2}\n{"c":3}\n');
  });

  it('starts a fresh line after a line torn by a crash, so the next line is not lost with it', async () => {
    const file = path.join(tmp(), 'torn.jsonl');
    writeFileSync(file, '{"whole":1}\n{"torn":');
    await appendLine(file, '{"next":2}');
    expect(readFileSync(file, 'utf8')).toBe('{"whole":1}\n{"torn":\n{"next":2}\n');
    expect(parseJsonLines(readFileSync(file, 'utf8'))).toEqual({
      values: [{ whole: 1 }, { next: 2 }],
      skipped: 1,
    });
  });
});

describe('DeliveryLedger', () => {
  it('reads back what it recorded, per notification, through a torn last line', async () => {
    const ledger = new DeliveryLedger(path.join(tmp(), 'deliveries'));
    await ledger.recordAnswer('inc/1', 'n1', { channel: 'slack', target: '#a', delivered: true });
    await ledger.recordAnswer('inc/1', 'n1', {
      channel: 'email',
      target: 'a@x',
      delivered: false,
      error: 'SMTP 550',
    });
    await ledger.recordOutbox('inc/1', 'n1');
    expect(ledger.fileFor('inc/1')).toMatch(/deliveries\/inc_1\.jsonl$/);
    writeFileSync(
      ledger.fileFor('inc/1'),
      `${readFileSync(ledger.fileFor('inc/1'), 'utf8')}{"notificationId":"n1","chan`,
    );

    const record = await ledger.read('inc/1', 'n1');
    expect([...record.answers.values()]).toEqual([
      { channel: 'slack', target: '#a', delivered: true },
      { channel: 'email', target: 'a@x', delivered: false, error: 'SMTP 550' },
    ]);
    expect(record.outboxWritten).toBe(true);
    expect(record.skipped).toBe(1);
    expect((await ledger.read('inc/2', 'n1')).answers.size).toBe(0);
  });
});
