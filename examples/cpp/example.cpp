// dislog from C++ through the RAII wrapper dislog.hpp.
//
//   c++ -std=c++17 -I. example.cpp $(pkg-config --cflags --libs dislog) -o example
//   ./example /tmp/my-log
#include "dislog.hpp"

#include <iostream>
#include <string>
#include <thread>

int main(int argc, char **argv) {
    const std::string dir = argc > 1 ? argv[1] : "example-log";
    std::cout << "dislog " << dislog::version() << "\n";
    {
        dislog::log log(dir, dislog::config().max_store_bytes(1024));
        auto first = log.append("hello from C++");
        std::cout << "appended at offset " << first << "\n";
        auto batch = log.append_batch({"red", "green", "blue"});
        std::cout << "batch starts at " << batch << ", next offset " << log.next_offset() << "\n";
        std::cout << "read 2: " << log.read_string(2) << "\n";
        {
            auto v = log.read_view(3);  // zero-copy until v is destroyed
            std::cout << "view 3: " << v.payload() << " (" << v.payload().size() << " bytes)\n";
        }
        {
            auto many = log.read_many({3, 0, 99});  // zero-copy, one read lock
            for (std::size_t i = 0; i < many.size(); i++) {
                std::cout << "many " << many.offset(i) << ": "
                          << (many.status(i) == DISLOG_OK ? std::string(many.payload(i))
                                                          : dislog_status_str(many.status(i)))
                          << "\n";
            }
        }
        for (const auto &r : log.records(1)) {
            std::cout << "record " << r.offset << ": " << r.payload << "\n";
        }

        // A consumer thread waits for the next record while we append it.
        std::thread consumer([&log] {
            bool ok = log.wait_for(4, std::chrono::seconds(10));
            std::cout << "consumer woke: " << (ok ? "record 4 is there" : "timeout") << "\n";
        });
        log.append("for the consumer");
        consumer.join();

        try {
            log.read(99);
        } catch (const dislog::error &e) {
            std::cout << "caught " << e.code() << "\n";
        }
        log.truncate_suffix(4);
        std::cout << "after truncate_suffix(4): " << log.size() << " records\n";
    }  // closed here
    dislog::log again(dir, dislog::config().max_store_bytes(1024));
    std::cout << "reopened: highest offset " << again.highest_offset().value_or(0) << ", "
              << again.read_string(0) << "\n";
    std::string snap = again.snapshot();
    again.remove();
    dislog::log copy = dislog::log::restore(dir, snap);
    std::cout << "restored " << copy.size() << " records from a snapshot\n";
    copy.remove();
    return 0;
}
