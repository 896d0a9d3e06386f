/*
 * A rough throughput measurement of the C API (not a test; not run by CI):
 * single appends, batches, copying reads, zero-copy views, multi-gets,
 * iteration.
 *
 *   cargo build -p dislog --release
 *   gcc -O2 -std=c99 -Iinclude examples/c/bench.c target/release/libdislog.a -lpthread -ldl -lm -o bench
 *   ./bench /tmp/bench-log [records] [payload-bytes]
 */
#define _POSIX_C_SOURCE 200809L
#include <dislog.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void check(dislog_status s, const char *what) {
    if (s != DISLOG_OK) {
        fprintf(stderr, "%s: %s: %s\n", what, dislog_status_str(s), dislog_last_error_message());
        exit(1);
    }
}

static void report(const char *what, double seconds, long n, size_t payload) {
    printf("%-28s %8.0f ns/record  %10.0f records/s  %8.1f MB/s\n", what, seconds * 1e9 / (double)n,
           (double)n / seconds, (double)n * (double)payload / seconds / 1e6);
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "bench-log";
    long n = argc > 2 ? atol(argv[2]) : 1000000;
    size_t size = argc > 3 ? (size_t)atol(argv[3]) : 100;
    uint8_t *payload = malloc(size);
    char *buf = malloc(size);
    memset(payload, 'p', size);

    dislog_t *log = NULL;
    check(dislog_open(dir, NULL, &log), "open");
    check(dislog_reset(log), "reset");

    double t = now();
    for (long i = 0; i < n; i++) check(dislog_append(log, payload, size, NULL), "append");
    check(dislog_flush(log), "flush");
    report("append (one by one)", now() - t, n, size);

    enum { BATCH = 1000 };
    const uint8_t *datas[BATCH];
    size_t lens[BATCH];
    for (int i = 0; i < BATCH; i++) {
        datas[i] = payload;
        lens[i] = size;
    }
    t = now();
    for (long i = 0; i < n / BATCH; i++)
        check(dislog_append_batch(log, datas, lens, BATCH, NULL), "append_batch");
    check(dislog_flush(log), "flush");
    report("append_batch (1000)", now() - t, n / BATCH * BATCH, size);

    size_t len = 0;
    t = now();
    for (long i = 0; i < n; i++)
        check(dislog_read(log, (uint64_t)i, (uint8_t *)buf, size, &len, NULL), "read");
    report("read (copy)", now() - t, n, size);

    dislog_record r;
    dislog_view *view = NULL;
    uint64_t sum = 0;
    t = now();
    for (long i = 0; i < n; i++) {
        check(dislog_read_view(log, (uint64_t)i, &r, &view), "read_view");
        sum += r.data[0];
        dislog_view_free(view);
    }
    report("read_view (zero-copy)", now() - t, n, size);

    uint64_t offsets[BATCH];
    dislog_record records[BATCH];
    dislog_status statuses[BATCH];
    t = now();
    for (long i = 0; i + BATCH <= n; i += BATCH) {
        for (int k = 0; k < BATCH; k++) offsets[k] = (uint64_t)(i + k);
        check(dislog_read_many(log, offsets, BATCH, records, statuses, &view), "read_many");
        for (int k = 0; k < BATCH; k++) {
            check(statuses[k], "read_many record");
            sum += records[k].data[0];
        }
        dislog_view_free(view);
    }
    report("read_many (zero-copy, 1000)", now() - t, n / BATCH * BATCH, size);

    dislog_iter *it = NULL;
    bool has = true;
    long seen = 0;
    check(dislog_iter_new(log, 0, &it), "iter_new");
    t = now();
    for (;;) {
        check(dislog_iter_next(it, &r, &has), "iter_next");
        if (!has) break;
        sum += r.data[0];
        seen++;
    }
    report("iter_next", now() - t, seen, size);
    dislog_iter_free(it);

    check(dislog_remove(&log), "remove");
    free(payload);
    free(buf);
    return sum == 0;
}
