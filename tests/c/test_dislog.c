/*
 * The C test suite of dislog's C API: every exported function, the error
 * paths included. Built and run by scripts/steps/30-native.sh (also under
 * valgrind). Prints "N passed, N failed" last; exits non-zero on failure.
 */
#define _POSIX_C_SOURCE 200809L
#include "dislog.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int g_checks_failed = 0;
static int g_test_failed = 0;

#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (!(cond)) {                                                                \
            fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            g_checks_failed++;                                                        \
            g_test_failed = 1;                                                        \
        }                                                                             \
    } while (0)

/* Checks the status of a call, printing both names and the message on a mismatch. */
#define EXPECT(call, expected)                                                         \
    do {                                                                               \
        dislog_status got_ = (call);                                                   \
        if (got_ != (expected)) {                                                      \
            fprintf(stderr, "  %s:%d: %s returned %s, expected %s (%s)\n", __FILE__, \
                    __LINE__, #call, dislog_status_str(got_),                          \
                    dislog_status_str(expected), dislog_last_error_message());         \
            g_checks_failed++;                                                         \
            g_test_failed = 1;                                                         \
        }                                                                              \
    } while (0)

#define OK(call) EXPECT(call, DISLOG_OK)

/* ---- helpers ------------------------------------------------------------ */

static char g_root[512];
static int g_dir_counter = 0;

/* A fresh, not yet existing directory path under the suite's temp root. */
static void fresh_dir(char *out, size_t cap) {
    snprintf(out, cap, "%s/log%d", g_root, g_dir_counter++);
}

static void remove_tree(const char *path) {
    DIR *dir = opendir(path);
    if (dir != NULL) {
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            char child[1024];
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
            snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
            remove_tree(child);
        }
        closedir(dir);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static dislog_config small_config(void) {
    dislog_config config;
    dislog_config_default(&config);
    /* 24-byte header + a few small records per segment: many segments. */
    config.max_store_bytes = 24 + 4 * (24 + 8);
    return config;
}

static dislog_t *open_log(const char *dir, const dislog_config *config) {
    dislog_t *log = NULL;
    OK(dislog_open(dir, config, &log));
    CHECK(log != NULL);
    return log;
}

static uint64_t append_str(dislog_t *log, const char *text) {
    uint64_t offset = UINT64_MAX;
    OK(dislog_append(log, (const uint8_t *)text, strlen(text), &offset));
    return offset;
}

/* Reads the record at `offset` into `buf` (NUL-terminated); returns its length. */
static size_t read_str(const dislog_t *log, uint64_t offset, char *buf, size_t cap) {
    size_t len = 0;
    OK(dislog_read(log, offset, (uint8_t *)buf, cap - 1, &len, NULL));
    buf[len < cap ? len : cap - 1] = '\0';
    return len;
}

static uint64_t next_offset(const dislog_t *log) {
    uint64_t next = UINT64_MAX;
    OK(dislog_next_offset(log, &next));
    return next;
}

static void close_log(dislog_t **log) {
    OK(dislog_close(log));
    CHECK(*log == NULL);
}

/* ---- tests -------------------------------------------------------------- */

static void test_version(void) {
    char expected[64];
    snprintf(expected, sizeof expected, "%u.%u.%u", dislog_version_major(),
             dislog_version_minor(), dislog_version_patch());
    CHECK(strcmp(dislog_version(), expected) == 0);
    CHECK(dislog_format_version() == 2);
}

static void test_status_str(void) {
    CHECK(strcmp(dislog_status_str(DISLOG_OK), "OK") == 0);
    CHECK(strcmp(dislog_status_str(DISLOG_ERR_IO), "IO") == 0);
    CHECK(strcmp(dislog_status_str(DISLOG_ERR_OUT_OF_RANGE), "OUT_OF_RANGE") == 0);
    CHECK(strcmp(dislog_status_str(DISLOG_ERR_PANIC), "PANIC") == 0);
    CHECK(strcmp(dislog_status_str(9999), "UNKNOWN") == 0);
    /* Every code has its own name, and the codes are 0..15 without gaps. */
    for (uint32_t a = 0; a <= DISLOG_ERR_PANIC; a++) {
        CHECK(strcmp(dislog_status_str(a), "UNKNOWN") != 0);
        for (uint32_t b = a + 1; b <= DISLOG_ERR_PANIC; b++) {
            CHECK(strcmp(dislog_status_str(a), dislog_status_str(b)) != 0);
        }
    }
}

static void test_config_default(void) {
    dislog_config config;
    memset(&config, 0xAB, sizeof config);
    OK(dislog_config_default(&config));
    CHECK(config.max_store_bytes == 64u << 20);
    CHECK(config.max_index_bytes == 16u << 20);
    CHECK(config.initial_offset == 0);
    CHECK(config.max_record_bytes == 8u << 20);
    CHECK(config.sync_mode == DISLOG_SYNC_MANUAL);
    EXPECT(dislog_config_default(NULL), DISLOG_ERR_NULL_ARGUMENT);
    CHECK(strstr(dislog_last_error_message(), "config") != NULL);
}

static void test_open_errors(void) {
    char dir[600];
    dislog_t *log = NULL;
    dislog_config config;
    fresh_dir(dir, sizeof dir);
    EXPECT(dislog_open(NULL, NULL, &log), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_open(dir, NULL, NULL), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_open("", NULL, &log), DISLOG_ERR_INVALID_ARGUMENT);
    EXPECT(dislog_open_read_only(NULL, NULL, &log), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_open_read_only(dir, NULL, NULL), DISLOG_ERR_NULL_ARGUMENT);
    CHECK(log == NULL);

    dislog_config_default(&config);
    config.max_store_bytes = 0;
    EXPECT(dislog_open(dir, &config, &log), DISLOG_ERR_INVALID_CONFIG);
    CHECK(strstr(dislog_last_error_message(), "max_store_bytes") != NULL);
    dislog_config_default(&config);
    config.sync_mode = 42;
    EXPECT(dislog_open(dir, &config, &log), DISLOG_ERR_INVALID_CONFIG);
    CHECK(strstr(dislog_last_error_message(), "sync_mode") != NULL);
    dislog_config_default(&config);
    config.sync_mode = DISLOG_SYNC_EVERY_BYTES;
    config.sync_every = 0;
    EXPECT(dislog_open(dir, &config, &log), DISLOG_ERR_INVALID_CONFIG);
    CHECK(log == NULL);

    /* A regular file where the directory should be. */
    char file[700];
    snprintf(file, sizeof file, "%s/plain-file", g_root);
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (f) fclose(f);
    EXPECT(dislog_open(file, NULL, &log), DISLOG_ERR_IO);
    CHECK(strlen(dislog_last_error_message()) > 0);
    CHECK(log == NULL);

    /* A read-only open of a missing directory fails (it must not create it). */
    char missing[700];
    snprintf(missing, sizeof missing, "%s/does-not-exist", g_root);
    EXPECT(dislog_open_read_only(missing, NULL, &log), DISLOG_ERR_IO);
    CHECK(log == NULL);

    /* A successful call clears the message. */
    OK(dislog_config_default(&config));
    CHECK(strcmp(dislog_last_error_message(), "") == 0);
}

static void test_lock(void) {
    char dir[600];
    fresh_dir(dir, sizeof dir);
    dislog_t *first = open_log(dir, NULL);
    dislog_t *second = NULL;
    EXPECT(dislog_open(dir, NULL, &second), DISLOG_ERR_LOCKED);
    CHECK(second == NULL);
    CHECK(strlen(dislog_last_error_message()) > 0);
    /* Another process is refused too (the lock is an OS file lock). */
    fflush(NULL);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        dislog_t *other = NULL;
        _exit(dislog_open(dir, NULL, &other) == DISLOG_ERR_LOCKED ? 0 : 1);
    }
    int wstatus = -1;
    CHECK(waitpid(child, &wstatus, 0) == child);
    CHECK(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0);
    close_log(&first);
    /* Released on close. */
    second = open_log(dir, NULL);
    close_log(&second);
}

