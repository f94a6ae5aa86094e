/**
 * The log query built from an alert: a selector that stays one selector whatever the label
 * values hold, a window around the alert's start, and an answer cut to its line and byte caps.
 */
import { describe, expect, it } from 'vitest';
import {
  cutLine,
  logqlString,
  logWindow,
  lokiSelector,
  parseStreams,
} from '../../activities/diagnostics/loki';

const SETTINGS = { selectorLabels: ['job', 'service', 'app', 'namespace', 'instance'], labelMap: {} };

describe('logqlString', () => {
  // Checked once against Go's strconv.Unquote, which Loki's parser uses: every one round-trips.
  it.each([
    ['plain', '"plain"'],
    ['a"b', '"a\\"b"'],
    ['back\\slash', '"back\\\\slash"'],
    ['new\nline\r\t', '"new\\nline\\r\\t"'],
    ['"} |= "x', '"\\"} |= \\"x"'],
    ['\u0001\u007f', '"\\x01\\x7f"'],
    ['é漢字🙂', '"é漢字🙂"'],
    ['`raw`', '"`raw`"'],
  ])('quotes %j as %s', (value, quoted) => expect(logqlString(value)).toBe(quoted));

  it('reads back as the value (the JSON-compatible escapes)', () => {
    for (const value of ['a"b', 'x\\y', 'l1\nl2', '"} or {job=~".+"}']) {
      expect(JSON.parse(logqlString(value))).toBe(value);
    }
  });
});

describe('lokiSelector', () => {
  it('uses the configured labels the alert has, in the configured order', () => {
    expect(
      lokiSelector(
        { alertname: 'X', severity: 'critical', instance: 'a:9100', job: 'api', namespace: 'prod' },
        SETTINGS,
      ),
    ).toBe('{job="api", namespace="prod", instance="a:9100"}');
  });

  it('renames labels the log pipeline calls otherwise', () => {
    expect(
      lokiSelector(
        { job: 'api', instance: 'a:9100' },
        { ...SETTINGS, labelMap: { instance: 'host', job: 'service_name' } },
      ),
    ).toBe('{service_name="api", host="a:9100"}');
  });

  it('keeps a hostile value inside its matcher', () => {
    const selector = lokiSelector({ job: '"} |= "secret" or {job=~".+' }, SETTINGS);
    expect(selector).toBe('{job="\\"} |= \\"secret\\" or {job=~\\".+"}');
  });

  it('builds nothing from an alert with none of the labels, or only empty ones', () => {
    expect(lokiSelector({ alertname: 'X', severity: 'critical' }, SETTINGS)).toBeUndefined();
    expect(lokiSelector({ job: '' }, SETTINGS)).toBeUndefined();
    expect(lokiSelector({ constructor: 'x' }, { ...SETTINGS, selectorLabels: ['toString'] })).toBeUndefined();
  });
});

describe('logWindow', () => {
  const now = new Date('2026-03-01T12:00:00Z');
  it('reaches from before the alert to after it, in nanoseconds, never past now', () => {
    expect(logWindow({ now, startsAt: '2026-03-01T11:00:00Z', beforeMs: 900_000, afterMs: 300_000 })).toEqual(
      {
        startNs: String(Date.parse('2026-03-01T10:45:00Z')) + '000000',
        endNs: String(Date.parse('2026-03-01T11:05:00Z')) + '000000',
      },
    );
    expect(
      logWindow({ now, startsAt: '2026-03-01T11:59:00Z', beforeMs: 900_000, afterMs: 300_000 }).endNs,
    ).toBe(String(now.getTime()) + '000000');
  });

  it('takes now for a missing, bad or future start', () => {
    const atNow = logWindow({ now, beforeMs: 60_000, afterMs: 60_000 });
    expect(atNow.endNs).toBe(String(now.getTime()) + '000000');
    expect(logWindow({ now, startsAt: 'nonsense', beforeMs: 60_000, afterMs: 60_000 })).toEqual(atNow);
    expect(logWindow({ now, startsAt: '2030-01-01T00:00:00Z', beforeMs: 60_000, afterMs: 60_000 })).toEqual(
      atNow,
    );
  });
});

describe('cutLine', () => {
  it('cuts at a character boundary within the byte limit', () => {
    expect(cutLine('short', 10)).toEqual({ text: 'short', cut: false });
    const { text, cut } = cutLine('ab🙂cd', 4);
    expect(cut).toBe(true);
    expect(text).toBe('ab');
    expect(cutLine('é'.repeat(100), 51).text).toBe('é'.repeat(25));
  });
});

function streams(result: { stream: Record<string, string>; values: unknown[] }[]): unknown {
  return { status: 'success', data: { resultType: 'streams', result, stats: {} } };
}

describe('parseStreams', () => {
  const limits = { maxLines: 3, maxLineBytes: 16, direction: 'backward' as const };
  const body = streams([
    {
      stream: { job: 'api', pod: 'a' },
      values: [
        ['1700000000000000004', 'a4'],
        ['1700000000000000001', 'a1'],
      ],
    },
    {
      stream: { job: 'api', pod: 'b' },
      values: [
        ['1700000000000000005', 'b5 with a line far longer than sixteen bytes'],
        ['1700000000000000002', 'b2', { trace_id: 'x' }],
        ['not-a-time', 'junk'],
        'junk',
      ],
    },
  ]);

  it('merges the streams oldest first, keeps the newest lines going backward, and cuts long ones', () => {
    const answer = parseStreams(body, limits, 'test');
    expect(answer.lines.map((l) => l.line)).toEqual(['b2', 'a4', 'b5 with a line f']);
    expect(answer.lines[2]).toMatchObject({ cut: true, labels: { job: 'api', pod: 'b' } });
    expect(answer.lines[0]).toEqual({
      at: '2023-11-14T22:13:20.000Z',
      ns: '1700000000000000002',
      line: 'b2',
      labels: { job: 'api', pod: 'b' },
    });
    expect(answer.linesOmitted).toBe(1);
  });

  it('keeps the oldest lines going forward', () => {
    const answer = parseStreams(body, { ...limits, direction: 'forward' }, 'test');
    expect(answer.lines.map((l) => l.line)).toEqual(['a1', 'b2', 'a4']);
  });

  it.each([
    [null],
    [{ status: 'success', data: { resultType: 'matrix', result: [] } }],
    [{ status: 'error' }],
  ])('refuses %j as a bad response', (bad) => {
    expect(() => parseStreams(bad, limits, 'Loki')).toThrow(
      expect.objectContaining({ kind: 'bad-response' }) as Error,
    );
  });
});
