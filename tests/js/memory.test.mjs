// Out of wasm memory is an error with a code, not a trap. A module
// instance of its own (the web build, instantiated here) has its memory
// grown from JS to within HEADROOM of the 4 GiB wasm32 limit: the pages
// grown that way are never touched (so cost no RAM) and the allocator can
// only use what is left, so these tests need ~100 MiB, not gigabytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { initSync, Log } from '../../wasm/pkg/web/dislog_wasm.js';
import { thrown } from './load.mjs';

const MiB = 1 << 20;
const PAGE = 64 * 1024;
const HEADROOM = 64 * MiB;
const RECORD = new Uint8Array(8 * MiB).fill(7);

const wasm = initSync({ module: readFileSync(new URL('../../wasm/pkg/web/dislog_wasm_bg.wasm', import.meta.url)) });
const pages = wasm.memory.buffer.byteLength / PAGE;
wasm.memory.grow(65536 - pages - HEADROOM / PAGE);
assert.equal(wasm.memory.buffer.byteLength, 4 * 1024 * MiB - HEADROOM);

function assertOutOfMemory(fn) {
  const e = thrown(fn);
  assert.ok(e instanceof RangeError, `${e}`);
  assert.equal(e.code, 'OUT_OF_MEMORY', e.message);
  assert.match(e.message, /^out of memory: /);
}

test('a batch larger than the memory left is OUT_OF_MEMORY and appends nothing', () => {
  const log = new Log();
  log.append('before');
  assertOutOfMemory(() => log.appendBatch(Array(10).fill(RECORD)));
  assert.equal(log.nextOffset, 1);
  assert.equal(log.appendBatch(['after', RECORD]), 1);
  assert.deepEqual(log.read(2), RECORD);
  log.free();
});

test('restoring bytes larger than the memory left is OUT_OF_MEMORY', () => {
  assertOutOfMemory(() => Log.restore(new Uint8Array(96 * MiB)));
  const log = Log.restore(new Log().snapshot());
  assert.equal(log.length, 0);
  log.free();
});

test('a snapshot larger than the memory left is OUT_OF_MEMORY; the log stays usable', () => {
  // One 8 MiB record per segment: 4 of them leave too little for a 32 MiB copy.
  const log = new Log({ maxStoreBytes: 9 * MiB, maxIndexBytes: 1024 });
  for (let i = 0; i < 4; i++) assert.equal(log.append(RECORD), i);
  assertOutOfMemory(() => log.snapshot());
  assert.deepEqual(log.read(3), RECORD);
  // Freeing three segments makes room: the same call now works.
  assert.equal(log.truncate(3).records, 3);
  const copy = Log.restore(log.snapshot());
  assert.equal(copy.lowestOffset, 3);
  assert.deepEqual(copy.read(3), RECORD);
  copy.free();
  log.free();
});

test('an append the engine cannot store is OUT_OF_MEMORY, changes nothing, and the log keeps working', () => {
  // One large store: its buffer cannot grow once the rest of the memory is
  // smaller than it, while the binding's 8 MiB copy of the record still fits.
  const log = new Log({ maxStoreBytes: 1024 * MiB });
  let e;
  let n = 0;
  for (; n < 16; n++) {
    try {
      log.append(RECORD);
    } catch (err) {
      e = err;
      break;
    }
  }
  assert.ok(e instanceof RangeError, `${e}`);
  assert.equal(e.code, 'OUT_OF_MEMORY', e.message);
  // The engine's error, not the binding's copy.
  assert.match(e.message, /no space left on device: out of memory/);
  assert.equal(log.nextOffset, n);
  assert.deepEqual(log.read(n - 1), RECORD);
  // Not poisoned: smaller appends still fit.
  assert.equal(log.append('after'), n);
  assert.equal(log.readString(n), 'after');
  log.free();
});

test('after all that the module still works', () => {
  const log = new Log();
  log.append('still here');
  assert.equal(log.readString(0), 'still here');
  log.free();
});