static void test_append_read(void) {
    char dir[600], buf[64];
    fresh_dir(dir, sizeof dir);
    dislog_t *log = open_log(dir, NULL);
    CHECK(append_str(log, "alpha") == 0);
    CHECK(append_str(log, "beta") == 1);
    OK(dislog_append(log, NULL, 0, NULL)); /* an empty record, offset not wanted */
    CHECK(read_str(log, 0, buf, sizeof buf) == 5 && strcmp(buf, "alpha") == 0);
    CHECK(read_str(log, 1, buf, sizeof buf) == 4 && strcmp(buf, "beta") == 0);
    CHECK(read_str(log, 2, buf, sizeof buf) == 0);

    /* Timestamps are wall-clock milliseconds. */
    uint64_t ts = 0;
    size_t len = 0;
    OK(dislog_read(log, 0, (uint8_t *)buf, sizeof buf, &len, &ts));
    CHECK(ts > 1600000000000ull);

    /* Too small: nothing copied, needed length returned. */
    memset(buf, 'x', sizeof buf);
    len = 0;
    EXPECT(dislog_read(log, 0, (uint8_t *)buf, 3, &len, NULL), DISLOG_ERR_BUFFER_TOO_SMALL);
    CHECK(len == 5);
    CHECK(buf[0] == 'x');
    CHECK(strstr(dislog_last_error_message(), "5 bytes") != NULL);
    /* Size query with no buffer. */
    len = 0;
    EXPECT(dislog_read(log, 1, NULL, 0, &len, NULL), DISLOG_ERR_BUFFER_TOO_SMALL);
    CHECK(len == 4);
    len = 99;
    OK(dislog_read(log, 2, NULL, 0, &len, NULL)); /* the empty record fits */
    CHECK(len == 0);

    /* Argument errors. */
    EXPECT(dislog_read(log, 0, NULL, 10, &len, NULL), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_read(log, 0, (uint8_t *)buf, sizeof buf, NULL, NULL),
           DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_read(log, 3, (uint8_t *)buf, sizeof buf, &len, NULL),
           DISLOG_ERR_OUT_OF_RANGE);
    CHECK(strstr(dislog_last_error_message(), "out of range") != NULL);
    EXPECT(dislog_read(log, UINT64_MAX, (uint8_t *)buf, sizeof buf, &len, NULL),
           DISLOG_ERR_OUT_OF_RANGE);
    EXPECT(dislog_append(log, NULL, 5, NULL), DISLOG_ERR_NULL_ARGUMENT);
    CHECK(strstr(dislog_last_error_message(), "data") != NULL);
    CHECK(next_offset(log) == 3);
    close_log(&log);
}

static void test_record_too_large(void) {
    char dir[600];
    dislog_config config;
    dislog_config_default(&config);
    config.max_record_bytes = 16;
    fresh_dir(dir, sizeof dir);
    dislog_t *log = open_log(dir, &config);
    uint8_t big[17];
    memset(big, 7, sizeof big);
    OK(dislog_append(log, big, 16, NULL));
    EXPECT(dislog_append(log, big, 17, NULL), DISLOG_ERR_RECORD_TOO_LARGE);
    EXPECT(dislog_append_at(log, big, 17, 5, NULL), DISLOG_ERR_RECORD_TOO_LARGE);
    CHECK(next_offset(log) == 1);
    close_log(&log);
}

