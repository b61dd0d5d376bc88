/**
 * Preloaded (node --expose-gc --import) into each process the sync bench runs to its end (bench/sync.ts): the
 * broker's CLI and the direct baseline. It follows the heap in use just after each major GC (the live data's
 * peak, without forcing a GC during the run), and at exit collects garbage twice and writes `SYNCPROBE {json}`
 * to stderr: peak RSS (VmHWM), that heap peak, the heap after GC at the end, and the process's CPU time. The
 * measured code is not touched; a process that has exited has no /proc entry left to read, hence a probe.
 */
import fs from 'node:fs';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

const MB = 2 ** 20;
let afterMajorGc = 0;
// Called shortly after the GC: what was allocated meanwhile is counted too, so this is an upper bound.
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    if ((e as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) afterMajorGc = Math.max(afterMajorGc, v8.getHeapStatistics().used_heap_size);
  }
}).observe({ entryTypes: ['gc'] });

process.on('exit', () => {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const hwmKb = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1];
  const cpu = process.cpuUsage();
  const out = { peakRssMb: Number(hwmKb ?? NaN) / 1024, heapAfterMajorGcMb: afterMajorGc / MB, heapAtEndMb: process.memoryUsage().heapUsed / MB, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  fs.writeSync(2, `SYNCPROBE ${JSON.stringify(out)}\n`);
});
