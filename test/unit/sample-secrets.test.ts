/**
 * Issue 18, point 2: the admin Secrets of the repository's samples are all in src/config/sample-secrets.ts
 * (a scan of the sample files, so a new sample cannot drift from the list), what a sample Secret means on
 * each listen address, the ListenAddress checks at load (file and key, or the variable, named), and the debug
 * config dump's effective port and listen address. Listening itself: test/integration/http/listen-address.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { configProblems } from '../support/config-problems.js';
import { isLoopbackOnly, listenAddressProblem } from '../../src/config/listen.js';
import { describeConfig, loadConfig } from '../../src/config/load.js';
import { isSampleSecret, SAMPLE_SECRETS, sampleSecretFinding, sampleSecretWarning } from '../../src/config/sample-secrets.js';

const root = path.resolve(import.meta.dirname, '../..');

/** Every file of the repository an operator may copy a Secret from. */
function sampleFiles(): string[] {
  const under = (dir: string, keep: (name: string) => boolean) =>
    fs.existsSync(path.join(root, dir))
      ? (fs.readdirSync(path.join(root, dir), { recursive: true, withFileTypes: true }) as fs.Dirent[])
          .filter((e) => e.isFile() && keep(e.name))
          .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
      : [];
  const envExamples = (dir: string) => under(dir, (n) => /^\.env|\.env(\.|$)|^env\.example/.test(n)).filter((f) => path.dirname(f) === dir);
  return [
    ...under('config', (n) => n.endsWith('.json')),
    'tib.conf.example.json',
    ...under('deploy', () => true),
    ...under('docs', (n) => n.endsWith('.md')),
    'README.md',
    'docker-compose.yml',
    ...envExamples('.'),
    ...envExamples('deploy'),
  ].filter((f) => fs.existsSync(path.join(root, f)) && !/(^|\/)\.env$/.test(f));
}

/** Not a value: empty, `<placeholder>`, `$VARIABLE`, `${VARIABLE}`, `$(command)`, `...`. */
const placeholder = (v: string) => v === '' || /^[<$]/.test(v) || /\.\.\.|…/.test(v);

/** The admin Secret values a text holds: tib.conf's top-level Secret, TYK_IB_SECRET and the compose default, curl's Authorization. */
function secretsIn(text: string): string[] {
  const found: string[] = [];
  const json = ((): unknown => {
    try {
      return JSON.parse(text);
    } catch {
      return undefined;
    }
  })();
  if (json !== undefined) {
    // A JSON file: only a tib.conf's own Secret (a profile's ProviderConfig.Secret is an OAuth client's).
    if (json && typeof json === 'object' && !Array.isArray(json)) {
      for (const [k, v] of Object.entries(json)) if (k.toLowerCase() === 'secret' && typeof v === 'string') found.push(v);
    }
  } else {
    for (const m of text.matchAll(/"Secret"\s*:\s*"([^"]*)"/gi)) found.push(m[1] as string);
  }
  for (const m of text.matchAll(/\b(?:TYK_IB_SECRET|TIB_ADMIN_SECRET)\s*[:=]\s*(?:"([^"]*)"|'([^']*)'|(\S+))/g)) {
    const v = (m[1] ?? m[2] ?? m[3]) as string;
    // ${TIB_ADMIN_SECRET:-default}: the default is published; ${X:?error} and $(openssl ...) are not values.
    const fallback = /^\$\{\w+:?-([^}]*)\}/.exec(v);
    found.push(fallback ? (fallback[1] as string) : v);
  }
  for (const m of text.matchAll(/-H\s+["']Authorization:\s*([^"'\s]+)["']/g)) found.push(m[1] as string);
  return found.filter((v) => !placeholder(v) && !/^(Basic|Bearer)$/i.test(v));
}

