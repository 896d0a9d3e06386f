// API tests of the dislog wasm bindings: every method and every error path.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Log, RecordIterator, thrown } from './load.mjs';

const enc = new TextEncoder();

/** Asserts that `fn` throws an Error of class `cls` with this `code`. */
function throwsCode(fn, code, cls = Error, match) {
  const e = thrown(fn);
  assert.ok(e instanceof cls, `expected ${cls.name}, got ${e && e.constructor && e.constructor.name}: ${e}`);
  assert.ok(e instanceof Error);
  assert.equal(e.code, code, `${e.message}`);
  assert.equal(typeof e.message, 'string');
  assert.ok(e.message.length > 10, e.message);
  if (match) assert.match(e.message, match);
  return e;
}

test('readMany reads many offsets in one call, in order, and throws what read throws', () => {
  const log = new Log();
  const words = ['zero', 'one', 'two', 'three', 'four', 'five'];
  log.appendBatch(words);
  const dec = new TextDecoder();
  const got = log.readMany([5, 0, 3, 3, 1]);
  assert.ok(Array.isArray(got));
  assert.ok(got.every((p) => p instanceof Uint8Array));
  assert.deepEqual(got.map((p) => dec.decode(p)), ['five', 'zero', 'three', 'three', 'one']);
  // More than one group of the multi-get (16), every offset.
  const all = Array.from({ length: 40 }, (_, i) => i % words.length);
  assert.deepEqual(log.readMany(all).map((p) => dec.decode(p)), all.map((i) => words[i]));
  assert.deepEqual(log.readMany([]), []);
  throwsCode(() => log.readMany([0, 6]), 'OUT_OF_RANGE', RangeError, /offset 6 is out of range/);
  throwsCode(() => log.readMany(3), 'INVALID_TYPE', TypeError, /offsets must be an array/);
  throwsCode(() => log.readMany([0, '1']), 'INVALID_TYPE', TypeError, /offsets\[1\] must be a number/);
  throwsCode(() => log.readMany([0, -1]), 'INVALID_ARGUMENT', RangeError, /offsets\[1\]/);
  log.free();
  throwsCode(() => log.readMany([0]), 'FREED', Error);
});

test('append, read, readString, readRecord and the offsets', () => {
  const log = new Log();
  assert.equal(log.lowestOffset, undefined);
  assert.equal(log.highestOffset, undefined);
  assert.equal(log.nextOffset, 0);
  assert.equal(log.length, 0);
  const before = Date.now();
  assert.equal(log.append('hello'), 0);
  assert.equal(log.append(new Uint8Array([0, 1, 255])), 1);
  assert.equal(log.append(Buffer.from('buf')), 2);
  assert.equal(log.append(''), 3);
  assert.equal(log.appendAt('timed', 1234), 4);
  const after = Date.now();
  assert.equal(log.readString(0), 'hello');
  assert.deepEqual(log.read(1), new Uint8Array([0, 1, 255]));
  assert.ok(log.read(1) instanceof Uint8Array);
  assert.equal(log.readString(2), 'buf');
  assert.equal(log.read(3).length, 0);
  assert.equal(log.readString(1), '\u0000\u0001\uFFFD', 'invalid UTF-8 becomes U+FFFD');
  const r = log.readRecord(0);
  assert.deepEqual(Object.keys(r).sort(), ['data', 'offset', 'timestamp']);
  assert.equal(r.offset, 0);
  assert.ok(r.timestamp >= before && r.timestamp <= after, `${r.timestamp}`);
  assert.deepEqual(r.data, enc.encode('hello'));
  assert.equal(log.readRecord(4).timestamp, 1234);
  assert.equal(log.lowestOffset, 0);
  assert.equal(log.highestOffset, 4);
  assert.equal(log.nextOffset, 5);
  assert.equal(log.length, 5);
  assert.ok(log.sizeBytes > 5 * 24, `${log.sizeBytes}`);
  // Unicode round trip.
  const off = log.append('ünïcødé 🚀');
  assert.equal(log.readString(off), 'ünïcødé 🚀');
  assert.deepEqual(log.read(off), enc.encode('ünïcødé 🚀'));
  log.free();
});

