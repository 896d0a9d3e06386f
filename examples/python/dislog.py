"""dislog through ctypes: no compiled extension, just libdislog.so.

The library is found through the DISLOG_LIB environment variable (a path to
libdislog.so), else by ctypes.util.find_library("dislog"). Errors raise
DislogError with the status code name and the library's message.
"""

import ctypes
import ctypes.util
import os

OK = 0
ERR_BUFFER_TOO_SMALL = 12


class DislogError(Exception):
    """A failed dislog call: .status (number), .code (e.g. "OUT_OF_RANGE")."""

    def __init__(self, status, code, message):
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message


class Config(ctypes.Structure):
    _fields_ = [
        ("max_store_bytes", ctypes.c_uint64),
        ("max_index_bytes", ctypes.c_uint64),
        ("initial_offset", ctypes.c_uint64),
        ("max_record_bytes", ctypes.c_uint64),
        ("sync_every", ctypes.c_uint64),
        ("sync_mode", ctypes.c_uint32),
    ]


class Record(ctypes.Structure):
    _fields_ = [
        ("offset", ctypes.c_uint64),
        ("timestamp_ms", ctypes.c_uint64),
        ("data", ctypes.POINTER(ctypes.c_uint8)),
        ("len", ctypes.c_size_t),
    ]


class Removed(ctypes.Structure):
    _fields_ = [
        ("segments", ctypes.c_uint64),
        ("records", ctypes.c_uint64),
        ("bytes", ctypes.c_uint64),
    ]


class Bytes(ctypes.Structure):
    _fields_ = [("data", ctypes.POINTER(ctypes.c_uint8)), ("len", ctypes.c_size_t)]


def _load():
    path = os.environ.get("DISLOG_LIB") or ctypes.util.find_library("dislog")
    if not path:
        raise OSError("libdislog not found: set DISLOG_LIB to the path of libdislog.so")
    lib = ctypes.CDLL(path)
    P, u64, size, b = ctypes.c_void_p, ctypes.c_uint64, ctypes.c_size_t, ctypes.c_bool
    u8p, u64p, sizep, boolp = (
        ctypes.POINTER(ctypes.c_uint8),
        ctypes.POINTER(u64),
        ctypes.POINTER(size),
        ctypes.POINTER(b),
    )
    sigs = {
        "dislog_config_default": [ctypes.POINTER(Config)],
        "dislog_open": [ctypes.c_char_p, ctypes.POINTER(Config), ctypes.POINTER(P)],
        "dislog_open_read_only": [ctypes.c_char_p, ctypes.POINTER(Config), ctypes.POINTER(P)],
        "dislog_close": [ctypes.POINTER(P)],
        "dislog_remove": [ctypes.POINTER(P)],
        "dislog_append": [P, ctypes.c_char_p, size, u64p],
        "dislog_append_at": [P, ctypes.c_char_p, size, u64, u64p],
        "dislog_append_batch": [P, ctypes.POINTER(ctypes.c_char_p), sizep, size, u64p],
        "dislog_read": [P, u64, u8p, size, sizep, u64p],
        "dislog_lowest_offset": [P, u64p, boolp],
        "dislog_highest_offset": [P, u64p, boolp],
        "dislog_next_offset": [P, u64p],
        "dislog_len": [P, u64p],
        "dislog_truncate": [P, u64, ctypes.POINTER(Removed)],
        "dislog_truncate_suffix": [P, u64],
        "dislog_wait_for": [P, u64, u64, boolp],
        "dislog_sync": [P],
        "dislog_iter_new": [P, u64, ctypes.POINTER(P)],
        "dislog_iter_next": [P, ctypes.POINTER(Record), boolp],
        "dislog_snapshot": [P, ctypes.POINTER(Bytes)],
        "dislog_read_many": [
            P,
            u64p,
            size,
            ctypes.POINTER(Record),
            ctypes.POINTER(ctypes.c_uint32),
            ctypes.POINTER(P),
        ],
    }
    for name, args in sigs.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = ctypes.c_uint32
    lib.dislog_iter_free.argtypes = [P]
    lib.dislog_iter_free.restype = None
    lib.dislog_bytes_free.argtypes = [ctypes.POINTER(Bytes)]
    lib.dislog_bytes_free.restype = None
    lib.dislog_view_free.argtypes = [P]
    lib.dislog_view_free.restype = None
    for name in ("dislog_version", "dislog_last_error_message"):
        getattr(lib, name).restype = ctypes.c_char_p
        getattr(lib, name).argtypes = []
    lib.dislog_status_str.argtypes = [ctypes.c_uint32]
    lib.dislog_status_str.restype = ctypes.c_char_p
    return lib


_lib = _load()


def _check(status):
    if status != OK:
        raise DislogError(
            status,
            _lib.dislog_status_str(status).decode(),
            _lib.dislog_last_error_message().decode(errors="replace"),
        )


def version():
    """The library version string, e.g. "0.1.0"."""
    return _lib.dislog_version().decode()