static void test_append_batch(void) {
    char dir[600], buf[64];
    fresh_dir(dir, sizeof dir);
    dislog_config config = small_config();
    config.max_record_bytes = 32;
    dislog_t *log = open_log(dir, &config);
    const char *texts[] = {"one", "two", "three", "four", "five", "six", "seven"};
    const uint8_t *datas[7];
    size_t lens[7];
    for (int i = 0; i < 7; i++) {
        datas[i] = (const uint8_t *)texts[i];
        lens[i] = strlen(texts[i]);
    }
    uint64_t first = 99;
    OK(dislog_append_batch(log, datas, lens, 7, &first));
    CHECK(first == 0);
    OK(dislog_append_batch(log, datas, lens, 2, &first));
    CHECK(first == 7);
    for (int i = 0; i < 7; i++) {
        read_str(log, (uint64_t)i, buf, sizeof buf);
        CHECK(strcmp(buf, texts[i]) == 0);
    }
    read_str(log, 8, buf, sizeof buf);
    CHECK(strcmp(buf, "two") == 0);

    EXPECT(dislog_append_batch(log, datas, lens, 0, NULL), DISLOG_ERR_INVALID_ARGUMENT);
    EXPECT(dislog_append_batch(log, NULL, lens, 2, NULL), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_append_batch(log, datas, NULL, 2, NULL), DISLOG_ERR_NULL_ARGUMENT);
    const uint8_t *with_null[2] = {datas[0], NULL};
    size_t null_lens[2] = {3, 4};
    EXPECT(dislog_append_batch(log, with_null, null_lens, 2, NULL), DISLOG_ERR_NULL_ARGUMENT);
    CHECK(strstr(dislog_last_error_message(), "datas[1]") != NULL);
    null_lens[1] = 0; /* NULL with length 0: an empty record */
    OK(dislog_append_batch(log, with_null, null_lens, 2, &first));
    CHECK(first == 9);
    /* One record too large: nothing of the batch is appended. */
    uint8_t big[40] = {0};
    const uint8_t *mixed[2] = {datas[0], big};
    size_t mixed_lens[2] = {3, sizeof big};
    EXPECT(dislog_append_batch(log, mixed, mixed_lens, 2, NULL), DISLOG_ERR_RECORD_TOO_LARGE);
    CHECK(next_offset(log) == 11);
    close_log(&log);
}

static void test_offsets(void) {
    char dir[600];
    dislog_config config;
    dislog_config_default(&config);
    config.initial_offset = 1000;
    fresh_dir(dir, sizeof dir);
    dislog_t *log = open_log(dir, &config);
    uint64_t offset = 7, count = 7, bytes = 0;
    bool found = true;
    OK(dislog_lowest_offset(log, &offset, &found));
    CHECK(!found && offset == 0);
    found = true;
    OK(dislog_highest_offset(log, &offset, &found));
    CHECK(!found);
    CHECK(next_offset(log) == 1000);
    OK(dislog_len(log, &count));
    CHECK(count == 0);
    OK(dislog_size_bytes(log, &bytes));
    CHECK(bytes > 0); /* the headers of the first segment */

    CHECK(append_str(log, "a") == 1000);
    CHECK(append_str(log, "b") == 1001);
    OK(dislog_lowest_offset(log, &offset, &found));
    CHECK(found && offset == 1000);
    OK(dislog_highest_offset(log, &offset, &found));
    CHECK(found && offset == 1001);
    OK(dislog_len(log, &count));
    CHECK(count == 2);
    uint64_t more = 0;
    OK(dislog_size_bytes(log, &more));
    CHECK(more > bytes);

    EXPECT(dislog_lowest_offset(log, NULL, &found), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_lowest_offset(log, &offset, NULL), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_highest_offset(log, NULL, &found), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_next_offset(log, NULL), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_len(log, NULL), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_size_bytes(log, NULL), DISLOG_ERR_NULL_ARGUMENT);
    close_log(&log);
}

static void test_timestamps(void) {
    char dir[600];
    fresh_dir(dir, sizeof dir);
    dislog_config config = small_config();
    dislog_t *log = open_log(dir, &config);
    uint64_t offset = 0;
    for (uint64_t i = 0; i < 12; i++) {
        OK(dislog_append_at(log, (const uint8_t *)"tick", 4, 100 + 10 * i, &offset));
        CHECK(offset == i);
    }
    uint64_t ts = 0;
    size_t len = 0;
    char buf[8];
    OK(dislog_read(log, 3, (uint8_t *)buf, sizeof buf, &len, &ts));
    CHECK(ts == 130);
    bool found = false;
    OK(dislog_offset_for_timestamp(log, 125, &offset, &found));
    CHECK(found && offset == 3);
    OK(dislog_offset_for_timestamp(log, 0, &offset, &found));
    CHECK(found && offset == 0);
    OK(dislog_offset_for_timestamp(log, 10000, &offset, &found));
    CHECK(!found);
    EXPECT(dislog_offset_for_timestamp(log, 1, NULL, &found), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_offset_for_timestamp(log, 1, &offset, NULL), DISLOG_ERR_NULL_ARGUMENT);

    /* Retention by age: whole segments older than 150 go (4 records each). */
    dislog_removed removed = {0, 0, 0};
    OK(dislog_retain_since(log, 150, &removed));
    CHECK(removed.segments == 1 && removed.records == 4 && removed.bytes > 0);
    OK(dislog_lowest_offset(log, &offset, &found));
    CHECK(found && offset == 4);
    OK(dislog_retain_since(log, 0, NULL));
    close_log(&log);
}

