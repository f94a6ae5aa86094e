/**
 * The Elasticsearch search built from an alert: label values only ever as JSON values, a
 * time range around the alert, and hits read back into bounded, oldest-first log lines.
 */
import { describe, expect, it } from 'vitest';
import { parseHits, searchBody, searchFilters } from '../../activities/diagnostics/elasticsearch';

const FIELDS = { job: 'service.name', instance: 'host.name' };
const SETTINGS = {
  timeField: '@timestamp',
  messageField: 'message',
  fields: FIELDS,
  maxLineBytes: 16,
  lines: 3,
};

describe('searchFilters and searchBody', () => {
  it('filters on the mapped labels the alert has, values as they are', () => {
    const hostile = '" } }, { "match_all": {} } ] } } //';
    expect(searchFilters({ job: hostile, severity: 'critical' }, FIELDS)).toEqual([
      { term: { 'service.name': hostile } },
    ]);
    expect(searchFilters({ severity: 'critical', instance: '' }, FIELDS)).toBeUndefined();
  });

  it('asks for the newest lines in the window, sorted on the time field', () => {
    const body = searchBody(
      [{ term: { 'service.name': 'api' } }],
      { start: '2026-03-01T11:45:00.000Z', end: '2026-03-01T11:52:00.000Z' },
      { ...SETTINGS, timeField: '__proto__' },
    );
    // As JSON, the wire form: a field named __proto__ is a key like any other.
    expect(JSON.stringify(body)).toBe(
      JSON.stringify({
        size: 3,
        sort: [{ '@T': { order: 'desc' } }],
        track_total_hits: false,
        query: {
          bool: {
            filter: [
              { range: { '@T': { gte: '2026-03-01T11:45:00.000Z', lt: '2026-03-01T11:52:00.000Z' } } },
              { term: { 'service.name': 'api' } },
            ],
          },
        },
      }).replace(/@T/g, '__proto__'),
    );
  });
});

describe('parseHits', () => {
  it('reads flat and nested fields, oldest first, cut to size, passing over hits without a time or message', () => {
    const body = {
      hits: {
        hits: [
          {
            _source: {
              '@timestamp': '2026-03-01T11:50:03Z',
              message: 'third, and longer than sixteen',
              service: { name: 'api' },
            },
          },
          {
            _source: {
              '@timestamp': '2026-03-01T11:50:02Z',
              message: { structured: true },
              'service.name': 'api',
            },
          },
          { _source: { '@timestamp': 'not a time', message: 'x' } },
          { _source: { '@timestamp': '2026-03-01T11:50:01Z' } },
          { _source: { '@timestamp': 1772365800000, message: 'epoch millis' } },
        ],
      },
    };
    const answer = parseHits(body, { ...SETTINGS, lines: 10 }, 'test');
    expect(answer.lines.map((l) => [l.at, l.line, l.labels, l.cut])).toEqual([
      ['2026-03-01T11:50:00.000Z', 'epoch millis', {}, undefined],
      ['2026-03-01T11:50:02.000Z', '{"structured":tr', { 'service.name': 'api' }, true],
      ['2026-03-01T11:50:03.000Z', 'third, and longe', { 'service.name': 'api' }, true],
    ]);
  });

  it('keeps at most `lines` hits and counts the rest', () => {
    const hits = Array.from({ length: 10 }, (_, i) => ({
      _source: {
        '@timestamp': new Date(Date.UTC(2026, 2, 1, 12, 0, 10 - i)).toISOString(),
        message: `m${i}`,
      },
    }));
    const answer = parseHits({ hits: { hits } }, SETTINGS, 'test');
    expect(answer.lines.map((l) => l.line)).toEqual(['m2', 'm1', 'm0']);
    expect(answer.linesOmitted).toBe(7);
  });

  it('refuses an answer without hits', () => {
    expect(() => parseHits({ error: 'x' }, SETTINGS, 'test')).toThrow(
      expect.objectContaining({ kind: 'bad-response' }) as Error,
    );
  });
});
