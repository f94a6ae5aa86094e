/**
 * A metric as a picture people can look at instead of read: a self-contained SVG (no script,
 * no font, nothing fetched) that an email, a Slack upload, a browser or the incident folder
 * shows the same way. Every word in it may come from outside (label values, expressions),
 * so all text is XML-escaped; the same input always gives the same bytes.
 */
import type { Threshold } from './promql';

export interface ChartSeries {
  labels: Record<string, string>;
  /** Unix seconds and value; null is a gap. */
  points: [number, number | null][];
}

export interface ChartInput {
  title: string;
  /** A second line under the title: the current value against the threshold, say. */
  subtitle?: string;
  series: ChartSeries[];
  threshold?: Threshold;
  /** The queried window in Unix seconds; the points' own range when absent. */
  window?: { start: number; end: number };
  /** Series drawn at most; more are counted in the legend. */
  maxSeries?: number;
}

const WIDTH = 720;
const PLOT_HEIGHT = 240;
const MARGIN = { left: 64, right: 20, top: 48, bottom: 36 };
const LEGEND_ROW = 16;
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const DEFAULT_MAX_SERIES = 8;
const MAX_TEXT = 110;

/**
 * Text for an XML text node or attribute: characters XML 1.0 forbids (most control
 * characters, lone surrogates, U+FFFE/U+FFFF) are dropped, since one of them makes the whole
 * document unreadable, and the five markup characters are escaped.
 */
export function xmlEscape(text: string): string {
  return text
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** Shortened by code points, so a cut never splits a character. */
function shorten(text: string, max = MAX_TEXT): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const chars = Array.from(flat);
  return chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : flat;
}

/** Prometheus' own notation: `{job="api", instance="a:9100"}`. */
export function seriesName(labels: Record<string, string>): string {
  const pairs = Object.entries(labels).filter(([name]) => name !== '__name__');
  const metric = Object.hasOwn(labels, '__name__') ? (labels.__name__ ?? '') : '';
  if (pairs.length === 0) return metric || '{}';
  return `${metric}{${pairs.map(([name, value]) => `${name}=${JSON.stringify(value)}`).join(', ')}}`;
}

/** Values read the same everywhere: four significant digits, exponents for the very large or small. */
export function formatValue(value: number): string {
  if (value === 0) return '0';
  const abs = Math.abs(value);
  if (abs >= 1e6 || abs < 1e-3) return value.toExponential(2).replace(/\.?0+e/, 'e');
  return String(Number(value.toPrecision(4)));
}

/** Ticks at 1, 2 or 5 times a power of ten, about `count` of them, covering [min, max]. */
function niceTicks(min: number, max: number, count = 5): { lo: number; hi: number; ticks: number[] } {
  // A range wider than the largest double (-1e308 to 1e308) has no nice steps: its ends will do.
  if (!Number.isFinite(max - min)) return { lo: min, hi: max, ticks: [min, max] };
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const lo = Math.floor(min / step) * step;
  const hi = Math.ceil(max / step) * step;
  const ticks: number[] = [];
  // Bounded whatever floating point does with extreme values.
  for (let i = 0; i <= 2 * count + 2 && lo + i * step <= hi + step / 2; i += 1) {
    ticks.push(Number((lo + i * step).toPrecision(12)));
  }
  return { lo, hi, ticks };
}

const TIME_STEPS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400,
];

function timeTicks(start: number, end: number): { ticks: number[]; stepSeconds: number } {
  const span = Math.max(1, end - start);
  const stepSeconds = TIME_STEPS.find((s) => span / s <= 7) ?? Math.ceil(span / 7 / 86400) * 86400;
  const ticks: number[] = [];
  for (let t = Math.ceil(start / stepSeconds) * stepSeconds; t <= end; t += stepSeconds) ticks.push(t);
  return { ticks, stepSeconds };
}

function timeLabel(seconds: number, stepSeconds: number): string {
  const iso = new Date(seconds * 1000).toISOString();
  return stepSeconds < 60 ? iso.slice(11, 19) : iso.slice(11, 16);
}

function valueRange(series: ChartSeries[], threshold?: Threshold): { min: number; max: number } | undefined {
  let min = Infinity;
  let max = -Infinity;
  for (const s of series) {
    for (const [, v] of s.points) {
      if (v === null || !Number.isFinite(v)) continue;
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
  }
  if (min === Infinity) return undefined;
  if (threshold && Number.isFinite(threshold.value)) {
    min = Math.min(min, threshold.value);
    max = Math.max(max, threshold.value);
  }
  if (min === max) {
    const pad = min === 0 ? 1 : Math.abs(min) * 0.1;
    return { min: min - pad, max: max + pad };
  }
  return { min, max };
}

function timeRange(series: ChartSeries[], window?: ChartInput['window']): { start: number; end: number } {
  if (window && window.end > window.start) return window;
  const times = series.flatMap((s) => s.points.map(([t]) => t));
  if (times.length === 0) return { start: 0, end: 1 };
  const start = Math.min(...times);
  const end = Math.max(...times);
  return end > start ? { start, end } : { start: start - 30, end: end + 30 };
}

/** Coordinates to a tenth of a pixel; a coordinate that is no number is drawn at 0, never written as NaN. */
const fixed = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '0.0');

/** The runs of consecutive points with values: a gap in the data is a gap in the line. */
function runs(points: ChartSeries['points']): [number, number][][] {
  const out: [number, number][][] = [];
  let current: [number, number][] = [];
  for (const [t, v] of points) {
    if (v === null || !Number.isFinite(v)) {
      if (current.length > 0) out.push(current);
      current = [];
    } else {
      current.push([t, v]);
    }
  }
  if (current.length > 0) out.push(current);
  return out;
}

