/**
 * Preloaded into the broker by the bench (node --expose-gc --import): on SIGUSR2 it collects garbage twice
 * and writes the heap in use to stderr as `HEAP {...}`. The broker's code is not touched.
 */
const gc = (globalThis as { gc?: () => void }).gc;
process.on('SIGUSR2', () => {
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  process.stderr.write(`HEAP ${JSON.stringify({ heapUsed: m.heapUsed, rss: m.rss, external: m.external })}\n`);
});
