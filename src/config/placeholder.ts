/**
 * `%(...)` placeholders with uWSGI's left-to-right math pipeline:
 * `%(a + b * 2)` is ((a + b) * 2); items with no operator between them are
 * concatenated (`%(a b)`); `++`/`--` increment/decrement; division by zero
 * gives 0. Numbers are 64-bit, parsed like C's strtoll (leading digits, else 0).
 */

type Lookup = (key: string) => string | null | undefined;
type Operator = 'concat' | '+' | '-' | '*' | '/';

/** The replacement for `%(key)`, or undefined to leave the text as it is. */
export function resolvePlaceholder(key: string, lookup: Lookup): string | undefined {
  if (!key.includes(' ')) return lookup(key) ?? undefined;
  let current: string | undefined;
  let operator: Operator = 'concat';
  for (const token of key.split(' ').filter((t) => t !== '')) {
    if (token === '+' || token === '-' || token === '*' || token === '/') {
      operator = token;
      continue;
    }
    if (token === '++' || token === '--') {
      if (current !== undefined) current = String(strtoll(current) + (token === '++' ? 1n : -1n));
      operator = 'concat';
      continue;
    }
    // Only plain digit strings are numbers; anything else is an option name ('' when unknown).
    const value = /^\d+$/.test(token) ? token : (lookup(token) ?? '');
    current = apply(operator, current, value);
    operator = 'concat';
  }
  return current;
}

function apply(operator: Operator, current: string | undefined, value: string): string {
  if (operator === 'concat') return (current ?? '') + value;
  const left = current === undefined ? 0n : strtoll(current);
  const right = strtoll(value);
  switch (operator) {
    case '+':
      return String(clamp(left + right));
    case '-':
      return String(clamp(left - right));
    case '*':
      return String(clamp(left * right));
    case '/':
      return right === 0n ? '0' : String(left / right); // BigInt division truncates toward zero, like C
  }
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

/** C's strtoll(value, NULL, 10): optional blanks and sign, then leading digits; saturates. */
export function strtoll(value: string): bigint {
  const match = /^[ \t\n\v\f\r]*([+-]?\d+)/.exec(value);
  return match?.[1] === undefined ? 0n : clamp(BigInt(match[1]));
}

function clamp(value: bigint): bigint {
  if (value > INT64_MAX) return INT64_MAX;
  if (value < INT64_MIN) return INT64_MIN;
  return value;
}
