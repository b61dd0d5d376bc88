/** Starting and stopping the demo's HTTP servers. */
import type http from 'node:http';
import type express from 'express';

/** Resolves with the listening server; rejects when the port is taken (EADDRINUSE). */
export function listen(app: express.Express, port: number, host: string): Promise<http.Server> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/** Stop at once: a demo has no logins worth waiting for, and Ctrl-C should not hang on a keep-alive socket. */
export function stop(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A port taken by something else, said with the variable that moves it. */
export function describeListenError(err: unknown, port: number, variable: string): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'EADDRINUSE') return `port ${port} is already in use: stop what uses it or set ${variable} to another port`;
  if (code === 'EACCES') return `port ${port} cannot be opened by this user: set ${variable} to a port above 1024`;
  return `port ${port} (${variable}): ${err instanceof Error ? err.message : String(err)}`;
}
