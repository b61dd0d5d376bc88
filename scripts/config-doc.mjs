// The configuration reference table of docs/configuration.md, generated from the schema (src/config/schema.ts):
//   npm run build && node scripts/config-doc.mjs           prints the table
//   npm run build && node scripts/config-doc.mjs --write   rewrites it in docs/configuration.md
// test/unit/docs.test.ts checks that the page holds exactly what the schema generates.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The lines around the generated table in docs/configuration.md. */
export const TABLE_START = '<!-- config-table: generated from src/config/schema.ts by scripts/config-doc.mjs; do not edit by hand -->';
export const TABLE_END = '<!-- /config-table -->';

const fmt = (v) => (typeof v === 'string' ? (v === '' ? '`""`' : `\`"${v}"\``) : `\`${JSON.stringify(v)}\``);
const kind = { string: 'string', int: 'int', bool: 'bool', list: 'string list', map: 'string map', any: 'any' };

/** The Markdown table of every tib.conf key, from the schema's leaves() (one line per key, no trailing newline). */
export function configTable(leaves) {
  const rows = ['| JSON key in tib.conf | Type | Default | Environment variable | Notes |', '|---|---|---|---|---|'];
  for (const { leaf, jsonPath, env } of leaves) {
    rows.push(`| \`${jsonPath.join('.')}\` | ${kind[leaf.kind]} | ${fmt(leaf.default)} | ${env ? `\`${env}\`` : 'n/a'} | ${leaf.doc} |`);
  }
  return rows.join('\n');
}

/** The table between the markers of a page's text, or undefined when the markers are missing. */
export function tableIn(page) {
  const start = page.indexOf(TABLE_START);
  const end = page.indexOf(TABLE_END);
  if (start < 0 || end < start) return undefined;
  return page.slice(start + TABLE_START.length, end).trim();
}

/** The page's text with the table between the markers replaced. */
export function withTable(page, table) {
  if (tableIn(page) === undefined) throw new Error(`the markers ${TABLE_START} ... ${TABLE_END} are missing`);
  const start = page.indexOf(TABLE_START) + TABLE_START.length;
  return `${page.slice(0, start)}\n${table}\n${page.slice(page.indexOf(TABLE_END))}`;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const { leaves } = await import('../dist/config/schema.js');
  const table = configTable(leaves());
  if (process.argv.includes('--write')) {
    const file = path.join(import.meta.dirname, '../docs/configuration.md');
    fs.writeFileSync(file, withTable(fs.readFileSync(file, 'utf8'), table));
    console.log(`rewrote the table in ${path.relative(process.cwd(), file)}`);
  } else {
    console.log(table);
  }
}
