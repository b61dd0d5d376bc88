/** Captures the broker's formatted log lines (what the console would print) during a test. */
import { Writable } from 'node:stream';
import winston from 'winston';
import { rootLogger } from '../../src/log.js';

/** Capture formatted log lines (the same text the console would get) and mute the console meanwhile. */
export function captureLogs(): { lines: string[]; stop(): void } {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const transport = new winston.transports.Stream({ stream: sink });
  const consoles = rootLogger.transports.filter((t) => t instanceof winston.transports.Console);
  const previousLevel = rootLogger.level;
  const previousSilent = consoles.map((t) => t.silent);
  consoles.forEach((t) => (t.silent = true));
  rootLogger.level = 'debug';
  rootLogger.add(transport);
  return {
    lines,
    stop() {
      rootLogger.remove(transport);
      rootLogger.level = previousLevel;
      consoles.forEach((t, i) => (t.silent = previousSilent[i]));
    },
  };
}