test('a read returns a copy, and the appended bytes are copied in', () => {
  const log = new Log();
  const src = new Uint8Array([1, 2, 3]);
  log.append(src);
  src[0] = 9;
  const out = log.read(0);
  out[1] = 9;
  assert.deepEqual(log.read(0), new Uint8Array([1, 2, 3]));
  log.free();
});

test('appendBatch: consecutive offsets, strings and bytes, shared timestamp, all or nothing', () => {
  const log = new Log({ maxRecordBytes: 8 });
  assert.equal(log.appendBatch(['a', new Uint8Array([2]), 'ccc']), 0);
  assert.equal(log.appendBatch(['d', 'e'], 77), 3);
  assert.equal(log.readString(2), 'ccc');
  assert.equal(log.readRecord(3).timestamp, 77);
  assert.equal(log.readRecord(4).timestamp, 77);
  assert.equal(log.nextOffset, 5);
  throwsCode(() => log.appendBatch([]), 'INVALID_ARGUMENT', RangeError, /empty batch/);
  throwsCode(() => log.appendBatch(['ok', 'way too large']), 'RECORD_TOO_LARGE', RangeError, /13 bytes/);
  throwsCode(() => log.appendBatch(['ok', 5]), 'INVALID_TYPE', TypeError, /records\[1\].*number/);
  throwsCode(() => log.appendBatch(['ok', null]), 'INVALID_TYPE', TypeError, /null/);
  throwsCode(() => log.appendBatch('abc'), 'INVALID_TYPE', TypeError, /array/);
  throwsCode(() => log.appendBatch(new Uint8Array(2)), 'INVALID_TYPE', TypeError);
  throwsCode(() => log.appendBatch(['x'], -1), 'INVALID_ARGUMENT', RangeError);
  throwsCode(() => log.appendBatch(['x'], 'now'), 'INVALID_TYPE', TypeError);
  assert.equal(log.nextOffset, 5, 'failed batches appended nothing');
  log.free();
});

test('appendBatch copies every record while wasm memory grows under it', () => {
  // Strings of three-byte characters take three times the room the batch
  // reserved for them up front, so memory grows in the middle of the
  // copies; the Uint8Arrays after each must still land in the right place.
  const log = new Log({ maxStoreBytes: 1 << 30, maxIndexBytes: 1 << 20 });
  const batch = [];
  for (let i = 0; i < 60; i++) {
    batch.push(String.fromCharCode(0x20ac).repeat(100_000) + i);
    batch.push(new Uint8Array(1000).fill(i));
  }
  const memoryBefore = log.sizeBytes;
  assert.equal(log.appendBatch(batch), 0);
  assert.ok(log.sizeBytes > memoryBefore + 60 * 300_000);
  for (let i = 0; i < 60; i++) {
    assert.equal(log.readString(2 * i), batch[2 * i], `record ${2 * i}`);
    assert.deepEqual(log.read(2 * i + 1), batch[2 * i + 1], `record ${2 * i + 1}`);
  }
  log.free();
});

