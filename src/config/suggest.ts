/**
 * "Did you mean X?" for a misspelt key or variable: the closest known name by edit distance (insertions,
 * deletions, substitutions and swaps of two neighbours, case ignored), when it is close enough to be a typo.
 */

/** Optimal string alignment distance (Damerau-Levenshtein without repeated edits of one substring). */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number) => (d[i] as number[])[j] as number;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = best;
    }
  }
  return at(rows - 1, cols - 1);
}

/** Beyond this many edits two names are different words, not a typo (a third of the length, 1 to 4). */
function tolerance(word: string): number {
  return Math.min(4, Math.max(1, Math.floor(word.length / 3)));
}

/** The known name closest to `word`, or undefined when none is close enough (ties: the first in `known`). */
export function closest(word: string, known: Iterable<string>): string | undefined {
  // Unknown keys come from files anyone may write: a hostile length must not cost a quadratic amount of work.
  if (word.length > 128) return undefined;
  const lower = word.toLowerCase();
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(lower, name.toLowerCase());
    if (distance <= tolerance(name) && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** `; did you mean "X"?`, or "" when nothing is close. */
export function didYouMean(word: string, known: Iterable<string>): string {
  const match = closest(word, known);
  return match === undefined ? '' : `; did you mean ${match}?`;
}