class Log:
    """An open log in a directory. Use as a context manager, or call close()."""

    def __init__(self, path, *, max_store_bytes=None, read_only=False, _handle=None):
        self._h = ctypes.c_void_p()
        if _handle is not None:
            self._h = _handle
            return
        config = Config()
        _check(_lib.dislog_config_default(ctypes.byref(config)))
        if max_store_bytes is not None:
            config.max_store_bytes = max_store_bytes
        opener = _lib.dislog_open_read_only if read_only else _lib.dislog_open
        _check(opener(os.fsencode(path), ctypes.byref(config), ctypes.byref(self._h)))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._h:
            self.close()

    def __del__(self):
        # A log never closed explicitly is closed when collected (errors ignored).
        handle = getattr(self, "_h", None)
        if handle and _lib is not None:
            _lib.dislog_close(ctypes.byref(handle))

    def close(self):
        _check(_lib.dislog_close(ctypes.byref(self._h)))

    def remove(self):
        _check(_lib.dislog_remove(ctypes.byref(self._h)))

    def append(self, payload: bytes, timestamp_ms=None) -> int:
        offset = ctypes.c_uint64()
        if timestamp_ms is None:
            _check(_lib.dislog_append(self._h, payload, len(payload), ctypes.byref(offset)))
        else:
            _check(
                _lib.dislog_append_at(
                    self._h, payload, len(payload), timestamp_ms, ctypes.byref(offset)
                )
            )
        return offset.value

    def append_batch(self, payloads) -> int:
        n = len(payloads)
        datas = (ctypes.c_char_p * n)(*payloads)
        lens = (ctypes.c_size_t * n)(*(len(p) for p in payloads))
        first = ctypes.c_uint64()
        _check(_lib.dislog_append_batch(self._h, datas, lens, n, ctypes.byref(first)))
        return first.value

    def read(self, offset: int) -> bytes:
        """The payload at offset, copied (grows the buffer when needed)."""
        cap = 256
        while True:
            buf = (ctypes.c_uint8 * cap)()
            length = ctypes.c_size_t()
            status = _lib.dislog_read(self._h, offset, buf, cap, ctypes.byref(length), None)
            if status == ERR_BUFFER_TOO_SMALL:
                cap = length.value
                continue
            _check(status)
            return bytes(buf[: length.value])

    def read_many(self, offsets) -> list:
        """The payloads at offsets, in order, read in one call whose cache
        misses overlap, copied out before the view is freed; raises
        DislogError for the first offset that could not be read."""
        n = len(offsets)
        wanted = (ctypes.c_uint64 * n)(*offsets)
        records = (Record * n)()
        statuses = (ctypes.c_uint32 * n)()
        view = ctypes.c_void_p()
        _check(_lib.dislog_read_many(self._h, wanted, n, records, statuses, ctypes.byref(view)))
        try:
            for i in range(n):
                if statuses[i] != OK:
                    code = _lib.dislog_status_str(statuses[i]).decode()
                    raise DislogError(statuses[i], code, f"offsets[{i}] = {offsets[i]}")
            return [ctypes.string_at(r.data, r.len) for r in records]
        finally:
            _lib.dislog_view_free(view)

    def _optional(self, fn):
        value, found = ctypes.c_uint64(), ctypes.c_bool()
        _check(fn(self._h, ctypes.byref(value), ctypes.byref(found)))
        return value.value if found.value else None

    def lowest_offset(self):
        return self._optional(_lib.dislog_lowest_offset)

    def highest_offset(self):
        return self._optional(_lib.dislog_highest_offset)

    def next_offset(self) -> int:
        value = ctypes.c_uint64()
        _check(_lib.dislog_next_offset(self._h, ctypes.byref(value)))
        return value.value

    def __len__(self):
        value = ctypes.c_uint64()
        _check(_lib.dislog_len(self._h, ctypes.byref(value)))
        return value.value

    def records(self, start=None):
        """Yields (offset, timestamp_ms, payload) from start (default: the lowest offset)."""
        if start is None:
            start = self.lowest_offset()
            start = self.next_offset() if start is None else start
        it = ctypes.c_void_p()
        _check(_lib.dislog_iter_new(self._h, start, ctypes.byref(it)))
        try:
            record, has = Record(), ctypes.c_bool()
            while True:
                _check(_lib.dislog_iter_next(it, ctypes.byref(record), ctypes.byref(has)))
                if not has.value:
                    return
                yield record.offset, record.timestamp_ms, ctypes.string_at(record.data, record.len)
        finally:
            _lib.dislog_iter_free(it)

    def truncate(self, lowest: int) -> Removed:
        removed = Removed()
        _check(_lib.dislog_truncate(self._h, lowest, ctypes.byref(removed)))
        return removed

    def truncate_suffix(self, start: int):
        _check(_lib.dislog_truncate_suffix(self._h, start))

    def wait_for(self, offset: int, timeout_ms: int) -> bool:
        available = ctypes.c_bool()
        _check(_lib.dislog_wait_for(self._h, offset, timeout_ms, ctypes.byref(available)))
        return available.value

    def sync(self):
        _check(_lib.dislog_sync(self._h))

    def snapshot(self) -> bytes:
        out = Bytes()
        _check(_lib.dislog_snapshot(self._h, ctypes.byref(out)))
        try:
            return ctypes.string_at(out.data, out.len) if out.len else b""
        finally:
            _lib.dislog_bytes_free(ctypes.byref(out))