test('wrong types and bad numbers throw TypeError/RangeError with codes', () => {
  const log = new Log();
  log.append('x');
  for (const bad of [undefined, null, 5, {}, [1, 2], new ArrayBuffer(2), true, 1n]) {
    throwsCode(() => log.append(bad), 'INVALID_TYPE', TypeError, /data must be a Uint8Array or a string/);
  }
  for (const bad of ['0', null, undefined, {}, 0n, [0]]) {
    throwsCode(() => log.read(bad), 'INVALID_TYPE', TypeError, /offset must be a number/);
  }
  throwsCode(() => log.read(-1), 'INVALID_ARGUMENT', RangeError, /negative/);
  throwsCode(() => log.read(0.5), 'INVALID_ARGUMENT', RangeError, /integer/);
  throwsCode(() => log.read(NaN), 'INVALID_ARGUMENT', RangeError, /integer/);
  throwsCode(() => log.read(Infinity), 'INVALID_ARGUMENT', RangeError, /integer/);
  throwsCode(() => log.read(2 ** 53), 'UNSAFE_INTEGER', RangeError, /MAX_SAFE_INTEGER/);
  throwsCode(() => log.read(1), 'OUT_OF_RANGE', RangeError, /offset 1 is out of range/);
  throwsCode(() => log.readString(7), 'OUT_OF_RANGE', RangeError);
  throwsCode(() => log.readRecord(7), 'OUT_OF_RANGE', RangeError);
  throwsCode(() => log.appendAt('x', -5), 'INVALID_ARGUMENT', RangeError);
  throwsCode(() => log.appendAt('x', 1.5), 'INVALID_ARGUMENT', RangeError);
  throwsCode(() => log.appendAt('x', '1'), 'INVALID_TYPE', TypeError);
  throwsCode(() => log.appendAt('x'), 'INVALID_TYPE', TypeError);
  throwsCode(() => log.appendAt(3, 1), 'INVALID_TYPE', TypeError);
  throwsCode(() => log.truncate('1'), 'INVALID_TYPE', TypeError);
  throwsCode(() => log.truncate(-1), 'INVALID_ARGUMENT', RangeError);
  throwsCode(() => log.truncateSuffix(undefined), 'INVALID_TYPE', TypeError);
  throwsCode(() => log.truncateSuffix(2 ** 60), 'UNSAFE_INTEGER', RangeError);
  throwsCode(() => log.retainBytes(-3), 'INVALID_ARGUMENT', RangeError);
  throwsCode(() => log.retainBytes('3'), 'INVALID_TYPE', TypeError);
  throwsCode(() => log.retainSince(0.1), 'INVALID_ARGUMENT', RangeError);
  throwsCode(() => log.retainSince({}), 'INVALID_TYPE', TypeError);
  throwsCode(() => log.offsetForTimestamp(-1), 'INVALID_ARGUMENT', RangeError);
  throwsCode(() => log.offsetForTimestamp('x'), 'INVALID_TYPE', TypeError);
  throwsCode(() => log.records('0'), 'INVALID_TYPE', TypeError);
  throwsCode(() => log.records(5), 'OUT_OF_RANGE', RangeError);
  throwsCode(() => log.waitFor(-1), 'INVALID_ARGUMENT', RangeError);
  throwsCode(() => log.waitFor('1'), 'INVALID_TYPE', TypeError);
  assert.equal(log.length, 1);
  log.free();
});

test('records larger than maxRecordBytes are refused', () => {
  const log = new Log({ maxRecordBytes: 4 });
  assert.equal(log.append('abcd'), 0);
  throwsCode(() => log.append('abcde'), 'RECORD_TOO_LARGE', RangeError, /5 bytes is larger than the maximum of 4/);
  throwsCode(() => log.append(new Uint8Array(1 << 20)), 'RECORD_TOO_LARGE', RangeError);
  // Refused before copying: the length is checked in JS units first...
  throwsCode(() => log.append('x'.repeat(1e7)), 'RECORD_TOO_LARGE', RangeError, /10000000 bytes/);
  throwsCode(() => log.appendBatch(['ok', new Uint8Array(5)]), 'RECORD_TOO_LARGE', RangeError, /5 bytes/);
  // ...and a string short in UTF-16 but long in UTF-8 is still refused.
  throwsCode(() => log.append('ééé'), 'RECORD_TOO_LARGE', RangeError, /6 bytes/);
  assert.equal(log.append('éé'), 1);
  const huge = new Log();
  throwsCode(() => huge.append(new Uint8Array(256 << 20)), 'RECORD_TOO_LARGE', RangeError, /268435456 bytes .* 8388608/);
  huge.free();
  assert.equal(log.nextOffset, 2);
  log.free();
});

