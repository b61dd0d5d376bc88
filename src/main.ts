#!/usr/bin/env node
/**
 * The CLI: TIB's flags (-c/--conf, -p), plus --check (validate config and profiles, then exit 0 or 1) and
 * --strict (warnings are errors). What cannot work is refused before anything starts (preflight.ts).
 * SIGHUP reloads profiles.json; SIGTERM/SIGINT stop gracefully.
 */
import fs from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { createBroker, DEFAULT_DRAIN_MS, StartupError } from './broker.js';
import { parseArgs, UsageError, USAGE } from './cli-args.js';
import { COMMANDS_USAGE, isToolCommand, runToolCommand } from './cli/cli.js';
import { describeConfig } from './config/load.js';
import { sampleSecretFinding } from './config/sample-secrets.js';
import type { Config } from './config/types.js';
import { tuneHeap } from './heap.js';
import { configureLogging, getLogger, logToStderr, type Logger } from './log.js';
import type { Profile } from './profiles/profile.js';
import { preflight, report } from './preflight.js';

function version(): string {
  const pkg = fileURLToPath(new URL('../package.json', import.meta.url));
  return (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string }).version;
}

/** The error's message and call sites, for a log line (registered secrets are masked there). */
function describeError(err: unknown): { reason: string; stack?: string } {
  if (!(err instanceof Error)) return { reason: String(err) };
  return { reason: err.message, stack: err.stack?.split('\n').slice(1).join('\n') };
}

/**
 * Last-resort handlers. A rejected promise nobody awaited is a bug but not a broken process: log it and keep
 * serving. An uncaught exception may have left state half-changed: log it and exit 1 so a supervisor
 * restarts a clean process (Node's default would also exit, but print the raw error past the log masks).
 */
export function installProcessGuards(log: Logger, exit: (code: number) => void = (code) => process.exit(code)): void {
  process.on('unhandledRejection', (reason) => {
    log.error('unhandled promise rejection (a bug; the broker keeps running)', describeError(reason));
  });
  process.on('uncaughtException', (err) => {
    log.error('uncaught exception (a bug); exiting', describeError(err));
    exit(1);
  });
}

/** Where a listener can be reached from this host: a wildcard address (all interfaces) as localhost. */
function baseUrl(server: http.Server): string {
  const { address, port } = server.address() as AddressInfo;
  const host = address === '0.0.0.0' || address === '::' ? 'localhost' : address.includes(':') ? `[${address}]` : address;
  return `${server instanceof tls.Server ? 'https' : 'http'}://${host}:${port}`;
}

/**
 * What `npm start` says once listening (as Dex and oauth2-proxy print their URLs): each profile's login URL,
 * the readiness probe and the admin API, or why the admin API is off.
 */
export function startupLines(profiles: readonly Profile[], loginSegments: (p: Profile) => string[], config: Pick<Config, 'Secret'>, main: http.Server, management?: http.Server): string[] {
  const base = baseUrl(main);
  const lines = profiles.flatMap((p) => loginSegments(p).map((s) => `login: profile ${JSON.stringify(p.ID)} (${p.ProviderName}) at ${base}/auth/${encodeURIComponent(p.ID)}/${encodeURIComponent(s)}`));
  if (profiles.length === 0) lines.push('login: no profiles loaded yet (add them to the profiles file or through the admin API)');
  lines.push(`readiness: ${base}/ready${management ? ` and ${baseUrl(management)}/ready` : ''}`);
  // As broker.ts decides it from the address actually listened on: a sample Secret beyond loopback is refused.
  const sample = sampleSecretFinding(config.Secret, (main.address() as AddressInfo).address);
  if (config.Secret === '') lines.push('admin API: disabled (Secret in tib.conf or TYK_IB_SECRET is empty)');
  else if (sample?.refused) lines.push('admin API: refused on this listener (403), its Secret is a sample from the repository (see the ERROR above)');
  else lines.push(`admin API: ${base}/api/profiles (Authorization: the admin Secret)`);
  return lines;
}

export async function main(argv: string[]): Promise<number> {
  // `profiles ...` and `explain ...`: the profile tooling (TIB's flags never begin with a bare word).
  if (isToolCommand(argv)) {
    // Their output may be piped (`sync --json | jq`): log lines must not mix into it.
    logToStderr();
    return runToolCommand(argv);
  }
  let args;
  try {
    args = parseArgs(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`${err.message}\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  if (args.help) {
    process.stdout.write(`${USAGE}\n\n${COMMANDS_USAGE}\n`);
    return 0;
  }
  if (args.version) {
    process.stdout.write(`identity-broker ${version()}\n`);
    return 0;
  }

  // Checked before anything starts: what cannot work is refused with one message listing every problem.
  const checkOpts = { confPath: args.confPath, profilesPath: args.profilesPath, env: process.env, strict: args.strict };
  const checked = await preflight(checkOpts);
  const verdict = report(checked, { ...checkOpts, check: args.check });
  if (checked.errors.length > 0 || !checked.loaded) {
    process.stderr.write(verdict.text);
    return 1;
  }
  const { config } = checked.loaded;
  // --check writes its result once, to one stream: the broker it builds logs nothing.
  configureLogging({ level: config.LogLevel, format: config.LogFormat, silent: args.check });
  const log = getLogger('MAIN');
  installProcessGuards(log);
  log.info(`identity-broker v${version()} (Tyk Identity Broker compatible)`);
  for (const w of checked.warnings) getLogger('CONFIG').warn(w);
  getLogger('CONFIG').debug('configuration', { config: describeConfig(config) });

  let broker;
  try {
    // strict: a profile that cannot be set up (an unreadable CA file, ...) is refused, at startup as by --check.
    broker = await createBroker({ config, profilesPath: args.profilesPath, watch: !args.check, strict: true, check: args.check });
  } catch (err) {
    if (err instanceof StartupError) {
      process.stderr.write(report({ ...checked, errors: err.problems }, { ...checkOpts, check: args.check }).text);
      return 1;
    }
    throw err;
  }
  if (args.check) {
    await broker.close();
    process.stdout.write(verdict.text);
    return 0;
  }

  // A serving broker only: --check and the commands above keep V8's own sizing.
  tuneHeap();
  try {
    const server = await broker.listen();
    const management = await broker.listenManagement();
    for (const line of startupLines(broker.store.list(), (p) => broker.loginSegments(p), config, server, management)) log.info(line);
  } catch (err) {
    log.error(`cannot listen: ${err instanceof Error ? err.message : String(err)}`);
    await broker.close();
    return 1;
  }

  const b = broker;
  process.on('SIGHUP', () => {
    log.info('SIGHUP: reloading profiles');
    void b.reload();
  });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info(`${signal}: shutting down (no new connections; logins in flight get up to ${DEFAULT_DRAIN_MS / 1000} s)`);
      void b.close().then(() => {
        log.info('stopped');
        resolve();
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}

// Run when executed directly (not when imported by tests).
if (process.argv[1] && fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
      process.exit(1);
    },
  );
}
