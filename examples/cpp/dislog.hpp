// dislog.hpp: a header-only C++17 RAII wrapper over the C API in dislog.h.
//
// - dislog::log owns a dislog_t and closes it in its destructor (call
//   close() to see a close error; the destructor swallows it).
// - Every failing call throws dislog::error, which carries the status code
//   and the library's message.
// - Owned reads return std::vector<std::uint8_t> (or std::string with
//   read_string); zero-copy reads give std::string_view payloads that are
//   valid while their dislog::view / the current iteration step lives.
//
// Thread safety is that of the C API: one dislog::log may be shared by
// many threads (by reference); views, iterators and cursors are per thread.
#ifndef DISLOG_HPP
#define DISLOG_HPP

#include <dislog.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dislog {

/// A failed dislog call: the status code and the library's message.
class error : public std::runtime_error {
public:
    error(dislog_status status, const std::string &message)
        : std::runtime_error(std::string(dislog_status_str(status)) + ": " + message),
          status_(status) {}

    /// The dislog_status of the failed call (e.g. DISLOG_ERR_OUT_OF_RANGE).
    dislog_status status() const noexcept { return status_; }

    /// The code's name, e.g. "OUT_OF_RANGE".
    const char *code() const noexcept { return dislog_status_str(status_); }

private:
    dislog_status status_;
};

/// Throws dislog::error unless `status` is DISLOG_OK.
inline void check(dislog_status status) {
    if (status != DISLOG_OK) throw error(status, dislog_last_error_message());
}

/// The library version, e.g. "0.1.0".
inline std::string version() { return dislog_version(); }

/// A configuration, starting from the library's defaults.
class config {
public:
    config() { check(dislog_config_default(&raw_)); }
    config &max_store_bytes(std::uint64_t v) { raw_.max_store_bytes = v; return *this; }
    config &max_index_bytes(std::uint64_t v) { raw_.max_index_bytes = v; return *this; }
    config &initial_offset(std::uint64_t v) { raw_.initial_offset = v; return *this; }
    config &max_record_bytes(std::uint64_t v) { raw_.max_record_bytes = v; return *this; }
    config &sync(dislog_sync_mode mode, std::uint64_t every = 0) {
        raw_.sync_mode = static_cast<std::uint32_t>(mode);
        raw_.sync_every = every;
        return *this;
    }
    const dislog_config *get() const noexcept { return &raw_; }

private:
    dislog_config raw_{};
};

/// One record whose payload is borrowed (from a view or an iterator step).
struct record_view {
    std::uint64_t offset;
    std::uint64_t timestamp_ms;
    std::string_view payload;
};

/// What a prefix truncation or retention pass removed.
using removed = dislog_removed;

/// A zero-copy read: holds the log's read lock until destroyed. The thread
/// holding it must make no other call on the same log (those throw
/// DISLOG_ERR_VIEW_HELD) and must destroy it itself.
class view {
public:
    view(const view &) = delete;
    view &operator=(const view &) = delete;
    view(view &&other) noexcept : raw_(std::exchange(other.raw_, nullptr)), record_(other.record_) {}
    view &operator=(view &&other) noexcept {
        if (this != &other) {
            dislog_view_free(raw_);
            raw_ = std::exchange(other.raw_, nullptr);
            record_ = other.record_;
        }
        return *this;
    }
    ~view() { dislog_view_free(raw_); }

    std::uint64_t offset() const noexcept { return record_.offset; }
    std::uint64_t timestamp_ms() const noexcept { return record_.timestamp_ms; }
    std::string_view payload() const noexcept {
        return {reinterpret_cast<const char *>(record_.data), record_.len};
    }

private:
    friend class log;
    view() = default;
    dislog_view *raw_ = nullptr;
    dislog_record record_{};
};

/// Zero-copy reads of many offsets in one call, whose cache misses overlap
/// (for many random offsets at once): entry i is the record at the i-th
/// offset asked for, or why it could not be read. Holds the log's read
/// lock until destroyed, with dislog::view's rules.
class many_view {
public:
    many_view(const many_view &) = delete;
    many_view &operator=(const many_view &) = delete;
    many_view(many_view &&other) noexcept
        : raw_(std::exchange(other.raw_, nullptr)),
          records_(std::move(other.records_)),
          statuses_(std::move(other.statuses_)) {}
    many_view &operator=(many_view &&other) noexcept {
        if (this != &other) {
            dislog_view_free(raw_);
            raw_ = std::exchange(other.raw_, nullptr);
            records_ = std::move(other.records_);
            statuses_ = std::move(other.statuses_);
        }
        return *this;
    }
    ~many_view() { dislog_view_free(raw_); }

    std::size_t size() const noexcept { return records_.size(); }
    /// DISLOG_OK, or why the i-th offset could not be read
    /// (DISLOG_ERR_OUT_OF_RANGE, DISLOG_ERR_CORRUPT, ...).
    dislog_status status(std::size_t i) const { return statuses_.at(i); }
    std::uint64_t offset(std::size_t i) const { return records_.at(i).offset; }
    std::uint64_t timestamp_ms(std::size_t i) const { return records_.at(i).timestamp_ms; }
    /// The i-th payload; empty when status(i) is not DISLOG_OK.
    std::string_view payload(std::size_t i) const {
        const dislog_record &r = records_.at(i);
        return {reinterpret_cast<const char *>(r.data), r.len};
    }

private:
    friend class log;
    many_view() = default;
    dislog_view *raw_ = nullptr;
    std::vector<dislog_record> records_;
    std::vector<dislog_status> statuses_;
};

