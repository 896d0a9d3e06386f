// appendBatch throughput of 100-byte records through the Node build of the
// wasm package. A measurement, not a test: prints appends/s.
//   node tests/js/bench/append-batch.mjs [records] [batch]
import { Log } from '../load.mjs';

const total = Number(process.argv[2] ?? 2_000_000);
const batchSize = Number(process.argv[3] ?? 1000);
const batch = Array.from({ length: batchSize }, (_, i) => new Uint8Array(100).fill(i & 0xff));

function run() {
  const log = new Log();
  const start = process.hrtime.bigint();
  for (let done = 0; done < total; done += batchSize) log.appendBatch(batch);
  const secs = Number(process.hrtime.bigint() - start) / 1e9;
  const n = log.length;
  log.free();
  return { n, secs };
}

run(); // warm up the JIT and the allocator
const results = [1, 2, 3].map(run);
const best = results.reduce((a, b) => (a.secs < b.secs ? a : b));
const rate = best.n / best.secs;
console.log(`appendBatch: ${best.n} records of 100 bytes in batches of ${batchSize}: ` +
  `${(best.secs * 1000).toFixed(0)} ms, ${Math.round(rate).toLocaleString('en-US')} appends/s ` +
  `(${((best.n * 100) / best.secs / 1e6).toFixed(0)} MB/s payload; best of 3)`);