describe('the sample Secrets list (src/config/sample-secrets.ts)', () => {
  it('holds every admin Secret the repository\'s sample files publish', () => {
    const files = sampleFiles();
    expect(files).toEqual(expect.arrayContaining(['config/tib.conf.json', 'tib.conf.example.json', 'deploy/tib.conf', 'docs/configuration.md', 'README.md', 'docker-compose.yml']));
    const published = files.flatMap((f) => secretsIn(fs.readFileSync(path.join(root, f), 'utf8')).map((secret) => ({ file: f, secret })));
    // The quick start's is found, so the scan works.
    expect(published).toContainEqual({ file: 'config/tib.conf.json', secret: 'change-me-admin-secret-use-openssl-rand-base64-32' });
    expect(published.filter((p) => !SAMPLE_SECRETS.includes(p.secret))).toEqual([]);
  });

  it('the scan finds a Secret in each form a sample writes it', () => {
    expect(secretsIn('{"Secret": "a-json-secret", "TykAPISettings": {}}')).toEqual(['a-json-secret']);
    expect(secretsIn('[{"ProviderConfig": {"Secret": "oauth-client-secret"}}]')).toEqual([]);
    expect(secretsIn('```json\n{ "Secret": "in-a-doc",\n')).toEqual(['in-a-doc']);
    expect(secretsIn('      TYK_IB_SECRET: ${TIB_ADMIN_SECRET:-compose-default}')).toEqual(['compose-default']);
    expect(secretsIn('      TYK_IB_SECRET: ${TIB_ADMIN_SECRET:?run sh scripts/compose-env.sh first}')).toEqual([]);
    expect(secretsIn('TIB_ADMIN_SECRET=env-example\nTYK_IB_SECRET="$(openssl rand -hex 32)"')).toEqual(['env-example']);
    expect(secretsIn('curl -H "Authorization: curl-secret" http://localhost:3010/api/profiles')).toEqual(['curl-secret']);
    expect(secretsIn('"Secret": "<client secret>", TYK_IB_SECRET=...')).toEqual([]);
  });

  it('isSampleSecret: exact values only; the empty Secret is not one', () => {
    expect(isSampleSecret(SAMPLE_SECRETS[0] as string)).toBe(true);
    expect(isSampleSecret(`${SAMPLE_SECRETS[0] as string}x`)).toBe(false);
    expect(isSampleSecret('')).toBe(false);
  });
});

describe('a sample Secret on each listen address', () => {
  const sample = SAMPLE_SECRETS[0] as string;
  it.each(['', '0.0.0.0', '::', '192.0.2.10', 'fd00::2', 'broker.example.com'])('beyond loopback (%j): refused, saying why and how to make one', (address) => {
    const f = sampleSecretFinding(sample, address);
    expect(f?.refused).toBe(true);
    expect(f?.message).toContain('is a sample published in the identity broker');
    expect(f?.message).toContain('the admin API and /metrics on the main port answer 403');
    expect(f?.message).toContain('openssl rand -base64 32');
  });
  it.each(['127.0.0.1', '127.0.0.2', '::1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST.'])('on loopback (%j): served, with a warning', (address) => {
    expect(isLoopbackOnly(address)).toBe(true);
    const f = sampleSecretFinding(sample, address);
    expect(f?.refused).toBe(false);
    expect(f?.message).toContain('served only because the broker listens on loopback');
  });
  it('an operator\'s own Secret, or none: nothing to say', () => {
    expect(sampleSecretFinding('an-operators-own-secret-0123456789', '')).toBeUndefined();
    expect(sampleSecretFinding('', '')).toBeUndefined();
  });
});

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sample-secrets-test-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
let n = 0;
function confFile(content: unknown): string {
  const p = path.join(dir, `tib-${n++}.conf`);
  fs.writeFileSync(p, JSON.stringify(content));
  return p;
}