test('options: defaults, every field, unknown keys and bad values', () => {
  const log = new Log({ initialOffset: 1000, maxStoreBytes: 200, maxIndexBytes: 64, maxRecordBytes: 100 });
  assert.equal(log.nextOffset, 1000);
  assert.equal(log.append('a'), 1000);
  assert.equal(log.lowestOffset, 1000);
  log.free();
  new Log(undefined).free();
  new Log(null).free();
  new Log({}).free();
  new Log({ initialOffset: undefined }).free();
  throwsCode(() => new Log({ maxStoreByte: 10 }), 'INVALID_CONFIG', Error, /unknown option "maxStoreByte"/);
  throwsCode(() => new Log({ maxStoreBytes: 10 }), 'INVALID_CONFIG', Error, /max_store_bytes/);
  throwsCode(() => new Log({ maxIndexBytes: 1 }), 'INVALID_CONFIG', Error, /max_index_bytes/);
  throwsCode(() => new Log({ maxRecordBytes: 0 }), 'INVALID_CONFIG', Error, /max_record_bytes/);
  throwsCode(() => new Log({ maxRecordBytes: 2 ** 40 }), 'INVALID_CONFIG', Error);
  throwsCode(() => new Log({ initialOffset: -1 }), 'INVALID_ARGUMENT', RangeError, /options.initialOffset/);
  throwsCode(() => new Log({ initialOffset: 2 ** 53 }), 'UNSAFE_INTEGER', RangeError);
  throwsCode(() => new Log({ initialOffset: '5' }), 'INVALID_TYPE', TypeError);
  throwsCode(() => new Log(5), 'INVALID_TYPE', TypeError, /options must be an object/);
  throwsCode(() => new Log('x'), 'INVALID_TYPE', TypeError);
  throwsCode(() => new Log([]), 'INVALID_TYPE', TypeError);
});

test('offsets stop at Number.MAX_SAFE_INTEGER instead of losing precision', () => {
  const log = new Log({ initialOffset: Number.MAX_SAFE_INTEGER - 2 });
  assert.equal(log.append('a'), Number.MAX_SAFE_INTEGER - 2);
  assert.equal(log.append('b'), Number.MAX_SAFE_INTEGER - 1);
  assert.equal(log.nextOffset, Number.MAX_SAFE_INTEGER);
  throwsCode(() => log.append('c'), 'UNSAFE_INTEGER', RangeError);
  throwsCode(() => log.appendBatch(['c', 'd']), 'UNSAFE_INTEGER', RangeError);
  assert.equal(log.highestOffset, Number.MAX_SAFE_INTEGER - 1);
  assert.equal(log.readString(Number.MAX_SAFE_INTEGER - 1), 'b');
  log.free();
});

test('records(): lazy iterator protocol, from, truncation while iterating', () => {
  const log = new Log();
  log.appendBatch(['a', 'b', 'c', 'd']);
  const it = log.records();
  assert.ok(it instanceof RecordIterator);
  assert.equal(it[Symbol.iterator](), it, 'an iterable iterator');
  const first = it.next();
  assert.equal(first.done, false);
  assert.equal(first.value.offset, 0);
  assert.deepEqual(first.value.data, enc.encode('a'));
  assert.equal(typeof first.value.timestamp, 'number');
  // Lazy: an append after creation is not seen; the rest still is.
  log.append('e');
  assert.deepEqual([...it].map((r) => new TextDecoder().decode(r.data)), ['b', 'c', 'd']);
  assert.deepEqual(it.next(), { value: undefined, done: true });
  assert.deepEqual([...log.records(3)].map((r) => r.offset), [3, 4]);
  assert.deepEqual([...log.records(5)], [], 'from = nextOffset is an empty iterator');
  const offsets = [];
  for (const r of log.records(1)) offsets.push(r.offset);
  assert.deepEqual(offsets, [1, 2, 3, 4]);
  // A suffix truncation ends an iterator early.
  const it2 = log.records();
  it2.next();
  log.truncateSuffix(2);
  assert.deepEqual([...it2].map((r) => r.offset), [1]);
  assert.deepEqual([...new Log().records()], []);
  log.free();
});

test('records(): a prefix truncation during iteration skips the removed records', () => {
  const log = new Log({ maxIndexBytes: 32 + 2 * 16 }); // 2 records per segment
  log.appendBatch(['0', '1', '2', '3', '4', '5']);
  const it = log.records();
  assert.equal(it.next().value.offset, 0);
  const removed = log.truncate(4);
  assert.equal(removed.segments, 2);
  assert.equal(removed.records, 4);
  assert.equal(log.lowestOffset, 4);
  assert.deepEqual([...it].map((r) => r.offset), [4, 5]);
  log.free();
});

