// No input makes the module trap (out-of-memory cases: memory.test.mjs): hand-made snapshots that are valid but
// hold values JS numbers cannot carry, and a seeded random walk over every
// method with arguments of every type, where each throw must be an Error
// with a known code (a wasm trap is a WebAssembly.RuntimeError, and would
// also leave the module unusable).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { Log, thrown } from './load.mjs';

const CODES = new Set([
  'INVALID_TYPE', 'UNSAFE_INTEGER', 'FREED', 'IO', 'LOCKED', 'INVALID_CONFIG', 'INVALID_ARGUMENT',
  'OUT_OF_RANGE', 'RECORD_TOO_LARGE', 'CORRUPT', 'FORMAT', 'INVALID_SNAPSHOT', 'POISONED',
  'OUT_OF_MEMORY',
]);

/** CRC-32C (Castagnoli), bit by bit: the checksum of format version 2. */
function crc32c(bytes) {
  let reg = 0xffffffff;
  for (const b of bytes) {
    reg ^= b;
    for (let i = 0; i < 8; i++) reg = (reg >>> 1) ^ (0x82f63b78 & -(reg & 1));
  }
  return (reg ^ 0xffffffff) >>> 0;
}

/** Builds snapshot bytes (FORMAT.md, "Snapshot") from raw fields, in format
 * `version` (1: CRC-32, 2: CRC-32C). */
function snapshot({ first, next = undefined, records, count = undefined, version = 2 }) {
  const checksum = version === 1 ? crc32 : crc32c;
  const frames = records.map(({ offset, timestamp, data }) => {
    const f = Buffer.alloc(24 + data.length);
    f.writeUInt32LE(data.length, 4);
    f.writeBigUInt64LE(BigInt(offset), 8);
    f.writeBigUInt64LE(BigInt(timestamp), 16);
    Buffer.from(data).copy(f, 24);
    f.writeUInt32LE(checksum(f.subarray(4)), 0);
    return f;
  });
  const header = Buffer.alloc(32);
  header.write('DSLGSNAP', 0, 'latin1');
  header.writeUInt32LE(version, 8);
  header.writeBigUInt64LE(BigInt(first), 16);
  header.writeBigUInt64LE(BigInt(next ?? BigInt(first) + BigInt(records.length)), 24);
  const trailer = Buffer.alloc(24);
  trailer.write('DSLGSEND', 0, 'latin1');
  trailer.writeBigUInt64LE(BigInt(count ?? records.length), 8);
  const body = Buffer.concat([header, ...frames, trailer.subarray(0, 16)]);
  trailer.writeUInt32LE(checksum(body), 16);
  return new Uint8Array(Buffer.concat([body, trailer.subarray(16)]));
}

test('the hand-made snapshot writer matches the engine (so the cases below are meaningful)', () => {
  const log = new Log({ initialOffset: 7 });
  log.appendAt('abc', 42);
  log.appendAt('', 43);
  const records = [
    { offset: 7, timestamp: 42, data: Buffer.from('abc') },
    { offset: 8, timestamp: 43, data: Buffer.alloc(0) },
  ];
  const made = snapshot({ first: 7, records });
  assert.deepEqual(made, log.snapshot());
  // A version 1 snapshot (CRC-32) still restores, and is written back as version 2.
  const old = Log.restore(snapshot({ first: 7, records, version: 1 }));
  assert.deepEqual(old.snapshot(), made);
  old.free();
  log.free();
});

test('snapshots with offsets past 2^53 are refused with UNSAFE_INTEGER', () => {
  const bytes = snapshot({ first: 2n ** 53n - 1n, records: [{ offset: 2n ** 53n - 1n, timestamp: 1, data: Buffer.from('x') }] });
  const e = thrown(() => Log.restore(bytes));
  assert.ok(e instanceof RangeError);
  assert.equal(e.code, 'UNSAFE_INTEGER');
  const far = snapshot({ first: 2n ** 62n, records: [] });
  assert.equal(thrown(() => Log.restore(far)).code, 'UNSAFE_INTEGER');
});

test('a record whose timestamp is past 2^53 reads as bytes but not as a number', () => {
  const bytes = snapshot({ first: 0, records: [{ offset: 0, timestamp: 2n ** 60n, data: Buffer.from('late') }] });
  const log = Log.restore(bytes);
  assert.equal(log.readString(0), 'late');
  assert.equal(thrown(() => log.readRecord(0)).code, 'UNSAFE_INTEGER');
  assert.equal(thrown(() => log.records().next()).code, 'UNSAFE_INTEGER');
  assert.equal(log.offsetForTimestamp(5), 0);
  log.free();
});

