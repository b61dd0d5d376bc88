/**
 * The built CLI (dist/main.js) in a child process with test/support/module-log.js preloaded, so a test can tell
 * which libraries it has loaded (test/integration/saml/lazy-stacks.test.ts, test/integration/scim/lazy-libraries.test.ts).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './slapd.js';

const root = path.resolve(import.meta.dirname, '../..');

export interface ModuleLogBroker {
  /** http://127.0.0.1:<port> */
  base: string;
  /** Its temporary directory (tib.conf, profiles.json, modules.log); files a test puts here go with it. */
  dir: string;
  /** Every module URL the broker's ESM loader has resolved so far, one a line. */
  modules(): Promise<string>;
  close(): Promise<void>;
}

/** Starts it with `conf` (Port and ListenAddress added) and `profiles`; resolves once it has said where the admin API is. */
export async function startModuleLogBroker(name: string, conf: Record<string, unknown>, profiles: unknown[]): Promise<ModuleLogBroker> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), `${name}-`));
  const port = await freePort();
  await fs.writeFile(path.join(dir, 'tib.conf'), JSON.stringify({ Port: port, ListenAddress: '127.0.0.1', ...conf }));
  await fs.writeFile(path.join(dir, 'profiles.json'), JSON.stringify(profiles));
  const env: NodeJS.ProcessEnv = { ...process.env, MODULE_LOG: path.join(dir, 'modules.log'), TYK_IB_SESSION_SECRET: `${name}-session-secret-0123456789abcdef`, TYK_LOGLEVEL: 'info' };
  for (const k of Object.keys(env)) if (k.startsWith('TYK_IB_') && k !== 'TYK_IB_SESSION_SECRET') delete env[k];
  const child = spawn(process.execPath, ['--import', path.join(root, 'test/support/module-log.js'), path.join(root, 'dist/main.js'), '-c', path.join(dir, 'tib.conf'), '-p', path.join(dir, 'profiles.json')], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exit = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exit;
    }
    await fs.rm(dir, { recursive: true, force: true });
  };
  // A wait, not a timing assertion: a loaded machine may take a while to start a process.
  for (let i = 0; i < 800 && !output.includes('admin API: ') && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
  if (!output.includes('admin API: ')) {
    await close();
    throw new Error(`the broker did not start:\n${output}`);
  }
  return { base: `http://127.0.0.1:${port}`, dir, modules: () => fs.readFile(path.join(dir, 'modules.log'), 'utf8'), close };
}
