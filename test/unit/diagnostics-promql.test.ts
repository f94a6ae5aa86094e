/**
 * What an alert rule's expression tells the chart: the side to draw and the threshold, for
 * the simple comparisons most rules are, and nothing invented for the others.
 */
import { describe, expect, it } from 'vitest';
import { chartableExpression, numberLiteral } from '../../activities/diagnostics/promql';

describe('chartableExpression', () => {
  it.each([
    ['up == 0', 'up', '==', 0],
    ['rate(http_errors_total[5m]) > 0.5', 'rate(http_errors_total[5m])', '>', 0.5],
    ['node_load1 >= 4', 'node_load1', '>=', 4],
    ['free_bytes < 1e9', 'free_bytes', '<', 1e9],
    ['temperature <= -10', 'temperature', '<=', -10],
    ['replicas != 3', 'replicas', '!=', 3],
    ['x > bool 1', 'x', '>', 1],
    ['(x > 1)', 'x', '>', 1],
    ['x > (2.5)', 'x', '>', 2.5],
    ['x > 0x10', 'x', '>', 16],
    ['x > 1_000', 'x', '>', 1000],
    // The number on the left: read from the value's side.
    ['0.5 < errors_ratio', 'errors_ratio', '>', 0.5],
    ['10 >= queue_depth', 'queue_depth', '<=', 10],
    ['1 == up', 'up', '==', 1],
    // Arithmetic binds tighter than a comparison: the whole left side is the value.
    [
      'sum by (job) (rate(errors[5m])) / sum by (job) (rate(requests[5m])) > 0.05',
      'sum by (job) (rate(errors[5m])) / sum by (job) (rate(requests[5m]))',
      '>',
      0.05,
    ],
  ])('%s: charts %s against %s %s', (expr, expression, op, value) => {
    expect(chartableExpression(expr)).toEqual({ expression, threshold: { op, value } });
  });

  it('ignores what only looks like a comparison inside matchers, strings, brackets and comments', () => {
    expect(chartableExpression('up{job!="a>b", env=~"x|<y"} == 0')).toEqual({
      expression: 'up{job!="a>b", env=~"x|<y"}',
      threshold: { op: '==', value: 0 },
    });
    expect(chartableExpression("count(up{job='a\"<'} > 0) > 2")).toEqual({
      expression: "count(up{job='a\"<'} > 0)",
      threshold: { op: '>', value: 2 },
    });
    expect(chartableExpression('label_replace(up, "x", "a>b", "", "")')).toEqual({
      expression: 'label_replace(up, "x", "a>b", "", "")',
    });
    expect(chartableExpression('up # alert when > 3\n == 0')).toEqual({
      expression: 'up # alert when > 3',
      threshold: { op: '==', value: 0 },
    });
  });

  it('charts the left side of a vector comparison, with no threshold to draw', () => {
    expect(chartableExpression('disk_used > on(instance) disk_quota * 0.9')).toEqual({
      expression: 'disk_used',
    });
  });

  it.each([
    'up',
    'rate(errors[5m])',
    'a > 1 and b < 2',
    'a > 1 or vector(0)',
    'errors > 1 unless maintenance == 1',
    'a > b > 1',
    '1 > 2',
    'x > Inf',
    'absent(up{job="api"})',
  ])('leaves %s as it stands', (expr) => {
    const result = chartableExpression(expr);
    expect(result.threshold).toBeUndefined();
    if (expr !== 'x > Inf') expect(result.expression).toBe(expr);
  });

  it('leaves an unbalanced expression alone (Prometheus will say what is wrong with it)', () => {
    expect(chartableExpression('rate(x[5m] > 1')).toEqual({ expression: 'rate(x[5m] > 1' });
    expect(chartableExpression('x) > (1')).toEqual({ expression: 'x) > (1' });
  });

  it('does not take a metric named like a set operator for one', () => {
    expect(chartableExpression('android_errors > 3')).toEqual({
      expression: 'android_errors',
      threshold: { op: '>', value: 3 },
    });
  });
});

describe('numberLiteral', () => {
  it.each([
    ['0', 0],
    ['-1.5', -1.5],
    ['+2', 2],
    ['.5', 0.5],
    ['1e-3', 0.001],
    ['0xff', 255],
    ['((3))', 3],
  ])('%s is %s', (text, value) => expect(numberLiteral(text)).toBe(value));

  it.each(['Inf', 'NaN', 'x', '1 + 1', '', '1e999', 'vector(1)'])('%s is no finite literal', (text) =>
    expect(numberLiteral(text)).toBeUndefined(),
  );
});
