"""dislog from Python through ctypes (no compiled extension).

    DISLOG_LIB=target/release/libdislog.so python3 example.py /tmp/my-log
"""

import sys
import threading

import dislog


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "example-log"
    print("dislog", dislog.version())
    with dislog.Log(path, max_store_bytes=1024) as log:
        print("appended at offset", log.append(b"hello from Python"))
        first = log.append_batch([b"event %d" % i for i in range(100)])
        print("batch starts at", first, "next offset", log.next_offset())
        print("read 50:", log.read(50).decode())
        print("read_many:", [p.decode() for p in log.read_many([50, 1, 50])])
        print("last three:", [(o, p.decode()) for o, _, p in log.records(98)])

        waiter = threading.Thread(
            target=lambda: print("consumer woke:", log.wait_for(101, 10_000))
        )
        waiter.start()
        log.append(b"for the consumer")
        waiter.join()

        removed = log.truncate(50)
        print("truncate(50) removed", removed.records, "records; lowest", log.lowest_offset())
        log.truncate_suffix(101)
        try:
            log.read(500)
        except dislog.DislogError as e:
            print("caught", e.code)
        try:
            log.read_many([60, 500])
        except dislog.DislogError as e:
            print("read_many caught", e.code)
    with dislog.Log(path, max_store_bytes=1024) as log:
        print("reopened:", len(log), "records, newest", log.read(log.highest_offset()).decode())
        log.remove()


if __name__ == "__main__":
    main()