static void test_truncation(void) {
    char dir[600], buf[16];
    fresh_dir(dir, sizeof dir);
    dislog_config config = small_config();
    dislog_t *log = open_log(dir, &config);
    for (int i = 0; i < 20; i++) {
        char text[8];
        snprintf(text, sizeof text, "r%02d", i);
        append_str(log, text);
    }
    uint64_t lowest = 0;
    bool found = false;
    dislog_removed removed = {0, 0, 0};
    OK(dislog_truncate(log, 6, &removed));
    CHECK(removed.segments == 1 && removed.records == 4);
    OK(dislog_lowest_offset(log, &lowest, &found));
    CHECK(found && lowest == 4); /* whole segments only */
    size_t len = 0;
    EXPECT(dislog_read(log, 3, (uint8_t *)buf, sizeof buf, &len, NULL), DISLOG_ERR_OUT_OF_RANGE);
    read_str(log, 4, buf, sizeof buf);
    CHECK(strcmp(buf, "r04") == 0);

    OK(dislog_truncate_suffix(log, 15));
    CHECK(next_offset(log) == 15);
    EXPECT(dislog_read(log, 15, (uint8_t *)buf, sizeof buf, &len, NULL), DISLOG_ERR_OUT_OF_RANGE);
    CHECK(append_str(log, "again") == 15);
    OK(dislog_truncate_suffix(log, 100)); /* past the end: nothing changes */
    CHECK(next_offset(log) == 16);

    /* Retention by size keeps the newest segments within the budget. */
    uint64_t before = 0, after = 0;
    OK(dislog_size_bytes(log, &before));
    OK(dislog_retain_bytes(log, before / 2, &removed));
    OK(dislog_size_bytes(log, &after));
    CHECK(removed.segments >= 1);
    CHECK(after <= before / 2);
    CHECK(after + removed.bytes == before);
    OK(dislog_retain_bytes(log, UINT64_MAX, NULL));

    /* Truncating past everything empties the log but keeps the next offset. */
    OK(dislog_truncate(log, 1000, NULL));
    OK(dislog_lowest_offset(log, &lowest, &found));
    CHECK(!found);
    CHECK(next_offset(log) == 16);
    close_log(&log);
}

static void test_view(void) {
    char dir[600];
    fresh_dir(dir, sizeof dir);
    dislog_t *log = open_log(dir, NULL);
    append_str(log, "zero-copy");
    append_str(log, "");
    dislog_record record;
    dislog_view *view = NULL;
    OK(dislog_read_view(log, 0, &record, &view));
    CHECK(view != NULL);
    CHECK(record.offset == 0 && record.len == 9 && memcmp(record.data, "zero-copy", 9) == 0);
    CHECK(record.timestamp_ms > 0);

    /* While this thread holds the view, other calls on the log are refused. */
    dislog_view *second = NULL;
    dislog_record other;
    EXPECT(dislog_read_view(log, 0, &other, &second), DISLOG_ERR_VIEW_HELD);
    CHECK(second == NULL);
    EXPECT(dislog_append(log, (const uint8_t *)"x", 1, NULL), DISLOG_ERR_VIEW_HELD);
    CHECK(strstr(dislog_last_error_message(), "dislog_view_free") != NULL);
    uint64_t next = 0;
    EXPECT(dislog_next_offset(log, &next), DISLOG_ERR_VIEW_HELD);
    EXPECT(dislog_close(&log), DISLOG_ERR_VIEW_HELD);
    CHECK(log != NULL);
    /* The view still reads fine. */
    CHECK(memcmp(record.data, "zero-copy", 9) == 0);
    dislog_view_free(view);
    dislog_view_free(NULL);

    /* Empty record: data is not NULL. */
    OK(dislog_read_view(log, 1, &record, &view));
    CHECK(record.len == 0 && record.data != NULL);
    dislog_view_free(view);

    /* A failed view holds nothing. */
    view = NULL;
    EXPECT(dislog_read_view(log, 2, &record, &view), DISLOG_ERR_OUT_OF_RANGE);
    CHECK(view == NULL);
    EXPECT(dislog_read_view(log, 0, NULL, &view), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_read_view(log, 0, &record, NULL), DISLOG_ERR_NULL_ARGUMENT);
    CHECK(append_str(log, "after") == 2);
    close_log(&log);
}

