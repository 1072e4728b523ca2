#include "guest-drivers/linux/flmem/options.h"

#include <cerrno>
#include <cstdlib>
#include <map>
#include <set>

namespace faultline::flmem {
namespace {

struct CommandSpec {
  Command command;
  std::set<std::string> flags;  // besides --device, --first and --count
};

const std::map<std::string, CommandSpec>& Commands() {
  static const auto* commands = new std::map<std::string, CommandSpec>{
      {"info", {Command::kInfo, {}}},
      {"check",
       {Command::kCheck,
        {"pattern_seed", "pool_frames", "signed", "per_page"}}},
      {"fill", {Command::kFill, {"pattern_seed", "pool_frames"}}},
      {"sign", {Command::kSign, {"pool_frames"}}},
      {"share", {Command::kShare, {}}},
      {"touch",
       {Command::kTouch,
        {"threads", "seconds", "signal_every_ms", "pattern_seed", "pool_frames",
         "mark_seed", "slow_us"}}},
      {"expect_sigbus", {Command::kExpectSigbus, {"page"}}},
  };
  return *commands;
}

bool ParseNumber(const std::string& text, uint64_t* value) {
  if (text.empty() || text[0] == '-') return false;
  errno = 0;
  char* end = nullptr;
  const unsigned long long parsed = std::strtoull(text.c_str(), &end, 0);
  if (errno != 0 || end == text.c_str() || *end != '\0') return false;
  *value = parsed;
  return true;
}

bool ParseBool(const std::string& text, bool* value) {
  if (text == "yes" || text == "true" || text == "1") {
    *value = true;
  } else if (text == "no" || text == "false" || text == "0") {
    *value = false;
  } else {
    return false;
  }
  return true;
}

bool Fail(std::string* error, const std::string& why) {
  *error = why;
  return false;
}

bool SetFlag(Options* options, const std::string& key, const std::string& value,
             std::string* error) {
  uint64_t number = 0;
  const bool numeric = ParseNumber(value, &number);
  auto need_number = [&](uint64_t low, uint64_t high) {
    if (!numeric || number < low || number > high) {
      return Fail(error, "--" + key + "=" + value + ": expected a number in " +
                             std::to_string(low) + ".." + std::to_string(high));
    }
    return true;
  };
  if (key == "device") {
    if (value.empty()) return Fail(error, "--device is empty");
    options->device = value;
  } else if (key == "first") {
    if (!need_number(0, uint64_t{1} << 40)) return false;
    options->first = number;
  } else if (key == "count") {
    if (!need_number(1, uint64_t{1} << 20)) return false;
    options->count = number;
  } else if (key == "pool_frames") {
    if (!need_number(1, uint64_t{1} << 40)) return false;
    options->pool_frames = number;
  } else if (key == "pattern_seed" || key == "mark_seed") {
    if (!numeric)
      return Fail(error, "--" + key + "=" + value + ": not a number");
    (key == "pattern_seed" ? options->pattern_seed : options->mark_seed) =
        number;
  } else if (key == "threads") {
    if (!need_number(1, 64)) return false;
    options->threads = static_cast<uint32_t>(number);
  } else if (key == "seconds") {
    if (!need_number(1, 3600)) return false;
    options->seconds = number;
  } else if (key == "signal_every_ms") {
    if (!need_number(1, 60000)) return false;
    options->signal_every_ms = number;
  } else if (key == "slow_us") {
    if (!need_number(1, 10000000)) return false;
    options->slow_us = number;
  } else if (key == "page") {
    if (!need_number(0, uint64_t{1} << 20)) return false;
    options->page = number;
  } else if (key == "signed" || key == "per_page") {
    bool flag = false;
    if (!ParseBool(value, &flag)) {
      return Fail(error, "--" + key + "=" + value + ": expected yes or no");
    }
    (key == "signed" ? options->signed_frames : options->per_page) = flag;
  } else {
    return Fail(error, "unknown flag --" + key);
  }
  return true;
}

}  // namespace

std::optional<Options> ParseOptions(const std::vector<std::string>& args,
                                    std::string* error) {
  Options options;
  const CommandSpec* spec = nullptr;
  std::set<std::string> seen;
  for (const std::string& arg : args) {
    if (arg.rfind("--", 0) != 0) {
      if (spec != nullptr) {
        Fail(error, "one command only, got '" + arg + "' too");
        return std::nullopt;
      }
      auto it = Commands().find(arg);
      if (it == Commands().end()) {
        Fail(error, "unknown command '" + arg + "'");
        return std::nullopt;
      }
      spec = &it->second;
      options.command = spec->command;
      continue;
    }
    const size_t equals = arg.find('=');
    const std::string key = arg.substr(
        2, equals == std::string::npos ? std::string::npos : equals - 2);
    // A bare boolean flag means yes.
    const std::string value =
        equals == std::string::npos ? "yes" : arg.substr(equals + 1);
    if (!seen.insert(key).second) {
      Fail(error, "--" + key + " given twice");
      return std::nullopt;
    }
    if (!SetFlag(&options, key, value, error)) return std::nullopt;
  }
  if (spec == nullptr) {
    Fail(error, "no command");
    return std::nullopt;
  }
  for (const std::string& key : seen) {
    if (key != "device" && key != "first" && key != "count" &&
        spec->flags.count(key) == 0) {
      Fail(error, "--" + key + " does not apply to this command");
      return std::nullopt;
    }
  }
  if ((options.command == Command::kCheck ||
       options.command == Command::kFill) &&
      !options.pattern_seed.has_value()) {
    Fail(error, "this command needs --pattern_seed");
    return std::nullopt;
  }
  if (options.command == Command::kExpectSigbus &&
      options.page >= options.count) {
    Fail(error, "--page must lie inside the mapping (below --count)");
    return std::nullopt;
  }
  return options;
}

const char* Usage() {
  return R"(usage: flmem [--device=/dev/faultline-mem0] COMMAND [--first=PAGE] [--count=PAGES] [flags]
Maps pages FIRST..FIRST+COUNT-1 of the device shared and:
  info                        prints the device's sysfs attributes
  check --pattern_seed=S [--pool_frames=N] [--signed] [--per_page]
                              reads every word; page p must show frame
                              p % N of pattern S (word 511: the signature
                              with --signed); prints first- and second-touch
                              latency per page
  fill --pattern_seed=S [--pool_frames=N]   writes that pattern
  sign [--pool_frames=N]      writes "GUEST"+frame into word 511 of each page
  share                       a child process maps the pages too; each sees
                              the other's writes at once
  touch [--threads=T] [--seconds=S] [--signal_every_ms=M]
        [--pattern_seed=S --pool_frames=N] [--mark_seed=K] [--slow_us=U]
                              T threads read every page in turn until S
                              seconds pass (or page 0 shows word 0 of
                              pattern K); SIGUSR1 every M ms to each thread;
                              reports the reads slower than U us (50)
  expect_sigbus --page=P      touches mapped page P: SIGBUS passes
Exit: 0 pass, 1 wrong data, 2 bad usage or device, 3 unexpected SIGBUS,
4 no SIGBUS where one was expected.
)";
}

}  // namespace faultline::flmem