export function renderChart(input: ChartInput): string {
  const maxSeries = input.maxSeries ?? DEFAULT_MAX_SERIES;
  const drawn = input.series.slice(0, maxSeries);
  const omitted = input.series.length - drawn.length;
  const legendRows = drawn.length + (omitted > 0 ? 1 : 0) + (input.threshold ? 1 : 0);
  const height = MARGIN.top + PLOT_HEIGHT + MARGIN.bottom + legendRows * LEGEND_ROW + 8;
  const plotRight = WIDTH - MARGIN.right;
  const plotBottom = MARGIN.top + PLOT_HEIGHT;
  const plotWidth = plotRight - MARGIN.left;

  const title = shorten(input.title);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${xmlEscape(title)}" font-family="sans-serif" font-size="11">`,
    `<title>${xmlEscape(title)}</title>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="20" font-size="14" font-weight="bold" fill="#222222">${xmlEscape(title)}</text>`,
  ];
  if (input.subtitle) {
    out.push(`<text x="${MARGIN.left}" y="38" fill="#444444">${xmlEscape(shorten(input.subtitle))}</text>`);
  }

  const values = valueRange(drawn, input.threshold);
  const time = timeRange(drawn, input.window);
  out.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotWidth}" height="${PLOT_HEIGHT}" fill="none" stroke="#999999"/>`,
  );

  const x = (t: number): number => MARGIN.left + ((t - time.start) / (time.end - time.start)) * plotWidth;
  const { ticks: tTicks, stepSeconds } = timeTicks(time.start, time.end);
  for (const t of tTicks) {
    const px = fixed(x(t));
    out.push(
      `<line x1="${px}" y1="${MARGIN.top}" x2="${px}" y2="${plotBottom}" stroke="#eeeeee"/>`,
      `<text x="${px}" y="${plotBottom + 14}" text-anchor="middle" fill="#444444">${timeLabel(t, stepSeconds)}</text>`,
    );
  }
  const day = new Date(time.end * 1000).toISOString().slice(0, 10);
  out.push(
    `<text x="${plotRight}" y="${plotBottom + 28}" text-anchor="end" fill="#666666">time (UTC), ${day}</text>`,
  );

  if (!values) {
    out.push(
      `<text x="${fixed(MARGIN.left + plotWidth / 2)}" y="${fixed(MARGIN.top + PLOT_HEIGHT / 2)}" text-anchor="middle" fill="#888888">no data in this window</text>`,
    );
  } else {
    const { lo, hi, ticks } = niceTicks(values.min, values.max);
    // Halved before subtracting, so that values near the largest double do not overflow.
    const y = (v: number): number => plotBottom - ((v / 2 - lo / 2) / (hi / 2 - lo / 2)) * PLOT_HEIGHT;
    for (const v of ticks) {
      const py = fixed(y(v));
      out.push(
        `<line x1="${MARGIN.left}" y1="${py}" x2="${plotRight}" y2="${py}" stroke="#eeeeee"/>`,
        `<text x="${MARGIN.left - 6}" y="${py}" text-anchor="end" dominant-baseline="middle" fill="#444444">${formatValue(v)}</text>`,
      );
    }
    drawn.forEach((s, index) => {
      const color = PALETTE[index % PALETTE.length] as string;
      for (const run of runs(s.points)) {
        const coords = run.map(([t, v]) => `${fixed(x(t))},${fixed(y(v))}`);
        if (run.length === 1) {
          const [cx, cy] = coords[0]?.split(',') ?? ['0', '0'];
          out.push(`<circle cx="${cx}" cy="${cy}" r="2" fill="${color}"/>`);
        }
        out.push(
          `<polyline data-series="${index}" fill="none" stroke="${color}" stroke-width="1.5" points="${coords.join(' ')}"/>`,
        );
      }
    });
    if (input.threshold) {
      const py = fixed(y(input.threshold.value));
      out.push(
        `<line class="threshold" x1="${MARGIN.left}" y1="${py}" x2="${plotRight}" y2="${py}" stroke="#d62728" stroke-width="1" stroke-dasharray="6 4"/>`,
      );
    }
  }

  let row = plotBottom + MARGIN.bottom + 8;
  drawn.forEach((s, index) => {
    const color = PALETTE[index % PALETTE.length] as string;
    out.push(
      `<rect x="${MARGIN.left}" y="${row - 8}" width="12" height="3" fill="${color}"/>`,
      `<text x="${MARGIN.left + 18}" y="${row}" fill="#222222">${xmlEscape(shorten(seriesName(s.labels)))}</text>`,
    );
    row += LEGEND_ROW;
  });
  if (omitted > 0) {
    out.push(
      `<text x="${MARGIN.left + 18}" y="${row}" fill="#666666">and ${omitted} more series, not drawn</text>`,
    );
    row += LEGEND_ROW;
  }
  if (input.threshold) {
    out.push(
      `<line x1="${MARGIN.left}" y1="${row - 6}" x2="${MARGIN.left + 12}" y2="${row - 6}" stroke="#d62728" stroke-dasharray="3 2"/>`,
      `<text x="${MARGIN.left + 18}" y="${row}" fill="#222222">threshold: fires when value ${xmlEscape(input.threshold.op)} ${formatValue(input.threshold.value)}</text>`,
    );
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
