// Owned handles over libvirt's C API. Every libvirt failure becomes an
// absl::Status carrying libvirt's own message.
//
// Threading: a LibvirtConnection and the Domains it created may be used from
// one thread at a time. libvirt connections are thread-safe, but these
// wrappers add no synchronization of their own.
#ifndef FAULTLINE_INTEGRATION_TESTHOST_LIBVIRT_CONNECTION_H_
#define FAULTLINE_INTEGRATION_TESTHOST_LIBVIRT_CONNECTION_H_

#include <libvirt/libvirt.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace faultline::testhost {

// The last libvirt error of this thread as a status, "what: libvirt message".
absl::Status LastLibvirtError(absl::string_view what);

// A running domain. Destroying the object destroys the domain (forced power
// off) if it is still running, so a domain never outlives its launcher's
// normal or error paths.
class Domain {
 public:
  // Takes ownership of `domain`.
  Domain(virDomainPtr domain, std::string name)
      : domain_(domain), name_(std::move(name)) {}
  ~Domain();

  Domain(const Domain&) = delete;
  Domain& operator=(const Domain&) = delete;

  const std::string& name() const { return name_; }

  // True while the domain runs. A transient domain that powered off no longer
  // exists, which also counts as not running.
  absl::StatusOr<bool> IsRunning();

  // Forces the domain off. Succeeds when it is already gone.
  absl::Status Destroy();

 private:
  virDomainPtr domain_;
  std::string name_;
};

class LibvirtConnection {
 public:
  // Opens `uri`, e.g. "qemu:///system" or libvirt's in-process
  // "test:///default".
  static absl::StatusOr<std::unique_ptr<LibvirtConnection>> Open(
      const std::string& uri);
  ~LibvirtConnection();

  LibvirtConnection(const LibvirtConnection&) = delete;
  LibvirtConnection& operator=(const LibvirtConnection&) = delete;

  // Defines and starts a transient domain from `xml` (virDomainCreateXML).
  absl::StatusOr<std::unique_ptr<Domain>> CreateTransientDomain(
      const std::string& xml);

  // Names of all domains, running or defined.
  absl::StatusOr<std::vector<std::string>> ListDomainNames();

  // Destroys the running domain called `name`, if there is one.
  absl::Status DestroyDomainByName(const std::string& name);

 private:
  explicit LibvirtConnection(virConnectPtr connection)
      : connection_(connection) {}
  virConnectPtr connection_;
};

}  // namespace faultline::testhost

#endif  // FAULTLINE_INTEGRATION_TESTHOST_LIBVIRT_CONNECTION_H_
