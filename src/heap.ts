/**
 * V8's heap sizing for the broker's server process (issue 22: peak RSS at 64 logins at a time).
 *
 * A login allocates ~150 KB that nearly all dies young, and the live heap stays ~25 MB. With V8's defaults the
 * young generation grows to 2 x 16 MB (Node 20; more on Node 24) and the old generation to 2-4 times its live
 * size before a full collection, so a busy replica's RSS rose to ~210 MB (Node 20) and ~290 MB (Node 24) for a
 * live heap of 25 MB. Both limits below brought it to ~125-140 MB for about the same CPU per login
 * (docs/performance.md, "Heap sizing"; `BENCH_ONLY=memory npm run bench`).
 */
import v8 from 'node:v8';

/**
 * What the broker's own launchers pass to node: the Dockerfile's ENTRYPOINT, the compose stack's broker,
 * scripts/start.sh (`npm start`) and the bench (bench/run.ts). V8 fixes the young generation's largest size
 * when the process starts, so this one cannot be set from inside; test/unit/heap.test.ts keeps the launchers
 * in step with it.
 */
export const NODE_FLAGS: readonly string[] = ['--max-semi-space-size=8'];

/** How far the old generation may grow past what survived the last full collection before the next one. */
export const HEAP_GROWING_PERCENT = 30;

/**
 * The V8 flag to set at start, or undefined when the operator chose their own on node's command line
 * (`node --heap-growing-percent=0 dist/main.js` restores V8's own sizing). Read by V8 at every full
 * collection, so setting it once the process runs takes effect.
 */
export function heapGrowingFlag(execArgv: readonly string[]): string | undefined {
  const own = execArgv.some((a) => /^--heap[-_]growing[-_]percent(=|$)/.test(a));
  return own ? undefined : `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

/** For the server only (src/main.ts): a host application embedding the broker keeps its own heap sizing. */
export function tuneHeap(execArgv: readonly string[] = process.execArgv): void {
  const flag = heapGrowingFlag(execArgv);
  if (flag) v8.setFlagsFromString(flag);
}
