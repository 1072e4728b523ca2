#include "integration/testhost/libvirt_connection.h"

#include <libvirt/virterror.h>

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace faultline::testhost {
namespace {

// Whether the last error says the domain no longer exists or already stopped.
bool LastErrorMeansDomainGone() {
  virErrorPtr error = virGetLastError();
  if (error == nullptr) return false;
  return error->code == VIR_ERR_NO_DOMAIN ||
         error->code == VIR_ERR_OPERATION_INVALID;
}

}  // namespace

absl::Status LastLibvirtError(absl::string_view what) {
  virErrorPtr error = virGetLastError();
  std::string message = error != nullptr && error->message != nullptr
                            ? error->message
                            : "unknown libvirt error";
  const bool unreachable =
      error != nullptr && (error->code == VIR_ERR_NO_CONNECT ||
                           error->code == VIR_ERR_SYSTEM_ERROR);
  std::string text = absl::StrCat(what, ": ", message);
  return unreachable ? absl::UnavailableError(text) : absl::InternalError(text);
}

Domain::~Domain() {
  if (domain_ == nullptr) return;
  // Best effort: an error here has nowhere to go, and the domain is gone in
  // the common case (it powered itself off).
  (void)Destroy();
  virDomainFree(domain_);
}

absl::StatusOr<bool> Domain::IsRunning() {
  int active = virDomainIsActive(domain_);
  if (active == 1) return true;
  if (active == 0 || LastErrorMeansDomainGone()) return false;
  return LastLibvirtError(absl::StrCat("checking domain ", name_));
}

absl::Status Domain::Destroy() {
  if (virDomainDestroy(domain_) == 0 || LastErrorMeansDomainGone()) {
    return absl::OkStatus();
  }
  return LastLibvirtError(absl::StrCat("destroying domain ", name_));
}

absl::StatusOr<std::unique_ptr<LibvirtConnection>> LibvirtConnection::Open(
    const std::string& uri) {
  // libvirt prints every error to stderr by default; ours arrive as statuses.
  virSetErrorFunc(nullptr, [](void*, virErrorPtr) {});
  virConnectPtr connection = virConnectOpen(uri.c_str());
  if (connection == nullptr) {
    return LastLibvirtError(absl::StrCat("connecting to libvirt at ", uri));
  }
  return std::unique_ptr<LibvirtConnection>(new LibvirtConnection(connection));
}

LibvirtConnection::~LibvirtConnection() { virConnectClose(connection_); }

absl::StatusOr<std::unique_ptr<Domain>>
LibvirtConnection::CreateTransientDomain(const std::string& xml) {
  virDomainPtr handle = virDomainCreateXML(connection_, xml.c_str(), 0);
  if (handle == nullptr) return LastLibvirtError("starting the domain");
  const char* name = virDomainGetName(handle);
  return std::make_unique<Domain>(handle, name != nullptr ? name : "");
}

absl::StatusOr<std::vector<std::string>> LibvirtConnection::ListDomainNames() {
  virDomainPtr* domains = nullptr;
  int count = virConnectListAllDomains(connection_, &domains, 0);
  if (count < 0) return LastLibvirtError("listing domains");
  std::vector<std::string> names;
  for (int i = 0; i < count; ++i) {
    const char* name = virDomainGetName(domains[i]);
    if (name != nullptr) names.emplace_back(name);
    virDomainFree(domains[i]);
  }
  free(domains);
  return names;
}

absl::Status LibvirtConnection::DestroyDomainByName(const std::string& name) {
  virDomainPtr handle = virDomainLookupByName(connection_, name.c_str());
  if (handle == nullptr) {
    if (LastErrorMeansDomainGone()) return absl::OkStatus();
    return LastLibvirtError(absl::StrCat("looking up domain ", name));
  }
  Domain domain(handle, name);
  return domain.Destroy();
}

}  // namespace faultline::testhost
