// Staging file names and the start-up sweep of files that killed brokers
// left in --device_memory_dir.
//
// The lock protocol that tells a leftover from a live area (a pid in a name
// can be reused, and brokers in other pid namespaces may share /dev/shm):
// the creating broker takes an exclusive flock on its file right after
// creating it (O_EXCL, size 0) and before sizing it, and holds it until it
// closes the file (StagingArea::Create), so the kernel drops the lock when
// the broker dies however it dies. The sweep only looks at names
// StagingFilePath makes, takes the lock without waiting, and removes a file
// only if it got the lock, the file has its full size and the name still
// refers to the file it locked.
#ifndef FAULTLINE_BROKER_STAGING_STAGING_SWEEP_H_
#define FAULTLINE_BROKER_STAGING_STAGING_SWEEP_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace faultline::broker {

// `dir`/faultline-staging-<session_id>@<pid>, pid being this process's. The
// '@' cannot appear in a frame pool file's name, and marks files created
// under the lock protocol above.
std::string StagingFilePath(absl::string_view dir,
                            absl::string_view session_id);

// Removes the staging files in `dir` that no live process holds: files
// named as StagingFilePath names them, of any pid, whose lock can be taken
// and which have their full size (a file being created has size 0 until its
// creator holds the lock). Files of live brokers, files of other names and
// files it cannot open are left alone. Returns how many it removed; an error
// only when `dir` cannot be read.
absl::StatusOr<int> SweepLeftoverStagingFiles(const std::string& dir);

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_STAGING_STAGING_SWEEP_H_