static void test_read_many(void) {
    char dir[600];
    fresh_dir(dir, sizeof dir);
    dislog_config config = small_config();
    dislog_t *log = open_log(dir, &config);
    for (int i = 0; i < 50; i++) {
        char text[8];
        snprintf(text, sizeof text, "m%d", i);
        CHECK(append_str(log, text) == (uint64_t)i);
    }
    /* Across segments, out of order, repeated, and past the end. */
    const uint64_t offsets[6] = {49, 0, 17, 17, 50, 3};
    dislog_record records[6];
    dislog_status statuses[6];
    dislog_view *view = NULL;
    OK(dislog_read_many(log, offsets, 6, records, statuses, &view));
    CHECK(view != NULL);
    for (int i = 0; i < 6; i++) {
        CHECK(records[i].offset == offsets[i]);
        CHECK(records[i].data != NULL);
        if (offsets[i] >= 50) {
            CHECK(statuses[i] == DISLOG_ERR_OUT_OF_RANGE);
            CHECK(records[i].len == 0);
            continue;
        }
        char text[8];
        snprintf(text, sizeof text, "m%d", (int)offsets[i]);
        CHECK(statuses[i] == DISLOG_OK);
        CHECK(records[i].len == strlen(text) && memcmp(records[i].data, text, records[i].len) == 0);
    }
    /* The view holds the read lock like dislog_read_view's. */
    EXPECT(dislog_append(log, (const uint8_t *)"x", 1, NULL), DISLOG_ERR_VIEW_HELD);
    dislog_view_free(view);
    /* No offsets: an empty view; bad arguments: nothing written. */
    view = NULL;
    OK(dislog_read_many(log, NULL, 0, NULL, NULL, &view));
    CHECK(view != NULL);
    dislog_view_free(view);
    view = NULL;
    EXPECT(dislog_read_many(log, NULL, 2, records, statuses, &view), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_read_many(log, offsets, 2, NULL, statuses, &view), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_read_many(log, offsets, 2, records, NULL, &view), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_read_many(log, offsets, 2, records, statuses, NULL), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_read_many(NULL, offsets, 2, records, statuses, &view), DISLOG_ERR_NULL_ARGUMENT);
    CHECK(view == NULL);
    CHECK(append_str(log, "after") == 50);
    close_log(&log);
}

static void test_iterator(void) {
    char dir[600];
    fresh_dir(dir, sizeof dir);
    dislog_config config = small_config();
    dislog_t *log = open_log(dir, &config);
    for (int i = 0; i < 10; i++) {
        char text[8];
        snprintf(text, sizeof text, "i%d", i);
        append_str(log, text);
    }
    dislog_iter *iter = NULL;
    OK(dislog_iter_new(log, 0, &iter));
    dislog_record record;
    bool has = false;
    uint64_t expected = 0;
    for (;;) {
        OK(dislog_iter_next(iter, &record, &has));
        if (!has) break;
        char text[8];
        snprintf(text, sizeof text, "i%d", (int)expected);
        CHECK(record.offset == expected);
        CHECK(record.len == strlen(text) && memcmp(record.data, text, record.len) == 0);
        expected++;
    }
    CHECK(expected == 10);
    uint64_t at = 0;
    OK(dislog_iter_offset(iter, &at));
    CHECK(at == 10);
    /* It follows the log as it grows. */
    append_str(log, "late");
    OK(dislog_iter_next(iter, &record, &has));
    CHECK(has && record.offset == 10 && record.len == 4 && memcmp(record.data, "late", 4) == 0);
    OK(dislog_iter_next(iter, &record, &has));
    CHECK(!has);

    /* Closing with an open iterator is refused and changes nothing. */
    EXPECT(dislog_close(&log), DISLOG_ERR_IN_USE);
    CHECK(log != NULL);
    CHECK(strstr(dislog_last_error_message(), "free them first") != NULL);

    /* A removed position is reported, not skipped. */
    OK(dislog_truncate_suffix(log, 5));
    EXPECT(dislog_iter_next(iter, &record, &has), DISLOG_ERR_OUT_OF_RANGE);
    dislog_iter_free(iter);
    dislog_iter_free(NULL);

    /* From the middle, and from the end. */
    OK(dislog_iter_new(log, 3, &iter));
    OK(dislog_iter_next(iter, &record, &has));
    CHECK(has && record.offset == 3);
    dislog_iter_free(iter);
    OK(dislog_iter_new(log, 5, &iter));
    OK(dislog_iter_next(iter, &record, &has));
    CHECK(!has);
    dislog_iter_free(iter);

    iter = NULL;
    EXPECT(dislog_iter_new(log, 6, &iter), DISLOG_ERR_OUT_OF_RANGE);
    CHECK(iter == NULL);
    OK(dislog_truncate(log, 5, NULL));
    EXPECT(dislog_iter_new(log, 0, &iter), DISLOG_ERR_OUT_OF_RANGE);
    EXPECT(dislog_iter_new(log, 5, NULL), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_iter_next(NULL, &record, &has), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_iter_offset(NULL, &at), DISLOG_ERR_NULL_ARGUMENT);
    OK(dislog_iter_new(log, 5, &iter));
    EXPECT(dislog_iter_next(iter, NULL, &has), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_iter_next(iter, &record, NULL), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_iter_offset(iter, NULL), DISLOG_ERR_NULL_ARGUMENT);
    /* The iterator refuses to read while this thread holds a view. */
    append_str(log, "v");
    dislog_view *view = NULL;
    OK(dislog_read_view(log, 5, &record, &view));
    EXPECT(dislog_iter_next(iter, &record, &has), DISLOG_ERR_VIEW_HELD);
    dislog_view_free(view);
    OK(dislog_iter_next(iter, &record, &has));
    CHECK(has && record.offset == 5);
    dislog_iter_free(iter);
    close_log(&log);
}

struct appender {
    dislog_t *log;
    int delay_ms;
    int count;
    int failures;
};

