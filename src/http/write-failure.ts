/**
 * Why an admin-API write failed, as the client may read it: the store's reason with every path cut to its
 * file name (a directory, the backup directory above all, can lie outside the profiles directory and tells a
 * caller about the host), and the usual fix for a typical file-system error. Store reasons carry no secrets.
 */
import path from 'node:path';

const FIXES: Array<[RegExp, string]> = [
  [/\b(EACCES|EPERM)\b/, "the broker's user cannot write the profiles file, its directory or ProfileDir"],
  [/\bEROFS\b/, 'the profiles file or ProfileDir is on a read-only file system'],
  [/\bENOSPC\b/, 'the disk is full'],
  [/\bENOENT\b/, 'the profiles directory or ProfileDir does not exist'],
];

export function writeFailureReason(message: string): string {
  // Absolute POSIX or Windows paths, quoted by Node ('...') or bare.
  const cut = message.replace(/(?:[A-Za-z]:)?[\\/][^'"\s,;()]*[\\/]([^'"\s,;()\\/]+)/g, (_m, name: string) => path.basename(name));
  const fix = FIXES.find(([re]) => re.test(message));
  return fix ? `${cut} (${fix[1]})` : cut;
}