test('checksummed but inconsistent snapshots are refused with INVALID_SNAPSHOT', () => {
  const rec = (offset) => ({ offset, timestamp: 1, data: Buffer.from('r') });
  for (const bad of [
    snapshot({ first: 0, records: [rec(0), rec(5)] }),           // offsets not consecutive
    snapshot({ first: 0, records: [rec(0)], count: 2 }),          // trailer count wrong
    snapshot({ first: 0, next: 3, records: [rec(0)], count: 3 }), // header end past the records
    snapshot({ first: 0, records: [rec(0)], version: 99 }),       // unknown format version
  ]) {
    const e = thrown(() => Log.restore(bad));
    assert.equal(e.code, 'INVALID_SNAPSHOT', e.message);
  }
});

test('a random walk over every method never traps', () => {
  let seed = 0x2545f491;
  const rand = (n) => {
    seed ^= seed << 13; seed >>>= 0;
    seed ^= seed >>> 17;
    seed ^= seed << 5; seed >>>= 0;
    return seed % n;
  };
  const values = () => [
    undefined, null, -1, 0, 1, 2, 3, 5, 17, 2.5, NaN, Infinity, -0, 2 ** 53, 2 ** 53 - 1, 1e300,
    'text', '', '0', new Uint8Array(rand(40)), new Uint8Array(300), {}, [], ['a', 'b'], [1],
    [new Uint8Array(3), 'x'], 1n, true, () => 1, Symbol('s'), new ArrayBuffer(3),
    { maxRecordBytes: 64 }, { maxStoreBytes: 200, maxIndexBytes: 48 }, { bogus: 1 },
  ];
  const pick = () => { const v = values(); return v[rand(v.length)]; };
  let log = new Log({ maxStoreBytes: 300, maxIndexBytes: 32 + 16 * 3, maxRecordBytes: 100 });
  let iter = log.records();
  const methods = [
    () => log.append(pick()),
    () => log.appendAt(pick(), pick()),
    () => log.appendBatch(pick(), pick()),
    () => log.appendBatch([pick(), pick()]),
    () => log.read(pick()),
    () => log.readString(pick()),
    () => log.readRecord(pick()),
    () => log.lowestOffset,
    () => log.highestOffset,
    () => log.nextOffset,
    () => log.length,
    () => log.sizeBytes,
    () => log.truncate(pick()),
    () => log.truncateSuffix(pick()),
    () => log.retainBytes(pick()),
    () => log.retainSince(pick()),
    () => log.offsetForTimestamp(pick()),
    () => { iter = log.records(pick()); },
    () => iter.next(),
    () => { if (rand(20) === 0) iter.free(); },
    () => Log.prototype.read.call(pick() ?? {}, pick()), // null/undefined: JS throws before the glue
    () => log.snapshot(),
    () => Log.restore(pick(), pick()).free(),
    () => Log.restore(log.snapshot(), pick()).free(),
    () => { log.waitFor(pick()).catch(() => {}); },
    () => { if (rand(20) === 0) log.free(); },
    () => { if (rand(10) === 0) { log = new Log(pick()); iter = log.records(); } },
  ];
  let errors = 0;
  for (let i = 0; i < 20000; i++) {
    try {
      methods[rand(methods.length)]();
    } catch (e) {
      errors++;
      assert.ok(!(e instanceof WebAssembly.RuntimeError), `step ${i}: wasm trap: ${e}`);
      assert.ok(e instanceof Error, `step ${i}: threw a non-Error: ${String(e)}`);
      assert.ok(CODES.has(e.code), `step ${i}: unknown code ${e.code}: ${e.message}`);
    }
  }
  assert.ok(errors > 1000, `the walk should hit many error paths, hit ${errors}`);
  // The module is still healthy.
  const fresh = new Log();
  fresh.appendBatch(['still', 'works']);
  assert.equal(Log.restore(fresh.snapshot()).readString(1), 'works');
});

test('inputs past what wasm32 can address are OUT_OF_MEMORY at once, copying nothing', () => {
  const log = new Log();
  const big = new Uint8Array(8 << 20);
  for (const fn of [
    () => log.appendBatch(Array(600).fill(big)), // 4.7 GiB of records, each within the limit
    () => log.appendBatch(new Array(2 ** 32 - 1)), // 2^32 - 1 (empty) slots
    () => Log.restore(new Uint8Array(3 * 2 ** 30)), // 3 GiB (never touched: no RAM used)
  ]) {
    const e = thrown(fn);
    assert.ok(e instanceof RangeError, `${e}`);
    assert.equal(e.code, 'OUT_OF_MEMORY', e.message);
  }
  assert.equal(log.nextOffset, 0);
  log.appendBatch([big, 'x']);
  assert.equal(log.readString(1), 'x');
  log.free();
});