/// Records in order from an offset; follows the log as it grows. Use
/// next() or a range-for loop (each step's payload is valid until the next
/// step).
class cursor {
public:
    cursor(const cursor &) = delete;
    cursor &operator=(const cursor &) = delete;
    cursor(cursor &&other) noexcept : raw_(std::exchange(other.raw_, nullptr)) {}
    cursor &operator=(cursor &&other) noexcept {
        if (this != &other) {
            dislog_iter_free(raw_);
            raw_ = std::exchange(other.raw_, nullptr);
        }
        return *this;
    }
    ~cursor() { dislog_iter_free(raw_); }

    /// The next record, or std::nullopt at the current end of the log.
    std::optional<record_view> next() {
        dislog_record r;
        bool has = false;
        check(dislog_iter_next(raw_, &r, &has));
        if (!has) return std::nullopt;
        return record_view{r.offset, r.timestamp_ms,
                           std::string_view(reinterpret_cast<const char *>(r.data), r.len)};
    }

    /// The offset of the record next() returns next.
    std::uint64_t offset() const {
        std::uint64_t at = 0;
        check(dislog_iter_offset(raw_, &at));
        return at;
    }

    /// Input iterator for range-for loops.
    class iterator {
    public:
        explicit iterator(cursor *owner) : owner_(owner) { advance(); }
        const record_view &operator*() const { return *current_; }
        const record_view *operator->() const { return &*current_; }
        iterator &operator++() { advance(); return *this; }
        bool operator!=(const iterator &other) const { return owner_ != other.owner_; }

    private:
        void advance() {
            if (owner_ == nullptr) return;
            current_ = owner_->next();
            if (!current_) owner_ = nullptr;
        }
        cursor *owner_;
        std::optional<record_view> current_;
    };
    iterator begin() { return iterator(this); }
    iterator end() { return iterator(nullptr); }

private:
    friend class log;
    explicit cursor(dislog_iter *raw) : raw_(raw) {}
    dislog_iter *raw_;
};

/// An open log in a directory; closed by the destructor.
class log {
public:
    /// Opens (creating if needed) the log in `dir`, taking its writer lock.
    explicit log(const std::string &dir, const config &cfg = config()) {
        check(dislog_open(dir.c_str(), cfg.get(), &raw_));
    }

    /// Opens `dir` read-only, beside a possible live writer.
    static log open_read_only(const std::string &dir, const config &cfg = config()) {
        dislog_t *raw = nullptr;
        check(dislog_open_read_only(dir.c_str(), cfg.get(), &raw));
        return log(raw);
    }

    /// Creates a log in `dir` from snapshot bytes.
    static log restore(const std::string &dir, std::string_view snapshot,
                       const config &cfg = config()) {
        dislog_t *raw = nullptr;
        check(dislog_restore(dir.c_str(), cfg.get(),
                             reinterpret_cast<const std::uint8_t *>(snapshot.data()),
                             snapshot.size(), &raw));
        return log(raw);
    }

    log(const log &) = delete;
    log &operator=(const log &) = delete;
    log(log &&other) noexcept : raw_(std::exchange(other.raw_, nullptr)) {}
    log &operator=(log &&other) noexcept {
        if (this != &other) {
            if (raw_ != nullptr) dislog_close(&raw_);
            raw_ = std::exchange(other.raw_, nullptr);
        }
        return *this;
    }
    ~log() {
        if (raw_ != nullptr) dislog_close(&raw_);
    }

    /// Closes now, reporting a failure (the destructor cannot).
    void close() { check(dislog_close(&raw_)); }
    /// Deletes the log's files and closes the handle.
    void remove() { check(dislog_remove(&raw_)); }
    bool is_open() const noexcept { return raw_ != nullptr; }
    dislog_t *native() const noexcept { return raw_; }

    std::uint64_t append(std::string_view payload) {
        std::uint64_t offset = 0;
        check(dislog_append(raw_, bytes(payload), payload.size(), &offset));
        return offset;
    }
    std::uint64_t append_at(std::string_view payload, std::uint64_t timestamp_ms) {
        std::uint64_t offset = 0;
        check(dislog_append_at(raw_, bytes(payload), payload.size(), timestamp_ms, &offset));
        return offset;
    }
    /// Appends every payload in one write; returns the first offset.
    std::uint64_t append_batch(const std::vector<std::string_view> &payloads) {
        std::vector<const std::uint8_t *> datas;
        std::vector<std::size_t> lens;
        datas.reserve(payloads.size());
        lens.reserve(payloads.size());
        for (auto p : payloads) {
            datas.push_back(bytes(p));
            lens.push_back(p.size());
        }
        std::uint64_t first = 0;
        check(dislog_append_batch(raw_, datas.data(), lens.data(), datas.size(), &first));
        return first;
    }

