// The compose stack's broker start (docker-compose.yml): profiles.json with the stack's secrets filled in from
// the environment (`${NAME}`, from the .env that scripts/compose-env.sh makes), written 0600 into the broker's
// own writable directory (a tmpfs: the root filesystem is read-only), then the broker itself, in this process.
// The profiles live in Redis; this file only seeds an empty store, so rewriting it at every start loses nothing.
import fs from 'node:fs';

const seed = '/etc/identity-broker/profiles.json';
const dir = '/opt/tyk-identity-broker';
const missing = new Set();
const text = fs.readFileSync(seed, 'utf8').replace(/\$\{([A-Z][A-Z0-9_]*)\}/g, (_, name) => {
  const value = process.env[name] ?? '';
  if (value === '') missing.add(name);
  // JSON string content: the values are hex, but a hand-made .env may hold anything.
  return JSON.stringify(value).slice(1, -1);
});
if (missing.size > 0) {
  console.error(`${seed}: ${[...missing].join(', ')} not set: run sh scripts/compose-env.sh beside docker-compose.yml (it writes .env)`);
  process.exit(1);
}
fs.writeFileSync(`${dir}/profiles.json`, text, { mode: 0o600 });
process.argv = [process.argv[0], '/opt/identity-broker/dist/main.js', ...process.argv.slice(2)];
await import('/opt/identity-broker/dist/main.js');