static void sleep_ms(int ms) {
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

static void *append_later(void *arg) {
    struct appender *a = arg;
    sleep_ms(a->delay_ms);
    for (int i = 0; i < a->count; i++) {
        char text[32];
        snprintf(text, sizeof text, "t%d", i);
        if (dislog_append(a->log, (const uint8_t *)text, strlen(text), NULL) != DISLOG_OK)
            a->failures++;
    }
    return NULL;
}

static void test_wait_for(void) {
    char dir[600];
    fresh_dir(dir, sizeof dir);
    dislog_t *log = open_log(dir, NULL);
    bool available = true;
    OK(dislog_wait_for(log, 0, 0, &available));
    CHECK(!available);
    OK(dislog_wait_for(log, 0, 20, &available)); /* times out: not an error */
    CHECK(!available);
    append_str(log, "here");
    OK(dislog_wait_for(log, 0, 0, &available));
    CHECK(available);
    EXPECT(dislog_wait_for(log, 0, 0, NULL), DISLOG_ERR_NULL_ARGUMENT);

    /* Woken by an append from another thread. */
    struct appender a = {log, 50, 1, 0};
    pthread_t thread;
    CHECK(pthread_create(&thread, NULL, append_later, &a) == 0);
    OK(dislog_wait_for(log, 1, 10000, &available));
    CHECK(available);
    pthread_join(thread, NULL);
    CHECK(a.failures == 0);
    close_log(&log);
}

static void *read_all(void *arg) {
    dislog_t *log = arg;
    long seen = 0;
    for (int round = 0; round < 20; round++) {
        dislog_iter *iter = NULL;
        if (dislog_iter_new(log, 0, &iter) != DISLOG_OK) return (void *)-1L;
        dislog_record record;
        bool has = true;
        while (dislog_iter_next(iter, &record, &has) == DISLOG_OK && has) seen++;
        dislog_iter_free(iter);
        dislog_view *view = NULL;
        if (dislog_read_view(log, 0, &record, &view) == DISLOG_OK) {
            if (record.len != 2) seen = -1000000;
            dislog_view_free(view);
        }
    }
    return (void *)seen;
}

static void test_threads(void) {
    char dir[600];
    fresh_dir(dir, sizeof dir);
    dislog_t *log = open_log(dir, NULL);
    append_str(log, "t0");
    struct appender writers[4];
    pthread_t threads[6];
    for (int i = 0; i < 4; i++) {
        writers[i] = (struct appender){log, 0, 500, 0};
        CHECK(pthread_create(&threads[i], NULL, append_later, &writers[i]) == 0);
    }
    for (int i = 4; i < 6; i++) CHECK(pthread_create(&threads[i], NULL, read_all, log) == 0);
    for (int i = 0; i < 6; i++) {
        void *result = NULL;
        pthread_join(threads[i], &result);
        if (i >= 4) CHECK((long)result >= 0);
    }
    for (int i = 0; i < 4; i++) CHECK(writers[i].failures == 0);
    uint64_t count = 0;
    OK(dislog_len(log, &count));
    CHECK(count == 2001);
    OK(dislog_verify(log, 0, NULL));
    close_log(&log);
}

static void *fail_in_thread(void *arg) {
    (void)arg;
    /* This thread's message starts empty, whatever other threads did. */
    int clean = strcmp(dislog_last_error_message(), "") == 0;
    dislog_config_default(NULL);
    int set = strstr(dislog_last_error_message(), "config") != NULL;
    return (void *)(long)(clean && set);
}

static void test_last_error_per_thread(void) {
    uint64_t next = 0;
    EXPECT(dislog_next_offset(NULL, &next), DISLOG_ERR_NULL_ARGUMENT);
    CHECK(strstr(dislog_last_error_message(), "log") != NULL);
    pthread_t thread;
    void *result = NULL;
    CHECK(pthread_create(&thread, NULL, fail_in_thread, NULL) == 0);
    pthread_join(thread, &result);
    CHECK(result == (void *)1L);
    /* Ours is unchanged. */
    CHECK(strstr(dislog_last_error_message(), "`log` is NULL") != NULL);
}

static void test_flush_sync_reset_reopen(void) {
    char dir[600], buf[32];
    fresh_dir(dir, sizeof dir);
    dislog_config config;
    dislog_config_default(&config);
    config.sync_mode = DISLOG_SYNC_EVERY_BYTES;
    config.sync_every = 1024;
    dislog_t *log = open_log(dir, &config);
    append_str(log, "kept");
    OK(dislog_flush(log));
    OK(dislog_sync(log));
    close_log(&log);
    EXPECT(dislog_close(&log), DISLOG_ERR_NULL_ARGUMENT); /* a second close is caught */
    EXPECT(dislog_close(NULL), DISLOG_ERR_NULL_ARGUMENT);

    /* Every sync mode opens and appends. */
    const uint32_t modes[] = {DISLOG_SYNC_MANUAL, DISLOG_SYNC_EVERY_APPEND,
                              DISLOG_SYNC_EVERY_BYTES, DISLOG_SYNC_EVERY_MILLIS};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        config.sync_mode = modes[i];
        config.sync_every = 10;
        log = open_log(dir, &config);
        CHECK(append_str(log, "mode") == 1 + i);
        close_log(&log);
    }
    log = open_log(dir, &config);
    CHECK(next_offset(log) == 5);
    read_str(log, 0, buf, sizeof buf);
    CHECK(strcmp(buf, "kept") == 0);
    read_str(log, 4, buf, sizeof buf);
    CHECK(strcmp(buf, "mode") == 0);
    OK(dislog_reset(log));
    uint64_t count = 1;
    OK(dislog_len(log, &count));
    CHECK(count == 0);
    CHECK(next_offset(log) == 0);
    CHECK(append_str(log, "fresh") == 0);
    close_log(&log);
}

