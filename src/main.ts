#!/usr/bin/env node
/**
 * The CLI: TIB's flags (-c/--conf, -p), plus --check (validate config and profiles, then exit 0 or 1).
 * SIGHUP reloads profiles.json; SIGTERM/SIGINT stop gracefully.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createBroker, StartupError } from './broker.js';
import { parseArgs, UsageError, USAGE } from './cli-args.js';
import { ConfigError, describeConfig, loadConfig } from './config/load.js';
import { configureLogging, getLogger, type Logger } from './log.js';

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

export async function main(argv: string[]): Promise<number> {
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
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (args.version) {
    process.stdout.write(`identity-broker ${version()}\n`);
    return 0;
  }

  let loaded;
  try {
    loaded = loadConfig({ confPath: args.confPath, env: process.env });
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`configuration rejected:\n${err.message}`);
      return 1;
    }
    throw err;
  }
  const { config } = loaded;
  configureLogging({ level: config.LogLevel, format: config.LogFormat });
  const log = getLogger('MAIN');
  installProcessGuards(log);
  log.info(`identity-broker v${version()} (Tyk Identity Broker compatible)`);
  for (const w of loaded.warnings) getLogger('CONFIG').warn(w);
  getLogger('CONFIG').debug('configuration', { config: describeConfig(config) });

  let broker;
  try {
    broker = await createBroker({ config, profilesPath: args.profilesPath, watch: !args.check, strict: args.check, check: args.check });
  } catch (err) {
    if (err instanceof StartupError) {
      console.error(`profiles rejected (${args.profilesPath}):\n${err.message}`);
      return 1;
    }
    throw err;
  }
  if (args.check) {
    await broker.close();
    process.stdout.write(`ok: ${args.confPath} and ${args.profilesPath} are valid (${broker.store.list().length} profiles)\n`);
    return 0;
  }

  try {
    await broker.listen();
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
      log.info(`${signal}: shutting down`);
      void b.close().then(resolve);
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
