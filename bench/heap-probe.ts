/**
 * Preloaded into the broker by the bench (node --expose-gc --import): on SIGUSR2 it collects garbage twice
 * and writes the heap in use to stderr as `HEAP {...}`, with `allocated`: the bytes the broker allocated since
 * the previous SIGUSR2 (from V8's GC profiler: what each GC freed plus what the heap grew; the forced GCs
 * here are left out), and `gcUs`: the time V8 spent in those GCs (µs). The first SIGUSR2 starts the count (no `allocated`), so nothing runs before the bench
 * asks. The broker's code is not touched.
 */
import v8 from 'node:v8';

const gc = (globalThis as { gc?: () => void }).gc;
let profiler: v8.GCProfiler | undefined;
/** The heap in use when the profiler (re)started, after the forced GCs. */
let usedAtMark = 0;

process.on('SIGUSR2', () => {
  let allocated: number | undefined;
  let gcUs: number | undefined;
  if (profiler) {
    const { statistics } = profiler.stop();
    const freed = statistics.reduce((sum, s) => sum + s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize, 0);
    allocated = v8.getHeapStatistics().used_heap_size - usedAtMark + freed;
    gcUs = statistics.reduce((sum, s) => sum + s.cost, 0);
  }
  gc?.();
  gc?.();
  const m = process.memoryUsage();
  usedAtMark = v8.getHeapStatistics().used_heap_size;
  profiler = new v8.GCProfiler();
  profiler.start();
  process.stderr.write(`HEAP ${JSON.stringify({ heapUsed: m.heapUsed, rss: m.rss, external: m.external, allocated, gcUs })}\n`);
});
