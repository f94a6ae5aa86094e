/**
 * The chart is a picture of outside data: label values, expressions and titles are inert
 * text in it whatever they contain, the document stays well-formed, its size is bounded,
 * and the same input always gives the same bytes.
 */
import { describe, expect, it } from 'vitest';
import {
  formatValue,
  renderChart,
  seriesName,
  xmlEscape,
  type ChartSeries,
} from '../../activities/diagnostics/chart';

const HOSTILE = [
  '</text><script>alert(1)</script>',
  '"><image href="https://evil.example/x.png" onload="alert(1)"/>',
  "' onmouseover='alert(1)",
  '<![CDATA[ ]]> <!-- -->',
  '&lt;already&gt; &amp; &#x3C;',
  '<?xml-stylesheet href="https://evil.example/s.css"?>',
  'control\u0000\u0001\u0008\u000b\u000c\u001f chars \uFFFE\uFFFF \uD800 lone',
  '🙂 漢字 é',
];

const ELEMENTS = new Set(['svg', 'title', 'rect', 'text', 'line', 'polyline', 'circle']);
const ATTRIBUTES = new Set(
  (
    'xmlns width height viewBox role aria-label font-family font-size font-weight x y x1 y1 x2 y2 ' +
    'cx cy r fill stroke stroke-width stroke-dasharray text-anchor dominant-baseline points class data-series'
  ).split(' '),
);

/**
 * A strict reading of the SVG: every tag is one the renderer writes, attributes are quoted
 * and hold no markup, text holds no markup or bare ampersand, tags nest, and no character
 * XML forbids appears anywhere.
 */
