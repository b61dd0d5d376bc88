/**
 * An in-process broker for tests: writes the given profiles to a temp profiles.json, merges config
 * overrides over the defaults, captures every log line at debug level, and serves on an ephemeral
 * loopback port, standalone or mounted under a prefix in a host Express app.
 */
import fs from 'node:fs/promises';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { createBroker, type Broker, type BrokerOptions } from '../../src/broker.js';
import { defaultConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { captureLogs } from './logs.js';

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

export interface TestBroker {
  /** Base URL of the broker's routes (including mountPath). */
  url: string;
  /** Every formatted log line emitted while it ran, at debug level. */
  logs: string[];
  profilesPath: string;
  dir: string;
  broker: Broker;
  config: Config;
  close(): Promise<void>;
}

export interface TestBrokerOptions {
  profiles: unknown[];
  config?: DeepPartial<Config>;
  /** Mount the broker's router under this prefix in a host app (e.g. "/tib"). */
  mountPath?: string;
  /** Watch the profiles file (default false in tests, to keep them deterministic). */
  watch?: boolean;
  /** Listen on this port (e.g. one reserved with freePort(), when profiles must name the broker's URL). */
  port?: number;
  /** The embedder's own providers (BrokerOptions.providers). */
  providers?: BrokerOptions['providers'];
}

function merge<T>(base: T, over: DeepPartial<T> | undefined): T {
  if (!over) return base;
  const out = { ...base } as Record<string, unknown>;
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? merge(b, v as DeepPartial<typeof b>)
        : v;
  }
  return out as T;
}

export async function startTestBroker(opts: TestBrokerOptions): Promise<TestBroker> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'broker-test-'));
  const profilesPath = path.join(dir, 'profiles.json');
  await fs.writeFile(profilesPath, JSON.stringify(opts.profiles, null, 2));
  const config = merge(defaultConfig(), { ProfileDir: dir, ...opts.config } as DeepPartial<Config>);
  const capture = captureLogs();
  let broker: Broker;
  try {
    broker = await createBroker({ config, profilesPath, watch: opts.watch ?? false, providers: opts.providers });
  } catch (err) {
    capture.stop();
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }

  let server: http.Server;
  if (opts.mountPath) {
    const host = express();
    host.get('/', (_req, res) => {
      res.send('host application');
    });
    host.use(opts.mountPath, broker.router);
    server = await new Promise<http.Server>((resolve) => {
      const s = host.listen(opts.port ?? 0, '127.0.0.1', () => resolve(s));
    });
  } else {
    server = await broker.listen(opts.port ?? 0, '127.0.0.1');
  }
  const port = (server.address() as AddressInfo).port;
  const scheme = config.HttpServerOptions.UseSSL && !opts.mountPath ? 'https' : 'http';

  return {
    url: `${scheme}://127.0.0.1:${port}${opts.mountPath ?? ''}`,
    logs: capture.lines,
    profilesPath,
    dir,
    broker,
    config,
    async close() {
      if (opts.mountPath) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      await broker.close();
      capture.stop();
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}
