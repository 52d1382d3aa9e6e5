/**
 * The target grammar of a key result, written as a short string in the OKR file:
 *
 *   absolute:  ">= 0.99", "> 99%", "< 0.3", "== 0", ">= 3"
 *   relative:  "-10%" (relative change versus the baseline), "+5 points" (absolute change in
 *              the measure's points; for ratio measures one point is 0.01 = one percentage point)
 *
 * A `%` after an absolute value divides it by 100 ("> 99%" is "> 0.99"), because ratios
 * are stored in 0..1 by convention.
 */

export type Comparator = '>=' | '>' | '<=' | '<' | '==';

export interface AbsoluteTarget {
  kind: 'absolute';
  op: Comparator;
  value: number;
  text: string;
}

export interface RelativeTarget {
  kind: 'relative';
  /** Signed size of the change: -10 for "-10%", +5 for "+5 points". */
  change: number;
  /** percent: relative to the baseline; points: added to the baseline in the measure's points. */
  unit: 'percent' | 'points';
  text: string;
}

export type Target = AbsoluteTarget | RelativeTarget;

const ABSOLUTE_RE = /^(>=|<=|==|>|<)\s*(-?\d+(?:\.\d+)?(?:e-?\d+)?)\s*(%)?$/i;
const RELATIVE_RE = /^([+-])\s*(\d+(?:\.\d+)?)\s*(%|points?|pp)$/i;

export function parseTarget(text: string): Target | { error: string } {
  const t = text.trim();
  const abs = ABSOLUTE_RE.exec(t);
  if (abs) {
    const value = Number(abs[2]) / (abs[3] ? 100 : 1);
    return { kind: 'absolute', op: abs[1] as Comparator, value, text: t };
  }
  const rel = RELATIVE_RE.exec(t);
  if (rel) {
    const magnitude = Number(rel[2]);
    if (magnitude === 0) return { error: 'a relative target needs a non-zero change' };
    return {
      kind: 'relative',
      change: rel[1] === '-' ? -magnitude : magnitude,
      unit: rel[3] === '%' ? 'percent' : 'points',
      text: t,
    };
  }
  return {
    error: 'expected a comparison such as ">= 0.99", "> 99%", "== 0", or a change versus the baseline such as "-10%" or "+5 points"',
  };
}

/** Whether higher values are better for this target. Equality-to-zero counts as lower-is-better. */
export function higherIsBetter(target: Target): boolean {
  if (target.kind === 'relative') return target.change > 0;
  return target.op === '>=' || target.op === '>';
}

/** Does `value` meet the absolute threshold? */
export function meets(op: Comparator, value: number, threshold: number): boolean {
  switch (op) {
    case '>=':
      return value >= threshold;
    case '>':
      return value > threshold;
    case '<=':
      return value <= threshold;
    case '<':
      return value < threshold;
    case '==':
      return value === threshold;
  }
}