static void test_read_only(void) {
    char dir[600], buf[32];
    fresh_dir(dir, sizeof dir);
    dislog_t *writer = open_log(dir, NULL);
    append_str(writer, "visible");
    OK(dislog_flush(writer));
    dislog_t *reader = NULL;
    OK(dislog_open_read_only(dir, NULL, &reader)); /* beside the live writer */
    read_str(reader, 0, buf, sizeof buf);
    CHECK(strcmp(buf, "visible") == 0);
    EXPECT(dislog_append(reader, (const uint8_t *)"no", 2, NULL), DISLOG_ERR_IO);
    CHECK(strstr(dislog_last_error_message(), "read-only") != NULL);
    EXPECT(dislog_truncate_suffix(reader, 0), DISLOG_ERR_IO);
    close_log(&reader);
    close_log(&writer);
}

static int count_files(const char *dir, const char *suffix) {
    DIR *d = opendir(dir);
    int n = 0;
    if (d == NULL) return -1;
    struct dirent *entry;
    while ((entry = readdir(d)) != NULL) {
        size_t len = strlen(entry->d_name), slen = strlen(suffix);
        if (len > slen && strcmp(entry->d_name + len - slen, suffix) == 0) n++;
    }
    closedir(d);
    return n;
}

static void test_remove(void) {
    char dir[600];
    fresh_dir(dir, sizeof dir);
    dislog_config config = small_config();
    dislog_t *log = open_log(dir, &config);
    for (int i = 0; i < 10; i++) append_str(log, "gone");
    CHECK(count_files(dir, ".store") >= 2);
    OK(dislog_remove(&log));
    CHECK(log == NULL);
    CHECK(count_files(dir, ".store") == 0);
    CHECK(count_files(dir, ".index") == 0);
    EXPECT(dislog_remove(&log), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_remove(NULL), DISLOG_ERR_NULL_ARGUMENT);
    log = open_log(dir, &config);
    CHECK(next_offset(log) == 0);
    /* Removal is refused while an iterator is open. */
    dislog_iter *iter = NULL;
    OK(dislog_iter_new(log, 0, &iter));
    EXPECT(dislog_remove(&log), DISLOG_ERR_IN_USE);
    dislog_iter_free(iter);
    close_log(&log);
}

static void test_verify(void) {
    char dir[600], path[700];
    fresh_dir(dir, sizeof dir);
    dislog_t *log = open_log(dir, NULL);
    for (int i = 0; i < 5; i++) append_str(log, "checked payload");
    size_t problems = 99;
    OK(dislog_verify(log, 0, &problems));
    CHECK(problems == 0);
    close_log(&log);

    /* Flip a payload byte of record 2 in the store. */
    snprintf(path, sizeof path, "%s/%020d.store", dir, 0);
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL);
    if (f != NULL) {
        long at = 24 + 2 * (24 + 15) + 24 + 3;
        fseek(f, at, SEEK_SET);
        int c = fgetc(f);
        fseek(f, at, SEEK_SET);
        fputc(c ^ 0xFF, f);
        fclose(f);
    }
    log = open_log(dir, NULL);
    problems = 0;
    EXPECT(dislog_verify(log, 0, &problems), DISLOG_ERR_CORRUPT);
    CHECK(problems >= 1);
    CHECK(strstr(dislog_last_error_message(), "offset 2") != NULL);
    EXPECT(dislog_verify(log, 1, NULL), DISLOG_ERR_CORRUPT);
    char buf[32];
    size_t len = 0;
    EXPECT(dislog_read(log, 2, (uint8_t *)buf, sizeof buf, &len, NULL), DISLOG_ERR_CORRUPT);
    dislog_iter *iter = NULL;
    dislog_record record;
    bool has = false;
    OK(dislog_iter_new(log, 2, &iter));
    EXPECT(dislog_iter_next(iter, &record, &has), DISLOG_ERR_CORRUPT);
    dislog_iter_free(iter);
    close_log(&log);
}