describe('--check\'s warning (sampleSecretWarning), naming where the Secret was set', () => {
  it('the file\'s key, or the variable', () => {
    const file = confFile({ Secret: SAMPLE_SECRETS[0] });
    const fromFile = loadConfig({ confPath: file, env: {} });
    expect(sampleSecretWarning(fromFile.config, fromFile.source)).toMatch(new RegExp(`^Secret in ${path.basename(file)} \\(the admin API secret\\) is a sample .* listens on all interfaces`));
    const fromEnv = loadConfig({ confPath: confFile({}), env: { TYK_IB_SECRET: SAMPLE_SECRETS[1], TYK_IB_LISTENADDRESS: '127.0.0.1' } });
    expect(sampleSecretWarning(fromEnv.config, fromEnv.source)).toMatch(/^TYK_IB_SECRET \(the admin API secret\) is a sample .*served only because the broker listens on loopback/);
  });

  it('npm start\'s config/tib.conf.json listens on 127.0.0.1: its sample Secret is served, with the warning', () => {
    const { config } = loadConfig({ confPath: path.join(root, 'config/tib.conf.json'), env: {} });
    expect(config.ListenAddress).toBe('127.0.0.1');
    expect(sampleSecretFinding(config.Secret, config.ListenAddress)?.refused).toBe(false);
  });
});

describe('ListenAddress and Management.Host at load', () => {
  it.each(['', '0.0.0.0', '::', '::1', '127.0.0.1', 'localhost', 'broker.internal', 'broker.example.com.'])('accepts %j', (value) => {
    expect(loadConfig({ confPath: confFile({ ListenAddress: value }), env: {} }).config.ListenAddress).toBe(value);
  });

  it('names the file and key, or the variable, with the fix', () => {
    const file = confFile({ ListenAddress: '127.0.0.1:3010' });
    expect(configProblems(() => loadConfig({ confPath: file, env: {} }))).toEqual([`${path.basename(file)}: ListenAddress: is an address without a port (the port is Port), got "127.0.0.1:3010"`]);
    expect(configProblems(() => loadConfig({ confPath: confFile({}), env: { TYK_IB_LISTENADDRESS: '[::1]' } }))).toEqual(['TYK_IB_LISTENADDRESS: an IPv6 address is written without brackets, e.g. "::1", got "[::1]"']);
    expect(configProblems(() => loadConfig({ confPath: confFile({ ListenAddress: '*' }), env: {} }))[0]).toContain('leave it empty ("") for all interfaces');
    expect(configProblems(() => loadConfig({ confPath: confFile({ ListenAddress: 'http://broker' }), env: {} }))[0]).toContain('must be an IPv4 or IPv6 address or a host name');
  });

  it('Management.Host follows the same rule, but is never empty', () => {
    expect(configProblems(() => loadConfig({ confPath: confFile({ Management: { Port: 9100, Host: '[::1]' } }), env: {} }))[0]).toContain('Management.Host: an IPv6 address is written without brackets');
    expect(listenAddressProblem('', false)).toContain('must be an IP address or host name');
    expect(loadConfig({ confPath: confFile({ Management: { Port: 9100, Host: '::1' } }), env: {} }).config.Management.Host).toBe('::1');
  });
});

describe('the debug config dump', () => {
  it('shows the effective port and listen addresses, after TYK_IB_PORT and TYK_IB_LISTENADDRESS', () => {
    const defaults = describeConfig(loadConfig({ confPath: confFile({}), env: {} }).config) as Record<string, unknown>;
    expect(defaults).toMatchObject({ Port: 3010, ListenAddress: '', Listening: { Main: 'http://*:3010', Management: 'none (Management.Port is 0)' } });
    const env = { TYK_IB_PORT: '4000', TYK_IB_LISTENADDRESS: '::1', TYK_IB_MANAGEMENT_PORT: '9100' };
    const set = describeConfig(loadConfig({ confPath: confFile({ Port: 3010, ListenAddress: '0.0.0.0' }), env }).config) as Record<string, unknown>;
    expect(set).toMatchObject({ Port: 4000, ListenAddress: '::1', Listening: { Main: 'http://[::1]:4000', Management: 'http://127.0.0.1:9100' } });
  });
});
