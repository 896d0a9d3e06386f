// The cost of one wasm call from Node: single appends and reads of 100-byte
// records through the nodejs build, reads through readMany (per record),
// against a plain JS array doing the same work in the same run. A
// measurement, not a test: prints ns per call.
//   node tests/js/bench/calls.mjs [calls]
import { Log } from '../load.mjs';

const calls = Number(process.argv[2] ?? 1_000_000);
const payload = new Uint8Array(100).fill(7);

function time(fn) {
  fn(Math.min(calls, 10_000)); // warm up the JIT
  const samples = [1, 2, 3].map(() => {
    const start = process.hrtime.bigint();
    fn(calls);
    return Number(process.hrtime.bigint() - start) / calls;
  });
  return samples.sort((a, b) => a - b)[1]; // median of 3
}

const log = new Log();
const append = time((n) => { for (let i = 0; i < n; i++) log.append(payload); });
const records = log.length;
let sum = 0;
const read = time((n) => { for (let i = 0; i < n; i++) sum += log.read((i * 7919) % records).length; });
// The same offsets through readMany, 1,000 a call: per record.
const offsets = Array.from({ length: 1000 }, (_, i) => (i * 7919) % records);
const readMany = time((n) => {
  for (let i = 0; i < n; i += 1000) for (const p of log.readMany(offsets)) sum += p.length;
});
log.free();

const array = [];
const baseline = time((n) => { for (let i = 0; i < n; i++) array.push(payload.slice()); });

console.log(`wasm calls from Node (${calls.toLocaleString('en-US')} each, median of 3): ` +
  `append ${append.toFixed(0)} ns, read ${read.toFixed(0)} ns (a copy out), ` +
  `readMany ${readMany.toFixed(0)} ns a record (1,000 offsets a call), ` +
  `plain JS array push of a copy ${baseline.toFixed(0)} ns [${sum > 0 ? 'ok' : 'no reads'}]`);
