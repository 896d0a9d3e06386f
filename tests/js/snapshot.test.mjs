// Cross-backend snapshot proof. The wasm build writes
// tests/fixtures/snapshot-from-wasm.bin (committed; this test regenerates it
// and fails when the bytes differ) for the native side to restore, and
// restores tests/fixtures/snapshot-from-native.bin (committed; written by
// ffi/tests/cross_backend_snapshot.rs, which also restores the wasm one). Both hold the same four records, listed in FIXTURE_RECORDS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Log } from './load.mjs';

const fixtures = new URL('../fixtures/', import.meta.url);
const fromWasm = new URL('snapshot-from-wasm.bin', fixtures);
const fromNative = new URL('snapshot-from-native.bin', fixtures);

/** The records of both fixtures: initial offset 100, fixed timestamps. */
export const FIXTURE_RECORDS = [
  { offset: 100, timestamp: 1700000000000, data: new TextEncoder().encode('hello from dislog') },
  { offset: 101, timestamp: 1700000000001, data: new Uint8Array([0, 1, 2, 255]) },
  { offset: 102, timestamp: 1700000000002, data: new Uint8Array([]) },
  { offset: 103, timestamp: 1700000000003, data: new TextEncoder().encode('ünïcødé 🚀') },
];

function fixtureLog() {
  const log = new Log({ initialOffset: 100 });
  for (const r of FIXTURE_RECORDS) log.appendAt(r.data, r.timestamp);
  return log;
}

function assertFixtureRecords(log) {
  assert.equal(log.lowestOffset, 100);
  assert.equal(log.nextOffset, 104);
  const got = [...log.records()].map((r) => ({ ...r, data: new Uint8Array(r.data) }));
  assert.deepEqual(got, FIXTURE_RECORDS);
}

test('the wasm snapshot fixture is what this build writes, and restores', () => {
  const log = fixtureLog();
  const bytes = log.snapshot();
  if (!existsSync(fromWasm) || process.env.DISLOG_UPDATE_FIXTURES === '1') {
    writeFileSync(fromWasm, bytes);
  }
  const committed = new Uint8Array(readFileSync(fromWasm));
  assert.deepEqual(bytes, committed, 'snapshot format changed: rerun with DISLOG_UPDATE_FIXTURES=1 only if intended');
  assert.equal(bytes.length, 32 + 4 * 24 + 17 + 4 + 0 + 16 + 24);
  const restored = Log.restore(committed);
  assertFixtureRecords(restored);
  restored.free();
  log.free();
});

test('a snapshot written by the native library restores here', () => {
  assert.ok(existsSync(fromNative), 'tests/fixtures/snapshot-from-native.bin is missing: '
    + 'DISLOG_UPDATE_FIXTURES=1 cargo test -p dislog --test cross_backend_snapshot writes it');
  const bytes = new Uint8Array(readFileSync(fromNative));
  const log = Log.restore(bytes);
  assertFixtureRecords(log);
  assert.deepEqual(log.snapshot(), bytes, 'the same records give the same snapshot bytes on both backends');
  log.free();
});
