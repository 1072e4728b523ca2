// Every authorization decision of the broker, in one place:
// - session-scoped calls (StreamOpen, ResolveFault, Detach) carry the
//   session's token as metadata (wire::kSessionTokenKey) and come from the
//   session's owner: a session attached on the Unix socket from its uid
//   there (or root on the socket), one attached over TCP over TCP;
// - admin calls on the Unix socket come from root or the broker's own user;
//   over TCP they carry the broker's admin token as metadata
//   (wire::kAdminTokenKey), and without one configured there are none;
// - an attach over TCP carries its VM's --vm_token;
// - a live VM name whose VMM is gone is taken over only by its owner or root;
// - an image is opened with the attaching caller's rights, never the
//   broker's: a peer on the Unix socket's uid, gid and groups; a TCP peer
//   (which has no uid here) only a relative path under --image_dir, with no
//   way out of it.
// Who a caller is comes from broker/net (PeerTable); what it may do is
// decided only here.
//
// Thread-safe: immutable after construction.
#ifndef FAULTLINE_BROKER_SESSION_AUTHORIZATION_H_
#define FAULTLINE_BROKER_SESSION_AUTHORIZATION_H_

#include <grpcpp/grpcpp.h>
#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "broker/net/peer_credentials.h"
#include "broker/sources/image_open.h"
#include "proto/faultline/v1/broker.pb.h"

namespace faultline::broker {

class Session;
class SessionRegistry;

// True when `caller` may act on something `owner` created: root on the
// Unix socket always; for an owner on the socket, the same uid on the
// socket; for an owner on TCP, a caller on TCP (its tokens are the proof).
// Never across transports otherwise: a token that leaked off the machine
// does not make a TCP caller the local uid.
bool SameOwnerOrRoot(const PeerIdentity& owner, const PeerIdentity& caller);

// `token` (nullopt: the call carried none) against `session`'s secret and
// `caller` against its owner. UNAUTHENTICATED without a token,
// PERMISSION_DENIED for a wrong one or another uid's call.
absl::Status CheckSessionCaller(const Session& session,
                                std::optional<absl::string_view> token,
                                const PeerIdentity& caller);

// Admin calls: on the Unix socket root and `broker_uid` only; elsewhere
// `token` (nullopt: none was sent) must equal `admin_token`, and with no
// admin token configured (empty) nothing is allowed. UNAUTHENTICATED
// without a token, PERMISSION_DENIED otherwise.
absl::Status CheckAdminCaller(const PeerIdentity& caller, uid_t broker_uid,
                              absl::string_view admin_token,
                              std::optional<absl::string_view> token);

// Compares two secrets in time that depends on their lengths only.
bool SecretsEqual(absl::string_view given, absl::string_view expected);

// An attach over TCP: UNAUTHENTICATED without a vm_token, PERMISSION_DENIED
// unless `vm_tokens` has the VM's token and the request carries it
// (compared in constant time).
absl::Status CheckVmToken(const std::map<std::string, std::string>& vm_tokens,
                          const v1::AttachRequest& request);

// How `caller`'s images are opened (broker/sources/image_open.h): as the
// caller on the Unix socket, beneath `image_dir` over TCP. PERMISSION_DENIED
// over TCP without an image_dir, and for callers with no identity.
absl::StatusOr<ImageAccess> ImageAccessFor(const PeerIdentity& caller,
                                           const std::string& image_dir);

// Whether a 0600 file the broker grants `caller` (a staging area or pool
// file, now owned by `file_owner`) must first become the caller's so that
// it, and only it, can open it: false when the caller can already (root,
// its own file, TCP callers, who open no local files). FAILED_PRECONDITION
// naming both uids when the file is another uid's (a shared pool given to
// an earlier session's owner) or the broker is not root and cannot give it.
absl::StatusOr<bool> MustGiveFile(const PeerIdentity& caller, uid_t file_owner,
                                  absl::string_view what);

// The checks above applied to gRPC calls.
class Authorizer {
 public:
  // `vm_tokens`: VM name -> token that TCP attaches must present. With no
  // entry for a VM, TCP attaches of that VM are refused. `admin_token`:
  // what admin calls over TCP must present; empty: none are allowed.
  Authorizer(const SessionRegistry& registry, const PeerTable& peers,
             std::map<std::string, std::string> vm_tokens,
             std::string admin_token = "")
      : registry_(registry),
        peers_(peers),
        vm_tokens_(std::move(vm_tokens)),
        admin_token_(std::move(admin_token)) {}

  // Who the call comes from.
  PeerIdentity Caller(const grpc::CallbackServerContext& context) const;

  // The identity an attach runs as: any Unix-socket caller, a TCP caller
  // only with its VM's token.
  absl::StatusOr<PeerIdentity> AuthorizeAttach(
      const grpc::CallbackServerContext& context,
      const v1::AttachRequest& request) const;

  // The session `session_id` names, if the call may act on it. NOT_FOUND for
  // an unknown session, then CheckSessionCaller's refusals.
  absl::StatusOr<std::shared_ptr<Session>> AuthorizeSession(
      const grpc::CallbackServerContext& context,
      const std::string& session_id) const;

  absl::Status AuthorizeAdmin(const grpc::CallbackServerContext& context) const;

 private:
  const SessionRegistry& registry_;
  const PeerTable& peers_;
  const std::map<std::string, std::string> vm_tokens_;
  const std::string admin_token_;
};

}  // namespace faultline::broker

#endif  // FAULTLINE_BROKER_SESSION_AUTHORIZATION_H_
