/**
 * The audit event of each admin-API change (create, update, delete, save), written when its answer has
 * been sent, whatever the outcome (a refused write is audited too; reads and explain are not changes).
 * Mounted in front of the admin API so that router stays about profiles.
 */
import type { NextFunction, Request, Response } from 'express';
import type { AdminOperation, AuditLog } from '../audit.js';
import { clientIp, type TrustedProxies } from '../client-ip.js';
import { currentRequestContext } from '../log.js';

/** The change a request asks for, from its method and path under /api; undefined for reads. */
export function adminOperation(method: string, path: string): { operation: AdminOperation; profile: string } | undefined {
  if (method === 'POST' && path === '/profiles/save') return { operation: 'save', profile: '' };
  const m = /^\/profiles\/([^/]+)$/.exec(path);
  if (!m) return undefined;
  let profile: string;
  try {
    profile = decodeURIComponent(m[1] as string);
  } catch {
    profile = m[1] as string;
  }
  const operation = ({ POST: 'create', PUT: 'update', DELETE: 'delete' } as const)[method as 'POST' | 'PUT' | 'DELETE'];
  return operation ? { operation, profile } : undefined;
}

export function adminAudit(audit: AuditLog | undefined, trusted: TrustedProxies) {
  return (req: Request, res: Response, next: NextFunction) => {
    const op = audit ? adminOperation(req.method, req.path) : undefined;
    if (audit && op) {
      const client = clientIp(req.socket.remoteAddress, req.headers['x-forwarded-for'], trusted);
      // Taken now: 'finish' may be emitted outside the request's log context.
      const requestId = currentRequestContext()?.request_id;
      res.once('finish', () => {
        const ok = res.statusCode < 400;
        audit.admin({ ...op, outcome: ok ? 'success' : 'failure', status: res.statusCode, client, requestId });
      });
    }
    next();
  };
}
