/**
 * A Cookie header as [name, value] pairs, in order, duplicates kept: a browser may send one name twice (two
 * paths), which `cookie`'s parse (first wins) would hide. Values are taken as sent: the broker's own are
 * base64url, never percent-encoded. Used by the login flow and device cookies.
 */
export function cookiePairs(header: string | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) out.push([part.slice(0, i).trim(), part.slice(i + 1).trim()]);
  }
  return out;
}
