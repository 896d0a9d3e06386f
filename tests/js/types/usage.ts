// Type-checks the generated typings (wasm/pkg/*/dislog_wasm.d.ts) against
// the documented usage: `tsc -p tests/js/types` must pass, and each
// `@ts-expect-error` line must really be an error.
import { Log, LogRecord, LogOptions, Removed, DislogError, DislogErrorCode, RecordIterator, Offset } from '../../../wasm/pkg/node/dislog_wasm.js';
import init, { Log as WebLog } from '../../../wasm/pkg/web/dislog_wasm.js';

async function web(): Promise<number> {
  await init();
  const log = new WebLog();
  return log.append('x');
}

const options: LogOptions = { maxStoreBytes: 1 << 20, initialOffset: 5 };
const log = new Log(options);
const noOptions = new Log();
const a: Offset = log.append('text');
const b: number = log.append(new Uint8Array([1]));
const c: number = log.appendAt('x', Date.now());
const d: number = log.appendBatch(['a', new Uint8Array(2)]);
const e: number = log.appendBatch(['a'], 7);
const bytes: Uint8Array = log.read(a);
const text: string = log.readString(b);
const rec: LogRecord = log.readRecord(c);
const many: Uint8Array[] = log.readMany([a, b, a]);
const lowest: number | undefined = log.lowestOffset;
const highest: number | undefined = log.highestOffset;
const next: number = log.nextOffset;
const len: number = log.length + log.sizeBytes;
const removed: Removed = log.truncate(1);
const kept: Removed = log.retainBytes(100);
const old: Removed = log.retainSince(0);
log.truncateSuffix(d + e);
const at: number | undefined = log.offsetForTimestamp(0);
const it: RecordIterator = log.records();
for (const r of log.records(0)) {
  const o: number = r.offset;
  const t: number = r.timestamp;
  const data: Uint8Array = r.data;
}
const step: IteratorResult<LogRecord, undefined> = it.next();
const all: LogRecord[] = [...log.records()];
const snap: Uint8Array = log.snapshot();
const copy: Log = Log.restore(snap);
const copy2: Log = Log.restore(snap, { maxRecordBytes: 10 });
const waiting: Promise<number> = log.waitFor(next);
try {
  log.read(99);
} catch (err) {
  const code: DislogErrorCode = (err as DislogError).code;
}
copy.free();
copy2.free();
noOptions.free();

// @ts-expect-error: offsets are numbers, not strings
log.read('1');
// @ts-expect-error: readMany takes an array of offsets
log.readMany(1);
// @ts-expect-error: payloads are bytes or strings
log.append(5);
// @ts-expect-error: unknown option
new Log({ maxStoreByte: 1 });
// @ts-expect-error: restore takes bytes
Log.restore('snapshot');

export { web, bytes, text, rec, lowest, highest, len, removed, kept, old, at, step, all, waiting };