test('truncate (prefix) removes whole segments and reports them', () => {
  const log = new Log({ maxIndexBytes: 32 + 2 * 16 }); // 2 records per segment
  log.appendBatch(['0', '1', '2', '3', '4']);
  const size = log.sizeBytes;
  const removed = log.truncate(3);
  assert.equal(removed.segments, 1);
  assert.equal(removed.records, 2);
  assert.ok(removed.bytes > 0);
  assert.equal(log.sizeBytes, size - removed.bytes);
  assert.equal(log.lowestOffset, 2, 'whole segments only: 2 shares a segment with 3');
  throwsCode(() => log.read(1), 'OUT_OF_RANGE', RangeError, /holds offsets 2 to 4/);
  assert.deepEqual(log.truncate(0), { segments: 0, records: 0, bytes: 0 });
  const all = log.truncate(100);
  assert.equal(all.records, 3);
  assert.equal(log.length, 0);
  assert.equal(log.lowestOffset, undefined);
  assert.equal(log.nextOffset, 5, 'an emptied log keeps its next offset');
  throwsCode(() => log.read(4), 'OUT_OF_RANGE', RangeError, /empty/);
  log.free();
});

test('truncateSuffix removes the tail so the next append reuses the offset', () => {
  const log = new Log({ maxIndexBytes: 32 + 2 * 16 });
  log.appendBatch(['0', '1', '2', '3', '4']);
  assert.equal(log.truncateSuffix(3), undefined);
  assert.equal(log.nextOffset, 3);
  assert.equal(log.highestOffset, 2);
  throwsCode(() => log.read(3), 'OUT_OF_RANGE', RangeError);
  assert.equal(log.append('new'), 3);
  assert.equal(log.readString(3), 'new');
  log.truncateSuffix(100); // past the end: nothing
  assert.equal(log.nextOffset, 4);
  log.truncateSuffix(0);
  assert.equal(log.length, 0);
  assert.equal(log.nextOffset, 0);
  log.free();
});

test('retainBytes and retainSince remove old segments, never the active one', () => {
  const log = new Log({ maxIndexBytes: 32 + 2 * 16 });
  log.appendAt('a', 100);
  log.appendAt('b', 200);
  log.appendAt('c', 300);
  log.appendAt('d', 400);
  log.appendAt('e', 500);
  assert.deepEqual(log.retainSince(100), { segments: 0, records: 0, bytes: 0 });
  const bySince = log.retainSince(250);
  assert.equal(bySince.records, 2);
  assert.equal(log.lowestOffset, 2);
  const byBytes = log.retainBytes(0);
  assert.equal(byBytes.segments, 1);
  assert.equal(log.lowestOffset, 4, 'the active segment stays');
  assert.deepEqual(log.retainBytes(0), { segments: 0, records: 0, bytes: 0 });
  assert.deepEqual(log.retainBytes(1e9), { segments: 0, records: 0, bytes: 0 });
  log.free();
});

test('offsetForTimestamp finds the first record at or after a time', () => {
  const log = new Log();
  assert.equal(log.offsetForTimestamp(0), undefined);
  log.appendAt('a', 10);
  log.appendAt('b', 20);
  log.appendAt('c', 30);
  assert.equal(log.offsetForTimestamp(0), 0);
  assert.equal(log.offsetForTimestamp(10), 0);
  assert.equal(log.offsetForTimestamp(11), 1);
  assert.equal(log.offsetForTimestamp(30), 2);
  assert.equal(log.offsetForTimestamp(31), undefined);
  const now = Date.now();
  const off = log.append('now');
  assert.equal(log.offsetForTimestamp(now), off);
  log.free();
});

