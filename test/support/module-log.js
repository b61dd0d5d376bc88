// Preloaded (node --import) into a broker a test starts: appends the URL of every module the ESM loader
// resolves to the file named by MODULE_LOG, so the test can tell which libraries were loaded
// (test/integration/saml/lazy-stacks.test.ts). The hooks run on the loader's own thread.
import fs from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

if (isMainThread) register(import.meta.url);

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (process.env.MODULE_LOG) fs.appendFileSync(process.env.MODULE_LOG, `${resolved.url}\n`);
  return resolved;
}
