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

/**
 * What the parser expected, from V8's message: its own words when they quote nothing of the file ("Expected
 * ',' or '}' after property value"); for "Unexpected token 'x', <snippet>" only the usual causes, since the
 * snippet (and the character itself) may belong to a secret.
 */
function expectation(message: string): string {
  if (/^Unexpected end of JSON input/.test(message)) return 'the file ends too early (a missing "]", "}" or closing quote)';
  const own = /^(.+?) (?:in|after) JSON at position \d+/.exec(message);
  if (own && !own[1]?.includes('"')) return (own[1] as string).replace(/^./, (c) => c.toLowerCase()).replace(/^unexpected non-whitespace character$/, 'unexpected text after the end of the JSON value');
  if (/^Unexpected token/.test(message)) return 'expected a string in double quotes, a number, true, false, null, an object or an array (JSON has no comments, single quotes or trailing commas)';
  return '';
}

/** "invalid JSON at line L column C: expected ...", never any of the text itself. */
export function jsonSyntaxProblem(text: string, err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const pos = errorOffset(text, message);
  const what = expectation(message);
  const why = what ? `: ${what}` : '';
  if (pos === undefined) return `invalid JSON${why}`;
  const before = text.slice(0, pos).split('\n');
  return `invalid JSON at line ${before.length} column ${(before[before.length - 1]?.length ?? 0) + 1}${why}`;
}
