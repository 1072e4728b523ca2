// How the test servers are started: programs found, processes spawned
// (dying with the test), free ports picked and INFO fields read. Shared by
// redis_servers.cc and redis_cluster.cc; not for use outside this folder.
#ifndef FAULTLINE_BROKER_REDIS_TESTING_SERVER_PROCESSES_H_
#define FAULTLINE_BROKER_REDIS_TESTING_SERVER_PROCESSES_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace faultline::broker::redis::testing {

// The first of /usr/bin, /usr/local/bin or $PATH that has `name`, else name.
std::string FindProgram(const std::string& name);

// Starts `argv` with stdout and stderr into `log`; dies with this thread.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv,
                            const std::string& log);

// A port in [20000, 50000) that is free now, with port + 10000 free too.
int PickPort();

// The value of `key` in "key:value" lines of INFO or CLUSTER INFO, or "".
std::string InfoField(const std::string& info, absl::string_view key);

}  // namespace faultline::broker::redis::testing

#endif  // FAULTLINE_BROKER_REDIS_TESTING_SERVER_PROCESSES_H_
