/** TIB's JSON envelopes (docs/tib-behaviour.md §2.3): `{Status,ID,Data}` on success, `{Status,Error}` on error. */
import type { Response } from 'express';

/** Go's encoder escapes <, > and & in strings; we do the same so bodies are byte-compatible. */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
}

export function sendOk(res: Response, status: number, id: string, data: unknown): void {
  res.status(status).type('application/json').send(goJson({ Status: 'ok', ID: id, Data: data }));
}

export function sendError(res: Response, status: number, message: string): void {
  res.status(status).type('application/json').send(goJson({ Status: 'error', Error: message }));
}
