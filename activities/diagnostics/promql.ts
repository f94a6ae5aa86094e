/**
 * Just enough PromQL to chart an alert: most alert rules are `<something> <op> <number>`,
 * and their expression evaluates to the left side's value where the comparison holds and to
 * nothing elsewhere. Charting the left side shows the value before, during and after the
 * alert, against the number as its threshold. Anything less simple is charted as it stands.
 */

export const COMPARISONS = ['==', '!=', '>=', '<=', '>', '<'] as const;
export type Comparison = (typeof COMPARISONS)[number];

export interface Threshold {
  /** Read with the charted value on the left: `value > 0.5` fires. */
  op: Comparison;
  value: number;
}

export interface ChartableExpression {
  /** What to chart: the compared side, or the whole expression when it is no simple comparison. */
  expression: string;
  threshold?: Threshold;
}

/** `0.5 < x` fires when `x > 0.5`. */
const MIRRORED: Record<Comparison, Comparison> = {
  '==': '==',
  '!=': '!=',
  '>=': '<=',
  '<=': '>=',
  '>': '<',
  '<': '>',
};

const IDENTIFIER = /[A-Za-z0-9_:]/;
const SET_OPERATORS = new Set(['and', 'or', 'unless']);

interface TopLevel {
  comparisons: { index: number; op: Comparison }[];
  /** and/or/unless bind looser than comparisons: the threshold of one part is not the alert's. */
  setOperator: boolean;
  balanced: boolean;
}

/**
 * Walks the expression once, skipping strings, comments and everything inside (), [] and {}
 * (label matchers such as `!~` and `=` live there), and notes what stands at the top level.
 */
function scanTopLevel(expr: string): TopLevel {
  const comparisons: TopLevel['comparisons'] = [];
  let setOperator = false;
  let depth = 0;
  let i = 0;
  while (i < expr.length) {
    const c = expr[i] as string;
    if (c === '"' || c === "'" || c === '`') {
      i += 1;
      while (i < expr.length && expr[i] !== c) i += c !== '`' && expr[i] === '\\' ? 2 : 1;
      i += 1;
      continue;
    }
    if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i += 1;
      continue;
    }
    if (c === '(' || c === '[' || c === '{') {
      depth += 1;
      i += 1;
      continue;
    }
    if (c === ')' || c === ']' || c === '}') {
      depth -= 1;
      if (depth < 0) return { comparisons, setOperator, balanced: false };
      i += 1;
      continue;
    }
    if (depth === 0) {
      const two = expr.slice(i, i + 2);
      const op = COMPARISONS.find((candidate) =>
        candidate.length === 2 ? two === candidate : c === candidate,
      );
      if (op) {
        comparisons.push({ index: i, op });
        i += op.length;
        continue;
      }
      if (IDENTIFIER.test(c) && (i === 0 || !IDENTIFIER.test(expr[i - 1] as string))) {
        let end = i;
        while (end < expr.length && IDENTIFIER.test(expr[end] as string)) end += 1;
        if (SET_OPERATORS.has(expr.slice(i, end).toLowerCase())) setOperator = true;
        i = end;
        continue;
      }
    }
    i += 1;
  }
  return { comparisons, setOperator, balanced: depth === 0 };
}

/** `((x))` → `x`, but `(a) > (b)` stays as it is. */
function stripOuterParens(expr: string): string {
  let text = expr.trim();
  while (text.startsWith('(') && text.endsWith(')')) {
    const inner = text.slice(1, -1);
    const scan = scanTopLevel(inner);
    // The parentheses enclose the whole text only if what they enclose is balanced on its own.
    if (!scan.balanced) break;
    text = inner.trim();
  }
  return text;
}

const NUMBER = /^[+-]?(?:(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d+)?|0[xX][0-9a-fA-F]+)$/;

/** A finite number literal, as PromQL writes one; undefined for anything else. */
export function numberLiteral(text: string): number | undefined {
  const literal = stripOuterParens(text);
  if (!NUMBER.test(literal)) return undefined;
  const negative = literal.startsWith('-');
  const unsigned = literal.replace(/^[+-]/, '').replace(/_/g, '');
  const value = Number(unsigned) * (negative ? -1 : 1);
  return Number.isFinite(value) ? value : undefined;
}

/** The comparison's other side, without `bool` (which only turns the result into 0 or 1). */
function operand(text: string): string {
  return text.trim().replace(/^bool\b\s*/i, '');
}

/**
 * The part of an alert expression worth charting, and its threshold when one side of the
 * only top-level comparison is a number. `rate(errors[5m]) > 0.5` → `rate(errors[5m])`, `> 0.5`;
 * `0.5 < x` → `x`, `> 0.5`; `a > b` → `a`, no threshold; `a > 1 and b < 2` → unchanged.
 */
export function chartableExpression(alertExpression: string): ChartableExpression {
  const expr = stripOuterParens(alertExpression);
  const scan = scanTopLevel(expr);
  const only = scan.comparisons[0];
  if (!scan.balanced || scan.setOperator || scan.comparisons.length !== 1 || !only) {
    return { expression: alertExpression.trim() };
  }
  const left = expr.slice(0, only.index).trim();
  const right = operand(expr.slice(only.index + only.op.length));
  if (left === '' || right === '') return { expression: alertExpression.trim() };

  const rightNumber = numberLiteral(right);
  const leftNumber = numberLiteral(left);
  if (rightNumber !== undefined && leftNumber === undefined) {
    return { expression: left, threshold: { op: only.op, value: rightNumber } };
  }
  if (leftNumber !== undefined && rightNumber === undefined) {
    return { expression: right, threshold: { op: MIRRORED[only.op], value: leftNumber } };
  }
  if (leftNumber !== undefined) return { expression: alertExpression.trim() };
  // Vector against vector (with on()/ignoring() perhaps): the left side is the value the
  // alert reports; its threshold moves with the right side, so none is drawn.
  return { expression: left };
}
