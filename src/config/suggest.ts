/** "Did you mean" suggestions for unknown option names. */

/** Classic edit distance (insert/delete/substitute), small strings only. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, (previous[j - 1] ?? 0) + cost);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The closest known name, if it is close enough to be a plausible typo:
 * at most a third of the word may differ (and at least one edit is allowed).
 */
export function suggestName(unknown: string, candidates: readonly string[]): string | undefined {
  const budget = Math.max(1, Math.floor(unknown.length / 3));
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(unknown, candidate);
    if (distance < bestDistance || (distance === bestDistance && best !== undefined && candidate < best)) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= budget ? best : undefined;
}

/** ` (did you mean 'x'?)` or the empty string. */
export function didYouMean(unknown: string, candidates: readonly string[]): string {
  const suggestion = suggestName(unknown, candidates);
  return suggestion === undefined ? '' : ` (did you mean '${suggestion}'?)`;
}