    /// The payload at `offset`, copied.
    std::vector<std::uint8_t> read(std::uint64_t offset) const {
        std::vector<std::uint8_t> out(256);
        for (;;) {
            std::size_t len = 0;
            dislog_status s = dislog_read(raw_, offset, out.data(), out.size(), &len, nullptr);
            if (s == DISLOG_ERR_BUFFER_TOO_SMALL) {
                out.resize(len);
                continue;
            }
            check(s);
            out.resize(len);
            return out;
        }
    }
    std::string read_string(std::uint64_t offset) const {
        auto v = read(offset);
        return std::string(v.begin(), v.end());
    }

    /// A zero-copy view of the record at `offset` (see dislog::view).
    view read_view(std::uint64_t offset) const {
        view v;
        check(dislog_read_view(raw_, offset, &v.record_, &v.raw_));
        return v;
    }

    /// Zero-copy views of the records at `offsets`, read in one go (see
    /// dislog::many_view); an offset that fails has its status there, the
    /// call itself throws only for errors of the call.
    many_view read_many(const std::vector<std::uint64_t> &offsets) const {
        many_view v;
        v.records_.resize(offsets.size());
        v.statuses_.resize(offsets.size());
        check(dislog_read_many(raw_, offsets.data(), offsets.size(), v.records_.data(),
                               v.statuses_.data(), &v.raw_));
        return v;
    }

    /// Records from `from` (default: the lowest offset) onwards.
    cursor records(std::optional<std::uint64_t> from = std::nullopt) const {
        std::uint64_t start = from ? *from : lowest_offset().value_or(next_offset());
        dislog_iter *it = nullptr;
        check(dislog_iter_new(raw_, start, &it));
        return cursor(it);
    }

    std::optional<std::uint64_t> lowest_offset() const {
        return optional(dislog_lowest_offset);
    }
    std::optional<std::uint64_t> highest_offset() const {
        return optional(dislog_highest_offset);
    }
    std::uint64_t next_offset() const {
        std::uint64_t v = 0;
        check(dislog_next_offset(raw_, &v));
        return v;
    }
    std::uint64_t size() const {
        std::uint64_t v = 0;
        check(dislog_len(raw_, &v));
        return v;
    }
    std::uint64_t size_bytes() const {
        std::uint64_t v = 0;
        check(dislog_size_bytes(raw_, &v));
        return v;
    }
    std::optional<std::uint64_t> offset_for_timestamp(std::uint64_t timestamp_ms) const {
        std::uint64_t v = 0;
        bool found = false;
        check(dislog_offset_for_timestamp(raw_, timestamp_ms, &v, &found));
        return found ? std::optional<std::uint64_t>(v) : std::nullopt;
    }

    removed truncate(std::uint64_t lowest) {
        removed r{};
        check(dislog_truncate(raw_, lowest, &r));
        return r;
    }
    void truncate_suffix(std::uint64_t from) { check(dislog_truncate_suffix(raw_, from)); }
    removed retain_bytes(std::uint64_t max_bytes) {
        removed r{};
        check(dislog_retain_bytes(raw_, max_bytes, &r));
        return r;
    }
    removed retain_since(std::uint64_t timestamp_ms) {
        removed r{};
        check(dislog_retain_since(raw_, timestamp_ms, &r));
        return r;
    }

    /// Waits until a record at `offset` exists; false on timeout.
    bool wait_for(std::uint64_t offset, std::chrono::milliseconds timeout) const {
        bool available = false;
        auto ms = timeout.count() < 0 ? 0 : static_cast<std::uint64_t>(timeout.count());
        check(dislog_wait_for(raw_, offset, ms, &available));
        return available;
    }

    void flush() { check(dislog_flush(raw_)); }
    void sync() { check(dislog_sync(raw_)); }
    void reset() { check(dislog_reset(raw_)); }
    /// Verifies every record; throws (e.g. DISLOG_ERR_CORRUPT) listing the problems.
    void verify() const { check(dislog_verify(raw_, 0, nullptr)); }

    std::string snapshot() const {
        dislog_bytes b{nullptr, 0};
        check(dislog_snapshot(raw_, &b));
        std::string out(reinterpret_cast<const char *>(b.data), b.len);
        dislog_bytes_free(&b);
        return out;
    }
    std::uint64_t snapshot_to_file(const std::string &path) const {
        std::uint64_t written = 0;
        check(dislog_snapshot_to_file(raw_, path.c_str(), &written));
        return written;
    }

private:
    explicit log(dislog_t *raw) : raw_(raw) {}
    static const std::uint8_t *bytes(std::string_view s) {
        return reinterpret_cast<const std::uint8_t *>(s.data());
    }
    template <class F>
    std::optional<std::uint64_t> optional(F f) const {
        std::uint64_t v = 0;
        bool found = false;
        check(f(raw_, &v, &found));
        return found ? std::optional<std::uint64_t>(v) : std::nullopt;
    }
    dislog_t *raw_ = nullptr;
};

}  // namespace dislog

#endif  // DISLOG_HPP
