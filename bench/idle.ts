/**
 * `npm run bench:idle`: the broker's idle memory (issue 22, item 1), written down in docs/performance.md.
 * 1. `node dist/main.js` with one LDAP profile, then with the sample profiles (profiles/profiles.json, as
 *    `npm start` runs them, with the launchers' node flags, src/heap.ts NODE_FLAGS): RSS and heap after two
 *    full collections a second after it listens, and again once settled, 30 s later (V8's memory reducer
 *    shrinks the young generation that loading the modules grew; bench/heap-probe.ts is preloaded and answers
 *    SIGUSR2).
 * 2. What each stack costs alone: a fresh node imports one module and reports RSS and heap after GC, less
 *    those of a node that imported nothing.
 * Prints a table to stdout; nothing connects anywhere but the loopback listener.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { NODE_FLAGS } from '../src/heap.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const probe = path.join(root, 'dist-bench/bench/heap-probe.js');
const MB = (n: number) => (n / 1024 / 1024).toFixed(1);

interface Heap {
  rss: number;
  heapUsed: number;
}

/** How long an idle broker is left before its settled reading. */
const SETTLE_MS = 30_000;

/** Starts the broker on these profiles, waits for it to listen, asks heap-probe for its figures a second later and once settled. */
async function brokerIdle(profilesPath: string, configPath: string): Promise<{ started: Heap; settled: Heap }> {
  const child = spawn(process.execPath, [...NODE_FLAGS, '--expose-gc', '--import', probe, 'dist/main.js', '-c', configPath, '-p', profilesPath], {
    cwd: root,
    env: { ...process.env, TYK_IB_SESSION_SECRET: 'idle-bench-session-secret-0123456789abcdef' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const onData = (b: Buffer) => (out += b.toString());
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  try {
    const deadline = Date.now() + 20_000;
    while (!/listening/.test(out)) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the broker did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const read = async (afterMs: number): Promise<Heap> => {
      await new Promise((r) => setTimeout(r, afterMs));
      const seen = out.length;
      child.kill('SIGUSR2');
      const until = Date.now() + 10_000;
      let line: RegExpExecArray | null;
      while (!(line = /HEAP (\{.*\})/.exec(out.slice(seen)))) {
        if (Date.now() > until) throw new Error(`no HEAP line:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return JSON.parse(line[1]!) as Heap;
    };
    const started = await read(1000);
    return { started, settled: await read(SETTLE_MS) };
  } finally {
    child.kill('SIGTERM');
  }
}

/** RSS and heap after GC of a fresh node that imported `spec` (nothing when empty). */
function importAlone(spec: string): Heap {
  const code = `${spec ? `await import(${JSON.stringify(spec)});` : ''} gc(); gc(); const m = process.memoryUsage(); console.log(JSON.stringify({ rss: m.rss, heapUsed: m.heapUsed }));`;
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`importing ${spec} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as Heap;
}

const samples = JSON.parse(fs.readFileSync(path.join(root, 'profiles/profiles.json'), 'utf8')) as { ProviderName: string }[];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tib-idle-'));
const ldapOnly = path.join(dir, 'ldap.json');
// The sample tib.conf on a free loopback port.
const conf = path.join(dir, 'tib.conf.json');
const port = await new Promise<number>((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const p = (s.address() as net.AddressInfo).port;
    s.close(() => resolve(p));
  });
});
fs.writeFileSync(conf, JSON.stringify({ ...(JSON.parse(fs.readFileSync(path.join(root, 'config/tib.conf.json'), 'utf8')) as object), Port: port, ListenAddress: '127.0.0.1' }));
fs.writeFileSync(ldapOnly, JSON.stringify(samples.filter((p) => p.ProviderName === 'ADProvider').slice(0, 1)));

console.log(`machine: ${os.cpus().length} x ${os.cpus()[0]?.model ?? '?'}, ${MB(os.totalmem())} MB, node ${process.version}`);
for (const [name, file] of [
  ['one LDAP profile', ldapOnly],
  [`the sample profiles (${samples.length})`, path.join(root, 'profiles/profiles.json')],
] as const) {
  const { started, settled } = await brokerIdle(file, conf);
  console.log(`idle, ${name}: RSS ${MB(started.rss)} MB, heap ${MB(started.heapUsed)} MB a second after listening; settled (${SETTLE_MS / 1000} s later): RSS ${MB(settled.rss)} MB, heap ${MB(settled.heapUsed)} MB`);
}

const base = importAlone('');
console.log(`\nbare node after GC: RSS ${MB(base.rss)} MB, heap ${MB(base.heapUsed)} MB; each module imported alone, over that:`);
const dist = (p: string) => path.join(root, 'dist', p);
for (const spec of [
  'express',
  'ioredis',
  'ldapts',
  'openid-client',
  '@node-saml/node-saml',
  'passport',
  'prom-client',
  dist('providers/registry.js'),
  dist('providers/ldap/ldap.js'),
  dist('providers/social/social.js'),
  dist('providers/saml/saml.js'),
  dist('providers/proxy/proxy.js'),
  dist('broker.js'),
]) {
  let h: Heap;
  try {
    h = importAlone(spec);
  } catch (err) {
    console.log(`  ${spec}: could not be imported alone (${String(err).split('\n')[0]})`);
    continue;
  }
  console.log(`  ${spec.startsWith('/') ? path.relative(root, spec) : spec}: RSS +${MB(h.rss - base.rss)} MB, heap +${MB(h.heapUsed - base.heapUsed)} MB`);
}
fs.rmSync(dir, { recursive: true, force: true });
