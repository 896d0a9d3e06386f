/*
 * dislog from C: open a log in a directory, append, read back, iterate,
 * truncate, close, reopen and read again.
 *
 *   cc -std=c99 example.c $(pkg-config --cflags --libs dislog) -o example
 *   ./example /tmp/my-log
 */
#include <dislog.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints the failed call with its status and message, then exits. */
static void check(dislog_status status, const char *what) {
    if (status != DISLOG_OK) {
        fprintf(stderr, "%s failed: %s: %s\n", what, dislog_status_str(status),
                dislog_last_error_message());
        exit(1);
    }
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "example-log";
    printf("dislog %s\n", dislog_version());

    dislog_config config;
    check(dislog_config_default(&config), "config");
    config.max_store_bytes = 1024; /* small segments, so truncation has something to drop */

    dislog_t *log = NULL;
    check(dislog_open(dir, &config, &log), "open");

    /* Append one record, then a batch. */
    uint64_t offset = 0;
    const char *hello = "hello, log";
    check(dislog_append(log, (const uint8_t *)hello, strlen(hello), &offset), "append");
    printf("appended '%s' at offset %llu\n", hello, (unsigned long long)offset);

    enum { N = 200 };
    static char texts[N][32];
    const uint8_t *datas[N];
    size_t lens[N];
    for (int i = 0; i < N; i++) {
        snprintf(texts[i], sizeof texts[i], "event %03d", i);
        datas[i] = (const uint8_t *)texts[i];
        lens[i] = strlen(texts[i]);
    }
    uint64_t first = 0;
    check(dislog_append_batch(log, datas, lens, N, &first), "append_batch");
    printf("appended a batch of %d from offset %llu\n", N, (unsigned long long)first);

    /* Read back into a buffer, learning the length first when unsure. */
    char buf[64];
    size_t len = 0;
    dislog_status status = dislog_read(log, 0, (uint8_t *)buf, 4, &len, NULL);
    printf("a 4-byte buffer is too small: %s, need %zu\n", dislog_status_str(status), len);
    check(dislog_read(log, 0, (uint8_t *)buf, sizeof buf, &len, NULL), "read");
    printf("read offset 0: '%.*s'\n", (int)len, buf);

    /* Zero-copy: the view keeps record.data valid until dislog_view_free. */
    dislog_record record;
    dislog_view *view = NULL;
    check(dislog_read_view(log, 42, &record, &view), "read_view");
    printf("view of offset 42: '%.*s'\n", (int)record.len, (const char *)record.data);
    dislog_view_free(view);

    /* Iterate over the last few records. */
    dislog_iter *iter = NULL;
    check(dislog_iter_new(log, 198, &iter), "iter_new");
    bool has = false;
    for (;;) {
        check(dislog_iter_next(iter, &record, &has), "iter_next");
        if (!has) break;
        printf("iterated offset %llu: '%.*s'\n", (unsigned long long)record.offset,
               (int)record.len, (const char *)record.data);
    }
    dislog_iter_free(iter);

    /* Drop old segments, and the newest record. */
    dislog_removed removed;
    check(dislog_truncate(log, 100, &removed), "truncate");
    uint64_t lowest = 0, next = 0;
    bool found = false;
    check(dislog_lowest_offset(log, &lowest, &found), "lowest_offset");
    printf("truncate(100) removed %llu segment(s), %llu records; lowest offset now %llu\n",
           (unsigned long long)removed.segments, (unsigned long long)removed.records,
           (unsigned long long)lowest);
    check(dislog_truncate_suffix(log, 200), "truncate_suffix");
    check(dislog_next_offset(log, &next), "next_offset");
    printf("after truncate_suffix(200) the next offset is %llu\n", (unsigned long long)next);

    check(dislog_close(&log), "close");

    /* Reopen: everything that was kept is still there. */
    check(dislog_open(dir, &config, &log), "reopen");
    check(dislog_next_offset(log, &next), "next_offset");
    check(dislog_read(log, next - 1, (uint8_t *)buf, sizeof buf, &len, NULL), "read");
    printf("reopened: next offset %llu, last record '%.*s'\n", (unsigned long long)next,
           (int)len, buf);

    /* Errors come back as codes with a message, never as a crash. */
    status = dislog_read(log, 5, (uint8_t *)buf, sizeof buf, &len, NULL);
    printf("reading offset 5: %s (%s)\n", dislog_status_str(status), dislog_last_error_message());

    check(dislog_remove(&log), "remove");
    printf("removed the log\n");
    return 0;
}
