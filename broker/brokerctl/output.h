// brokerctl's output: aligned text tables for people, JSON for scripts,
// and small formatting helpers (bytes, offsets, a progress bar).
#ifndef FAULTLINE_BROKER_BROKERCTL_OUTPUT_H_
#define FAULTLINE_BROKER_BROKERCTL_OUTPUT_H_

#include <google/protobuf/message.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace faultline::brokerctl {

// Columns padded to their widest cell; numbers should be right-aligned by
// the caller passing them as they are (all cells are left-aligned here,
// which keeps the table readable for ids and names).
class Table {
 public:
  explicit Table(std::vector<std::string> header);
  void AddRow(std::vector<std::string> row);
  void Print(std::ostream& out) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

// The message as one line of JSON with proto field names and every field.
std::string ToJson(const google::protobuf::Message& message);

// "4.0 KiB", "12.5 MiB".
std::string HumanBytes(uint64_t bytes);

// Draws "[#####     ]  50% 2.0 MiB/4.0 MiB" on a terminal line (stderr),
// only when stderr is a terminal.
class ProgressBar {
 public:
  explicit ProgressBar(uint64_t total);
  void Update(uint64_t done);
  void Finish();

 private:
  const uint64_t total_;
  const bool enabled_;
  int last_percent_ = -1;
};

}  // namespace faultline::brokerctl

#endif  // FAULTLINE_BROKER_BROKERCTL_OUTPUT_H_