test('snapshot and restore keep offsets, timestamps and bytes', () => {
  const log = new Log({ initialOffset: 40 });
  log.appendAt('a', 1);
  log.appendAt(new Uint8Array([0, 255]), 2);
  log.truncateSuffix(42);
  log.appendAt('c', 3);
  const snap = log.snapshot();
  assert.ok(snap instanceof Uint8Array);
  assert.equal(new TextDecoder().decode(snap.subarray(0, 8)), 'DSLGSNAP');
  const copy = Log.restore(snap);
  assert.equal(copy.lowestOffset, 40);
  assert.equal(copy.nextOffset, 43);
  assert.deepEqual([...copy.records()], [...log.records()]);
  assert.deepEqual(copy.snapshot(), snap, 'a restored log snapshots to the same bytes');
  copy.append('more');
  assert.equal(copy.nextOffset, 44);
  const small = Log.restore(snap, { maxRecordBytes: 10 });
  throwsCode(() => small.append('x'.repeat(11)), 'RECORD_TOO_LARGE', RangeError);
  // An empty log round-trips too, keeping its next offset.
  const empty = new Log({ initialOffset: 9 });
  const e2 = Log.restore(empty.snapshot());
  assert.equal(e2.length, 0);
  assert.equal(e2.nextOffset, 9);
  for (const l of [log, copy, small, empty, e2]) l.free();
});

test('restore refuses bad snapshot bytes with INVALID_SNAPSHOT, never a trap', () => {
  const log = new Log();
  log.appendBatch(['one', 'two', 'three']);
  const snap = log.snapshot();
  throwsCode(() => Log.restore(new Uint8Array(0)), 'INVALID_SNAPSHOT', Error, /shorter/);
  throwsCode(() => Log.restore(new Uint8Array(100)), 'INVALID_SNAPSHOT', Error, /magic/);
  // Every truncation of a real snapshot is refused.
  for (let n = 0; n < snap.length; n++) {
    throwsCode(() => Log.restore(snap.subarray(0, n)), 'INVALID_SNAPSHOT');
  }
  // Every single-bit flip is refused.
  for (let i = 0; i < snap.length; i++) {
    const bad = snap.slice();
    bad[i] ^= 0x10;
    throwsCode(() => Log.restore(bad), 'INVALID_SNAPSHOT');
  }
  const extra = new Uint8Array(snap.length + 1);
  extra.set(snap);
  throwsCode(() => Log.restore(extra), 'INVALID_SNAPSHOT');
  throwsCode(() => Log.restore('DSLGSNAP'), 'INVALID_TYPE', TypeError, /bytes must be a Uint8Array/);
  throwsCode(() => Log.restore(undefined), 'INVALID_TYPE', TypeError);
  throwsCode(() => Log.restore([1, 2, 3]), 'INVALID_TYPE', TypeError);
  throwsCode(() => Log.restore(snap, { nope: 1 }), 'INVALID_CONFIG');
  throwsCode(() => Log.restore(snap, 7), 'INVALID_TYPE', TypeError);
  assert.equal(Log.restore(snap).length, 3, 'the good bytes still restore');
  log.free();
});

test('waitFor resolves from the append hook, at once when already there', async () => {
  const log = new Log();
  log.append('zero');
  assert.equal(await log.waitFor(0), 1, 'already appended: resolves with nextOffset');
  const order = [];
  const p2 = log.waitFor(2).then((next) => order.push(['2', next]));
  const p1 = log.waitFor(1).then((next) => order.push(['1', next]));
  const p5 = log.waitFor(5).then((next) => order.push(['5', next]));
  assert.equal(log.pendingWaits, 3);
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(order, [], 'nothing resolves before an append');
  log.append('one');
  assert.equal(log.pendingWaits, 2);
  await p1;
  assert.deepEqual(order, [['1', 2]]);
  log.appendBatch(['two', 'three']);
  await p2;
  assert.deepEqual(order, [['1', 2], ['2', 4]]);
  log.truncateSuffix(1); // moving the end back resolves nothing
  assert.equal(log.pendingWaits, 1);
  log.appendBatch(['a', 'b', 'c', 'd', 'e']);
  await p5;
  assert.deepEqual(order.at(-1), ['5', 6]);
  assert.equal(log.pendingWaits, 0);
  log.free();
});

