/** Requests in flight through the broker's router, counted so a stop can wait for them (src/server.ts). */
import type { NextFunction, Request, Response } from 'express';

/** Counts requests in flight through the router; idle() resolves when none is left (or at the limit). */
export class Drain {
  private active = 0;
  private waiters: Array<() => void> = [];

  readonly track = (_req: Request, res: Response, next: NextFunction): void => {
    this.active++;
    let done = false;
    const end = () => {
      if (done) return;
      done = true;
      this.active--;
      if (this.active === 0) for (const w of this.waiters.splice(0)) w();
    };
    res.once('finish', end);
    res.once('close', end);
    next();
  };

  idle(limitMs: number): Promise<void> {
    if (this.active === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, limitMs);
      timer.unref();
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
