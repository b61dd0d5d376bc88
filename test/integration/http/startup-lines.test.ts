/**
 * `npm start` (the CLI, src/main.ts) says where to go once it listens (issue 18, point 6), as Dex and
 * oauth2-proxy do: one line per profile login URL (profile ID, provider, URL), the /ready URL and the admin
 * API's, or why the admin API is off; its text log lines start with an ISO 8601 timestamp.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { freePort } from '../../support/slapd.js';

const root = path.resolve(import.meta.dirname, '../../..');

const proxyProfile = (id: string) => ({
  ID: id,
  OrgID: 'org-1',
  ActionType: 'GenerateTemporaryAuthToken',
  MatchedPolicyID: 'policy-1',
  ProviderName: 'ProxyProvider',
  ReturnURL: 'http://app.example.com/cb',
  IdentityHandlerConfig: { DashboardCredential: 'dashboard-credential-for-startup', TokenAuth: { BaseAPIID: 'api-base', Expires: 600 } },
  ProviderConfig: { ExtractUserNameFromBasicAuthHeader: true, TargetHost: 'http://127.0.0.1:9/login' },
});

/** Starts the built CLI, returns its output once it has said where the admin API is, and stops it. */
async function startupOutput(conf: Record<string, unknown>, profiles: unknown[]): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'startup-lines-'));
  const confPath = path.join(dir, 'tib.conf');
  const profilesPath = path.join(dir, 'profiles.json');
  await fs.writeFile(confPath, JSON.stringify(conf));
  await fs.writeFile(profilesPath, JSON.stringify(profiles));
  const env: NodeJS.ProcessEnv = { ...process.env, TYK_LOGLEVEL: 'info' };
  for (const k of Object.keys(env)) if (k.startsWith('TYK_IB_')) delete env[k];
  const child = spawn(process.execPath, [path.join(root, 'dist/main.js'), '-c', confPath, '-p', profilesPath], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exit = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    // A wait, not a timing assertion: a loaded machine may take a while to start a process.
    for (let i = 0; i < 800 && !output.includes('admin API: ') && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    return output;
  } finally {
    child.kill('SIGTERM');
    await exit;
    await fs.rm(dir, { recursive: true, force: true });
  }
}

const SECRET = 'startup-lines-admin-secret-0123456789abcdef';
const TYK = { DashboardConfig: { Endpoint: 'http://127.0.0.1', Port: '9', AdminSecret: 'dashboard-admin-secret-for-startup' } };

describe('the CLI once listening', () => {
  it('prints each login URL, /ready (also on the management listener) and the admin API', async () => {
    const [port, mgmt] = await Promise.all([freePort(), freePort()]);
    const output = await startupOutput({ Port: port, Secret: SECRET, Management: { Port: mgmt }, TykAPISettings: TYK }, [proxyProfile('portal'), proxyProfile('dev@corp')]);
    const lines = output.split('\n');
    const line = (text: string) => lines.find((l) => l.includes(text)) ?? `no line with ${text} in:\n${output}`;
    expect(line('login: profile "portal"')).toMatch(new RegExp(`\\(ProxyProvider\\) at http://localhost:${port}/auth/portal/proxy$`));
    expect(line('login: profile "dev@corp"')).toMatch(new RegExp(`at http://localhost:${port}/auth/dev%40corp/proxy$`));
    expect(line('readiness: ')).toMatch(new RegExp(`readiness: http://localhost:${port}/ready and http://127\\.0\\.0\\.1:${mgmt}/ready$`));
    expect(line('admin API: ')).toMatch(new RegExp(`admin API: http://localhost:${port}/api/profiles \\(`));
    expect(output).not.toContain(SECRET);
    // Text log lines: ISO 8601 with the year, milliseconds and the zone.
    expect(line('login: profile "portal"')).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z \[INFO\] MAIN: /);
  }, 90_000);

  it('says the admin API is refused with a sample Secret beyond loopback', async () => {
    const output = await startupOutput({ Port: await freePort(), Secret: 'change-me-admin-secret', TykAPISettings: TYK }, []);
    expect(output).toContain('admin API: refused on this listener (403), its Secret is a sample from the repository');
    expect(output).not.toMatch(/admin API: http/);
  }, 90_000);

  it('says why the admin API is off, and that no profile is loaded', async () => {
    const output = await startupOutput({ Port: await freePort(), Secret: '', TykAPISettings: TYK }, []);
    expect(output).toContain('login: no profiles loaded yet');
    expect(output).toMatch(/admin API: disabled \(Secret in tib\.conf or TYK_IB_SECRET is empty\)/);
  }, 90_000);
});
