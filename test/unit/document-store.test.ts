/** The API's read side of the incident store, over folders the worker's writer made. */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createDocumentationActivities } from '../../activities/documentation';
import type { IncidentStore, StoredFile } from '../../activities/store/incident-store';
import { DocumentStore, isStoredId } from '../../api/documents';
import { recordHtml } from '../../api/record-html';
import type { TimelineEvent } from '../../workflows/incident/state';
import { plainIncident } from './plain-incident';

async function storeWith(title = 'Payments API error rate above 5%') {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'baton-store-'));
  const { state } = plainIncident({ input: { title } });
  const events: TimelineEvent[] = Array.from({ length: 5 }, (_, i) => ({
    seq: i + 1,
    at: `2026-11-26T10:0${i}:00.000Z`,
    actor: 'alice',
    kind: 'action',
    summary: `step ${i + 1}`,
  }));
  const folder = await createDocumentationActivities({
    dir: path.join(dataDir, 'incidents'),
  }).writeIncidentRecord({ record: { ...state, timeline: [] }, events });
  return { dataDir, folder, state, store: new DocumentStore(dataDir) };
}

describe('the document store', () => {
  it('finds an incident by its id and pages its timeline by seq', async () => {
    const { store, state } = await storeWith();
    const found = await store.find(state.id);
    expect(found?.record.team).toBe('payments');
    if (!found) return;
    expect((await store.timeline(found, 0, 2)).events.map((e) => e.seq)).toEqual([1, 2]);
    expect((await store.timeline(found, 0, 2)).next).toBe(2);
    expect(await store.timeline(found, 4, 2)).toMatchObject({ events: [{ seq: 5 }] });
    expect((await store.timeline(found, 4, 2)).next).toBeUndefined();
  });

  it('refuses ids that are not plain names, and folders whose record names another incident', async () => {
    for (const id of ['..', '../x', '/etc', 'a/b', '.hidden', 'a b', 'x'.repeat(201), '']) {
      expect(isStoredId(id), id).toBe(false);
    }
    const { store, state, dataDir } = await storeWith();
    // A folder whose name is not the one its record's id and opening time give is passed over.
    const forged = path.join(dataDir, 'incidents', 'forged-20260101T000000Z');
    mkdirSync(forged);
    writeFileSync(path.join(forged, 'record.json'), JSON.stringify({ ...state, id: 'forged' }));
    expect(await store.find('forged')).toBeUndefined();
    expect(await store.find('nope')).toBeUndefined();
  });

  it('lists no linked file or folder, and serves only what it lists', async () => {
    const { store, state, dataDir, folder } = await storeWith();
    const outside = path.join(dataDir, 'outside');
    mkdirSync(path.join(outside, 'c'), { recursive: true });
    writeFileSync(path.join(outside, 'c', 'x.svg'), '<svg/>');
    symlinkSync(outside, path.join(folder, 'diagnostics'));
    const found = await store.find(state.id);
    if (!found) throw new Error('not found');
    expect((await store.list(found)).map((d) => d.name)).toEqual(['record.md', 'record.json']);
    expect(await store.read(found, 'diagnostics/c/x.svg')).toBeUndefined();
    expect(await store.read(found, '../outside/c/x.svg')).toBeUndefined();
    expect((await store.read(found, 'record.md'))?.content.toString()).toBe(
      readFileSync(path.join(folder, 'record.md'), 'utf8'),
    );
  });

  it('renders the record as HTML in which nothing typed becomes markup', async () => {
    const { store, state } = await storeWith('<b>x</b> &lt;i&gt; **y** [z](javascript:1)');
    const found = await store.find(state.id);
    if (!found) throw new Error('not found');
    const md = (await store.read(found, 'record.md'))?.content.toString() ?? '';
    const html = recordHtml(md, state.title);
    expect(html).toContain('<h1>&lt;b&gt;x&lt;/b&gt; &amp;lt;i&amp;gt; **y** [z](javascript:1)</h1>');
    expect(html).toContain('<title>&lt;b&gt;x&lt;/b&gt; &amp;lt;i&amp;gt; **y** [z](javascript:1)</title>');
    expect(html).not.toMatch(/<(b|i|a)[ >]/);
    expect(html).toContain('<tr><th></th><th></th></tr>');
    expect(html).toContain('<li>2026-11-26T10:04:00.000Z <strong>action</strong> alice: step 5</li>');
  });

  it('runs over any store that implements the interface', async () => {
    const store = new MemoryStore();
    const { state } = plainIncident();
    const events: TimelineEvent[] = [
      { seq: 1, at: state.openedAt, actor: 'alice', kind: 'note', summary: 'hi' },
    ];
    const resolved = {
      ...state,
      timeline: [],
      resolution: { summary: 'fixed', by: 'alice', at: '2026-11-26T11:00:00.000Z', automatic: false },
    };
    const where = await createDocumentationActivities({ dir: '/nowhere', store }).writeIncidentRecord({
      record: resolved,
      events,
    });
    expect(where).toBe('memory:inc-unit-20261126T100000Z');
    const documents = new DocumentStore('/nowhere', store);
    const found = await documents.find(state.id);
    if (!found) throw new Error('not found');
    expect((await documents.list(found)).map((d) => d.name)).toEqual([
      'record.md',
      'record.json',
      'report.md',
    ]);
    expect((await documents.read(found, 'report.md'))?.content.toString()).toContain('## Summary\n\nfixed');
    expect((await documents.timeline(found, 0, 10)).events).toEqual(events);
  });
});

/** The incident store in memory: what a team writes to keep incidents somewhere else. */
class MemoryStore implements IncidentStore {
  private readonly files_ = new Map<string, Map<string, Buffer>>();
  private folder(incident: string): Map<string, Buffer> {
    const folder = this.files_.get(incident) ?? new Map<string, Buffer>();
    this.files_.set(incident, folder);
    return folder;
  }
  write(incident: string, name: string, content: string | Uint8Array): Promise<void> {
    this.folder(incident).set(name, Buffer.from(content));
    return Promise.resolve();
  }
  append(incident: string, name: string, lines: string): Promise<void> {
    const before = this.folder(incident).get(name) ?? Buffer.alloc(0);
    this.folder(incident).set(name, Buffer.concat([before, Buffer.from(`${lines}\n`)]));
    return Promise.resolve();
  }
  read(incident: string, name: string): Promise<Buffer | undefined> {
    return Promise.resolve(this.files_.get(incident)?.get(name));
  }
  async tail(incident: string, name: string, bytes: number): Promise<string> {
    return ((await this.read(incident, name)) ?? Buffer.alloc(0)).subarray(-bytes).toString('utf8');
  }
  async *lines(incident: string, name: string): AsyncIterable<string> {
    const text = (await this.read(incident, name))?.toString('utf8') ?? '';
    for (const line of text.split('\n')) if (line) yield line;
  }
  files(incident: string): Promise<StoredFile[]> {
    const at = '2026-11-26T12:00:00.000Z';
    return Promise.resolve(
      [...(this.files_.get(incident) ?? [])].map(([name, b]) => ({ name, bytes: b.length, modifiedAt: at })),
    );
  }
  incidents(): Promise<string[]> {
    return Promise.resolve([...this.files_.keys()]);
  }
  where(incident: string): string {
    return `memory:${incident}`;
  }
}
