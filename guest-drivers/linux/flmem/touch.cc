// flmem touch: several threads read every mapped page in turn, each from
// its own starting page, for a while or until the host marks page 0, while
// another thread may send each of them SIGUSR1 every few milliseconds. An
// access slower than --slow_us waited for something (a fault, a frame);
// those are reported, as are the signals handled and any data that differs
// from the host's pattern.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cinttypes>
#include <cstdio>
#include <mutex>
#include <thread>
#include <vector>

#include "guest-drivers/linux/flmem/commands.h"
#include "guest-drivers/linux/flmem/frames.h"
#include "guest-drivers/linux/flmem/latency.h"
#include "proto/pattern.h"

namespace faultline::flmem {
namespace {

constexpr size_t kMaxSlowSamples = 100000;

std::atomic<uint64_t> signals_handled{0};

void OnSignal(int) { signals_handled.fetch_add(1, std::memory_order_relaxed); }

struct Shared {
  const Options* options;
  const Mapping* mapping;
  std::atomic<bool> stop{false};
  std::atomic<bool> marked{false};
  std::atomic<bool> sigbus{false};
  std::atomic<uint64_t> touches{0};
  std::atomic<uint64_t> mismatches{0};
  std::mutex mutex;
  std::vector<uint64_t> slow_ns;  // under mutex
};

void Worker(Shared* shared, uint32_t index) {
  const Options& options = *shared->options;
  const Mapping& mapping = *shared->mapping;
  const uint64_t pages = mapping.pages();
  const uint64_t slow_after_ns = options.slow_us * 1000;
  const uint64_t mark = options.mark_seed ? pattern::Word(*options.mark_seed,
                                                          options.FrameOf(0), 0)
                                          : 0;
  std::vector<uint64_t> slow;
  uint64_t touches = 0, mismatches = 0;
  for (uint64_t step = index; !shared->stop.load(std::memory_order_relaxed);
       ++step) {
    const uint64_t p = step % pages;
    uint64_t value = 0;
    const uint64_t start = NowNs();
    if (!ReadWord(mapping, p, 0, &value)) {
      shared->sigbus = true;
      shared->stop = true;
      break;
    }
    const uint64_t took = NowNs() - start;
    ++touches;
    if (took >= slow_after_ns && slow.size() < kMaxSlowSamples)
      slow.push_back(took);
    if (options.mark_seed && p == 0 && value == mark) {
      shared->marked = true;
      shared->stop = true;
    } else if (options.pattern_seed &&
               value != pattern::Word(*options.pattern_seed, options.FrameOf(p),
                                      0)) {
      ++mismatches;
    }
  }
  shared->touches += touches;
  shared->mismatches += mismatches;
  std::lock_guard<std::mutex> lock(shared->mutex);
  shared->slow_ns.insert(shared->slow_ns.end(), slow.begin(), slow.end());
}

}  // namespace

int RunTouch(const Options& options, const Mapping& mapping) {
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGUSR1, &action, nullptr);

  Shared shared;
  shared.options = &options;
  shared.mapping = &mapping;
  std::vector<std::thread> workers;
  for (uint32_t t = 0; t < options.threads; ++t) {
    workers.emplace_back(Worker, &shared, t);
  }
  uint64_t signals_sent = 0;
  const uint64_t deadline = NowNs() + options.seconds * 1000000000u;
  const uint64_t tick_ms =
      options.signal_every_ms > 0 ? options.signal_every_ms : 10;
  while (!shared.stop && NowNs() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(tick_ms));
    if (options.signal_every_ms == 0) continue;
    for (std::thread& worker : workers) {
      if (pthread_kill(worker.native_handle(), SIGUSR1) == 0) ++signals_sent;
    }
  }
  shared.stop = true;
  for (std::thread& worker : workers) worker.join();

  std::printf("flmem: touch: %u threads, %" PRIu64 " touches of %" PRIu64
              " pages, %zu slower than %" PRIu64 "us\n",
              options.threads, shared.touches.load(), mapping.pages(),
              shared.slow_ns.size(), options.slow_us);
  std::printf("flmem: slow touches: %s\n",
              FormatSummary(Summarize(shared.slow_ns)).c_str());
  std::printf("flmem: signals: %" PRIu64 " sent, %" PRIu64 " handled\n",
              signals_sent, signals_handled.load());
  if (shared.sigbus) {
    std::printf("flmem: fail touch: a page raised SIGBUS\n");
    return kExitSigbus;
  }
  if (shared.mismatches > 0) {
    std::printf("flmem: fail touch: %" PRIu64 " reads differed from pattern\n",
                shared.mismatches.load());
    return kExitWrongData;
  }
  if (options.mark_seed && !shared.marked) {
    std::printf("flmem: fail touch: no mark on page 0 in %" PRIu64 " s\n",
                options.seconds);
    return kExitWrongData;
  }
  std::printf("flmem: pass touch: %s\n",
              options.mark_seed ? "the host's mark arrived" : "time is up");
  return kExitPass;
}

}  // namespace faultline::flmem