function checkWellFormed(svg: string): void {
  expect(svg).not.toMatch(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u);
  const stack: string[] = [];
  const token = /<(\/?)([a-zA-Z]+)((?:\s+[a-zA-Z][a-zA-Z0-9-]*="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let match: RegExpExecArray | null;
  let consumed = 0;
  while ((match = token.exec(svg)) !== null) {
    consumed = token.lastIndex;
    const [, closing, name, attributes, selfClosing, text] = match;
    if (text !== undefined) {
      expect(text).not.toMatch(/[<>]/);
      expect(text).not.toMatch(/&(?!(amp|lt|gt|quot|apos);)/);
      continue;
    }
    expect(ELEMENTS.has(name as string)).toBe(true);
    expect(attributes ?? '').not.toMatch(/&(?!(amp|lt|gt|quot|apos);)/);
    // Only attributes the renderer writes: no event handler, no link, whatever the values say.
    for (const [, attribute] of (attributes ?? '').matchAll(/\s+([a-zA-Z][a-zA-Z0-9-]*)="/g)) {
      expect(ATTRIBUTES.has(attribute as string)).toBe(true);
    }
    if (closing) expect(stack.pop()).toBe(name);
    else if (!selfClosing) stack.push(name as string);
  }
  expect(consumed).toBe(svg.length);
  expect(stack).toEqual([]);
}

function series(
  labels: Record<string, string>,
  values: (number | null)[],
  start = 1_700_000_000,
): ChartSeries {
  return { labels, points: values.map((v, i) => [start + i * 15, v]) };
}

describe('renderChart', () => {
  it('keeps hostile label values, titles and subtitles inert and the document well-formed', () => {
    const svg = renderChart({
      title: HOSTILE.join(' '),
      subtitle: HOSTILE.join(' '),
      series: HOSTILE.map((value, i) =>
        series({ [`l${i}`]: value, __name__: value }, [i, i + 1, null, i + 2]),
      ),
      threshold: { op: '>', value: 2 },
    });
    checkWellFormed(svg);
    expect(svg).not.toContain('<script');
    expect(svg).not.toContain('<image');
    expect(svg).not.toContain('<![CDATA[');
    expect(svg).not.toContain('<?xml-stylesheet');
    expect(svg).toContain('&lt;/text&gt;&lt;script&gt;');
    expect(svg).toContain('🙂 漢字 é');
  });

  it('draws one line per run of values, a dashed threshold line, and a legend per series', () => {
    const svg = renderChart({
      title: 'QueueTooDeep',
      series: [series({ queue: 'a' }, [1, 2, 3, null, 5, 6]), series({ queue: 'b' }, [4, 4, 4, 4, 4, 4])],
      threshold: { op: '>=', value: 3.5 },
    });
    checkWellFormed(svg);
    const lines = [...svg.matchAll(/<polyline data-series="(\d)"[^>]* points="([^"]*)"/g)];
    expect(lines.map((m) => [m[1], (m[2] as string).split(' ').length])).toEqual([
      ['0', 3],
      ['0', 2],
      ['1', 6],
    ]);
    expect(svg).toMatch(/<line class="threshold"[^>]*stroke-dasharray/);
    expect(svg).toContain('{queue=&quot;a&quot;}');
    expect(svg).toContain('{queue=&quot;b&quot;}');
    expect(svg).toContain('threshold: fires when value &gt;= 3.5');
  });

  it('puts higher values higher, and the threshold between them', () => {
    const svg = renderChart({ title: 't', series: [series({}, [1, 10])], threshold: { op: '>', value: 5 } });
    const [first, last] = /points="([^"]*)"/
      .exec(svg)![1]!
      .split(' ')
      .map((p) => Number(p.split(',')[1]));
    const thresholdY = Number(/class="threshold" x1="[\d.]+" y1="([\d.]+)"/.exec(svg)![1]);
    expect(last).toBeLessThan(thresholdY);
    expect(thresholdY).toBeLessThan(first!);
  });

  it('labels the time axis in UTC', () => {
    const start = Date.parse('2026-03-01T11:00:00Z') / 1000;
    const svg = renderChart({
      title: 't',
      series: [series({}, [1, 2], start)],
      window: { start, end: start + 3600 },
    });
    expect(svg).toContain('>11:00<');
    expect(svg).toContain('>12:00<');
    expect(svg).toContain('time (UTC), 2026-03-01');
  });

  it('says so when there is nothing to draw', () => {
    const svg = renderChart({ title: 'Empty', series: [], window: { start: 0, end: 3600 } });
    checkWellFormed(svg);
    expect(svg).toContain('no data in this window');
    expect(svg).not.toContain('<polyline');
    const gaps = renderChart({ title: 'Gaps', series: [series({}, [null, null])] });
    expect(gaps).toContain('no data in this window');
  });

  it('draws a single point as a dot, and a flat line with room around it', () => {
    const svg = renderChart({ title: 't', series: [series({}, [0])] });
    checkWellFormed(svg);
    expect(svg).toContain('<circle');
    const flat = renderChart({ title: 't', series: [series({}, [7, 7, 7])] });
    expect(flat).not.toContain('NaN');
  });

  it('is bounded in series and text whatever comes in, and counts what it left out', () => {
    const many = Array.from({ length: 200 }, (_, i) =>
      series(
        { instance: `host-${i}-${'x'.repeat(10_000)}` },
        Array.from({ length: 300 }, (_, j) => j),
      ),
    );
    const svg = renderChart({ title: 'y'.repeat(100_000), series: many, maxSeries: 5 });
    checkWellFormed(svg);
    expect(new Set([...svg.matchAll(/data-series="(\d+)"/g)].map((m) => m[1])).size).toBe(5);
    expect(svg).toContain('and 195 more series, not drawn');
    expect(svg.length).toBeLessThan(60_000);
  });

  it('gives the same bytes for the same input', () => {
    const input = {
      title: 'Same',
      series: [series({ a: '1' }, [0.1, 0.2, 0.30000000000000004])],
      threshold: { op: '<' as const, value: 0.15 },
    };
    expect(renderChart(input)).toBe(renderChart(structuredClone(input)));
    expect(renderChart(input)).not.toContain('0.30000000000000004');
  });

  it('never writes NaN or Infinity for extreme values', () => {
    const svg = renderChart({ title: 't', series: [series({}, [-1.7e308, 1.7e308, Number.MIN_VALUE])] });
    expect(svg).not.toMatch(/NaN|Infinity/);
  });
});

describe('chart text helpers', () => {
  it('escapes the five markup characters and drops characters XML forbids', () => {
    expect(xmlEscape(`<a href="x">'&'</a>\u0000\uFFFF`)).toBe(
      '&lt;a href=&quot;x&quot;&gt;&apos;&amp;&apos;&lt;/a&gt;',
    );
  });

  it('names a series the way Prometheus does, quoting values', () => {
    expect(seriesName({ __name__: 'up', job: 'a"b' })).toBe('up{job="a\\"b"}');
    expect(seriesName({})).toBe('{}');
  });

  it.each([
    [0, '0'],
    [7, '7'],
    [0.1 + 0.2, '0.3'],
    [123456, '123500'],
    [1234567, '1.23e+6'],
    [0.0001234, '1.23e-4'],
    [-2.5, '-2.5'],
  ])('formats %s as %s', (value, text) => expect(formatValue(value)).toBe(text));
});
