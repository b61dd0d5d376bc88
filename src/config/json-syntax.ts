/**
 * Where a JSON file fails to parse, without quoting it: V8's SyntaxError message includes the text around
 * the error ("...<snippet>..." is not valid JSON), and in tib.conf or profiles.json that text can be a
 * secret. Only the line and column are reported.
 */

/** The 0-based offset of a JSON.parse error in `text`, when V8's message lets us find it. */
function errorOffset(text: string, message: string): number | undefined {
  const m = /position (\d+)/.exec(message);
  if (m) return Number(m[1]);
  if (/Unexpected end of JSON input/.test(message)) return text.length;
  // Node 20's other form quotes up to 10 characters either side of the error, "..." marking a cut side:
  // Unexpected token 'X', ..."<snippet>"... is not valid JSON
  const u = /^Unexpected token '([\s\S])', ([\s\S]*) is not valid JSON$/.exec(message);
  if (!u) return undefined;
  const [, token = '', quoted = ''] = u;
  const cutBefore = quoted.startsWith('..."');
  const cutAfter = quoted.endsWith('"...');
  const snippet = quoted.slice(cutBefore ? 4 : 1, cutAfter ? -4 : -1);
  if (cutBefore) {
    const at = text.indexOf(snippet);
    return at >= 0 ? at + 10 : undefined;
  }
  if (cutAfter) return snippet.length - 10;
  // The whole (short) text is quoted: the offending character is found if it occurs once.
  const at = text.indexOf(token);
  return at >= 0 && at === text.lastIndexOf(token) ? at : undefined;
}

/** "invalid JSON at line L column C" (or just "invalid JSON"), never any of the text itself. */
export function jsonSyntaxProblem(text: string, err: unknown): string {
  const pos = errorOffset(text, err instanceof Error ? err.message : String(err));
  if (pos === undefined) return 'invalid JSON';
  const before = text.slice(0, pos).split('\n');
  return `invalid JSON at line ${before.length} column ${(before[before.length - 1]?.length ?? 0) + 1}`;
}
