// Prints the configuration reference table from the schema (run after `npm run build`):
//   node scripts/config-doc.mjs   (paste into the README's configuration reference)
import { leaves } from '../dist/config/schema.js';

const fmt = (v) => (typeof v === 'string' ? (v === '' ? '`""`' : `\`"${v}"\``) : `\`${JSON.stringify(v)}\``);
const kind = { string: 'string', int: 'int', bool: 'bool', list: 'string list', map: 'string map', any: 'any' };
console.log('| JSON key in tib.conf | Type | Default | Environment variable | Notes |');
console.log('|---|---|---|---|---|');
for (const { leaf, jsonPath, env } of leaves()) {
  console.log(`| \`${jsonPath.join('.')}\` | ${kind[leaf.kind]} | ${fmt(leaf.default)} | ${env ? `\`${env}\`` : 'n/a'} | ${leaf.doc} |`);
}