static void test_snapshot(void) {
    char dir[600], copy[600], from_file[600], file[700], buf[32];
    fresh_dir(dir, sizeof dir);
    fresh_dir(copy, sizeof copy);
    fresh_dir(from_file, sizeof from_file);
    dislog_config config;
    dislog_config_default(&config);
    config.initial_offset = 40;
    dislog_t *log = open_log(dir, &config);
    for (uint64_t i = 0; i < 5; i++) {
        char text[16];
        snprintf(text, sizeof text, "snap%d", (int)i);
        OK(dislog_append_at(log, (const uint8_t *)text, strlen(text), 500 + i, NULL));
    }
    dislog_bytes bytes = {NULL, 0};
    OK(dislog_snapshot(log, &bytes));
    CHECK(bytes.data != NULL && bytes.len > 0);

    dislog_t *restored = NULL;
    OK(dislog_restore(copy, NULL, bytes.data, bytes.len, &restored));
    CHECK(next_offset(restored) == 45);
    uint64_t ts = 0;
    size_t len = 0;
    OK(dislog_read(restored, 43, (uint8_t *)buf, sizeof buf, &len, &ts));
    CHECK(len == 5 && memcmp(buf, "snap3", 5) == 0 && ts == 503);
    close_log(&restored);
    /* The directory now holds a log: a second restore there is refused. */
    EXPECT(dislog_restore(copy, NULL, bytes.data, bytes.len, &restored),
           DISLOG_ERR_INVALID_ARGUMENT);

    /* Damaged bytes are refused and leave nothing behind. */
    char bad_dir[600];
    fresh_dir(bad_dir, sizeof bad_dir);
    bytes.data[bytes.len / 2] ^= 0x55;
    EXPECT(dislog_restore(bad_dir, NULL, bytes.data, bytes.len, &restored),
           DISLOG_ERR_INVALID_SNAPSHOT);
    CHECK(restored == NULL);
    CHECK(count_files(bad_dir, ".store") <= 0);
    EXPECT(dislog_restore(bad_dir, NULL, (const uint8_t *)"junk", 4, &restored),
           DISLOG_ERR_INVALID_SNAPSHOT);
    EXPECT(dislog_restore(bad_dir, NULL, NULL, 0, &restored), DISLOG_ERR_INVALID_SNAPSHOT);
    EXPECT(dislog_restore(bad_dir, NULL, NULL, 4, &restored), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_restore(NULL, NULL, bytes.data, bytes.len, &restored),
           DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_restore(bad_dir, NULL, bytes.data, bytes.len, NULL),
           DISLOG_ERR_NULL_ARGUMENT);
    dislog_bytes_free(&bytes);
    CHECK(bytes.data == NULL && bytes.len == 0);
    dislog_bytes_free(&bytes); /* harmless twice */
    dislog_bytes_free(NULL);
    EXPECT(dislog_snapshot(log, NULL), DISLOG_ERR_NULL_ARGUMENT);

    /* Through a file. */
    snprintf(file, sizeof file, "%s/snapshot.bin", g_root);
    uint64_t written = 0;
    OK(dislog_snapshot_to_file(log, file, &written));
    struct stat st;
    CHECK(stat(file, &st) == 0 && (uint64_t)st.st_size == written && written > 0);
    OK(dislog_restore_from_file(from_file, NULL, file, &restored));
    read_str(restored, 40, buf, sizeof buf);
    CHECK(strcmp(buf, "snap0") == 0);
    close_log(&restored);
    char missing[700];
    snprintf(missing, sizeof missing, "%s/no-such-snapshot", g_root);
    EXPECT(dislog_restore_from_file(bad_dir, NULL, missing, &restored), DISLOG_ERR_IO);
    EXPECT(dislog_restore_from_file(bad_dir, NULL, NULL, &restored), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_snapshot_to_file(log, NULL, NULL), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_snapshot_to_file(log, missing + 0, NULL), DISLOG_OK);
    char unwritable[800];
    snprintf(unwritable, sizeof unwritable, "%s/no-such-dir/snap", g_root);
    EXPECT(dislog_snapshot_to_file(log, unwritable, NULL), DISLOG_ERR_IO);
    close_log(&log);
}

/* Every function that takes a handle refuses NULL with NULL_ARGUMENT. */
static void test_null_handles(void) {
    uint64_t u = 0;
    bool b = false;
    size_t z = 0;
    uint8_t buf[4] = {1, 2, 3, 4};
    dislog_record record;
    dislog_view *view = NULL;
    dislog_iter *iter = NULL;
    dislog_bytes bytes = {NULL, 0};
    const uint8_t *datas[1] = {buf};
    size_t lens[1] = {1};
    EXPECT(dislog_append(NULL, buf, 1, &u), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_append_at(NULL, buf, 1, 1, &u), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_append_batch(NULL, datas, lens, 1, &u), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_read(NULL, 0, buf, sizeof buf, &z, &u), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_read_view(NULL, 0, &record, &view), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_lowest_offset(NULL, &u, &b), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_highest_offset(NULL, &u, &b), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_next_offset(NULL, &u), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_len(NULL, &u), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_size_bytes(NULL, &u), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_offset_for_timestamp(NULL, 0, &u, &b), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_truncate(NULL, 0, NULL), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_truncate_suffix(NULL, 0), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_retain_bytes(NULL, 0, NULL), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_retain_since(NULL, 0, NULL), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_wait_for(NULL, 0, 0, &b), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_flush(NULL), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_sync(NULL), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_reset(NULL), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_verify(NULL, 0, &z), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_iter_new(NULL, 0, &iter), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_snapshot(NULL, &bytes), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_snapshot_to_file(NULL, "x", &u), DISLOG_ERR_NULL_ARGUMENT);
    dislog_t *null_log = NULL;
    EXPECT(dislog_close(&null_log), DISLOG_ERR_NULL_ARGUMENT);
    EXPECT(dislog_remove(&null_log), DISLOG_ERR_NULL_ARGUMENT);
    CHECK(view == NULL && iter == NULL && bytes.data == NULL);
}

/* ---- runner ------------------------------------------------------------- */

struct test {
    const char *name;
    void (*run)(void);
};

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(g_root, sizeof g_root, "%s/dislog-c-tests-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(g_root) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    const struct test tests[] = {
        {"version", test_version},
        {"status_str", test_status_str},
        {"config_default", test_config_default},
        {"open_errors", test_open_errors},
        {"lock", test_lock},
        {"append_read", test_append_read},
        {"record_too_large", test_record_too_large},
        {"append_batch", test_append_batch},
        {"offsets", test_offsets},
        {"timestamps", test_timestamps},
        {"truncation", test_truncation},
        {"view", test_view},
        {"read_many", test_read_many},
        {"iterator", test_iterator},
        {"wait_for", test_wait_for},
        {"threads", test_threads},
        {"last_error_per_thread", test_last_error_per_thread},
        {"flush_sync_reset_reopen", test_flush_sync_reset_reopen},
        {"read_only", test_read_only},
        {"remove", test_remove},
        {"verify", test_verify},
        {"snapshot", test_snapshot},
        {"null_handles", test_null_handles},
    };
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        g_test_failed = 0;
        tests[i].run();
        if (g_test_failed) {
            printf("FAIL %s\n", tests[i].name);
            failed++;
        } else {
            printf("ok   %s\n", tests[i].name);
            passed++;
        }
    }
    remove_tree(g_root);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