test('free(): pending waits reject, every later call throws FREED, free twice is fine', async () => {
  const log = new Log();
  log.append('a');
  const it = log.records();
  const pending = log.waitFor(10);
  log.free();
  await assert.rejects(pending, (e) => e instanceof Error && e.code === 'FREED');
  log.free();
  const calls = [
    () => log.append('x'),
    () => log.appendAt('x', 1),
    () => log.appendBatch(['x']),
    () => log.read(0),
    () => log.readString(0),
    () => log.readRecord(0),
    () => log.readMany([0]),
    () => log.lowestOffset,
    () => log.highestOffset,
    () => log.nextOffset,
    () => log.length,
    () => log.sizeBytes,
    () => log.pendingWaits,
    () => log.truncate(0),
    () => log.truncateSuffix(0),
    () => log.retainBytes(0),
    () => log.retainSince(0),
    () => log.offsetForTimestamp(0),
    () => log.records(),
    () => log.snapshot(),
    () => log.waitFor(0),
    () => it.next(),
  ];
  for (const call of calls) throwsCode(call, 'FREED', Error, /freed/);
  // `using`-style disposal goes through free() too.
  const other = new Log();
  other[Symbol.dispose]();
  throwsCode(() => other.append('x'), 'FREED');
});

test('an iterator\'s own free(): later next() throws FREED, twice is fine, the log lives on', () => {
  const log = new Log();
  log.appendBatch(['a', 'b', 'c']);
  const it = log.records();
  assert.equal(it.next().value.offset, 0);
  it.free();
  throwsCode(() => it.next(), 'FREED', Error, /iterator was freed/);
  it.free();
  throwsCode(() => it.next(), 'FREED', Error, /iterator was freed/);
  // The log and its other iterators are untouched.
  assert.deepEqual([...log.records()].map((r) => r.offset), [0, 1, 2]);
  const disposed = log.records(1);
  disposed[Symbol.dispose]();
  throwsCode(() => disposed.next(), 'FREED');
  assert.equal(log.readString(2), 'c');
  log.free();
});

test('RecordIterator cannot be constructed; methods on a foreign object throw INVALID_TYPE', () => {
  throwsCode(() => new RecordIterator(), 'INVALID_TYPE', TypeError, /log\.records/);
  const log = new Log();
  log.append('x');
  const it = log.records();
  for (const call of [
    () => Log.prototype.read.call({}, 0),
    () => Log.prototype.append.call({}, 'x'),
    () => Log.prototype.snapshot.call(Object.create(Log.prototype)),
    () => Object.getOwnPropertyDescriptor(Log.prototype, 'nextOffset').get.call({}),
    () => RecordIterator.prototype.next.call({}),
    () => RecordIterator.prototype.next.call(Object.create(RecordIterator.prototype)),
  ]) {
    throwsCode(call, 'INVALID_TYPE', TypeError, /not a live dislog object/);
  }
  // Nothing was disturbed.
  assert.equal(it.next().value.offset, 0);
  assert.equal(log.readString(0), 'x');
  log.free();
});

test('many logs are independent, and waiters are per log', async () => {
  const a = new Log();
  const b = new Log({ initialOffset: 100 });
  const wa = a.waitFor(0);
  b.append('b');
  assert.equal(a.pendingWaits, 1);
  a.append('a');
  assert.equal(await wa, 1);
  assert.equal(a.readString(0), 'a');
  assert.equal(b.readString(100), 'b');
  a.free();
  assert.equal(b.length, 1);
  b.free();
});

test('large records and many segments', () => {
  const log = new Log({ maxStoreBytes: 4096, maxRecordBytes: 3000 });
  const big = new Uint8Array(3000).map((_, i) => i & 0xff);
  for (let i = 0; i < 20; i++) log.append(big);
  assert.equal(log.length, 20);
  assert.deepEqual(log.read(19), big);
  const copy = Log.restore(log.snapshot(), { maxStoreBytes: 4096, maxRecordBytes: 3000 });
  assert.deepEqual(copy.read(7), big);
  log.free();
  copy.free();
});
