#include "broker/session/authorization.h"

#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "broker/session/session.h"
#include "broker/session/session_registry.h"
#include "proto/base/quote.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::broker {
namespace {

// The value of metadata `key` of the call, if it has one.
std::optional<absl::string_view> Metadata(
    const grpc::CallbackServerContext& context, const char* key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(key);
  if (it == metadata.end()) return std::nullopt;
  return absl::string_view(it->second.data(), it->second.size());
}

}  // namespace

bool SameOwnerOrRoot(const PeerIdentity& owner, const PeerIdentity& caller) {
  const bool caller_on_socket =
      caller.transport == PeerIdentity::Transport::kUnix &&
      caller.has_credentials;
  if (caller_on_socket && caller.uid == 0) return true;
  switch (owner.transport) {
    case PeerIdentity::Transport::kUnix:
      return caller_on_socket && owner.has_credentials &&
             owner.uid == caller.uid;
    case PeerIdentity::Transport::kTcp:
      // A TCP session has no uid: its callers prove themselves with its
      // token, over TCP.
      return caller.transport == PeerIdentity::Transport::kTcp;
    case PeerIdentity::Transport::kOther:
      break;
  }
  return false;
}

absl::Status CheckSessionCaller(const Session& session,
                                std::optional<absl::string_view> token,
                                const PeerIdentity& caller) {
  if (!token.has_value()) {
    return absl::UnauthenticatedError(
        absl::StrCat("session-scoped call without \"",
                     v1::wire::kSessionTokenKey, "\" metadata"));
  }
  if (!session.TokenMatches(*token)) {
    return absl::PermissionDeniedError(
        absl::StrCat("the \"", v1::wire::kSessionTokenKey,
                     "\" does not belong to session ", session.id()));
  }
  if (!SameOwnerOrRoot(session.peer(), caller)) {
    return absl::PermissionDeniedError(absl::StrCat(
        "session ", session.id(), " belongs to ", session.peer().description,
        ", not to the caller (", caller.description, ")"));
  }
  return absl::OkStatus();
}

bool SecretsEqual(absl::string_view given, absl::string_view expected) {
  unsigned char difference = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size() && i < given.size(); ++i) {
    difference |= static_cast<unsigned char>(expected[i] ^ given[i]);
  }
  return difference == 0;
}

absl::Status CheckAdminCaller(const PeerIdentity& caller, uid_t broker_uid,
                              absl::string_view admin_token,
                              std::optional<absl::string_view> token) {
  if (caller.transport == PeerIdentity::Transport::kUnix) {
    if (caller.has_credentials &&
        (caller.uid == 0 || caller.uid == broker_uid)) {
      return absl::OkStatus();
    }
    return absl::PermissionDeniedError(
        absl::StrCat("admin calls on the Unix socket are for root and uid ",
                     broker_uid, "; the caller is ", caller.description));
  }
  if (admin_token.empty()) {
    return absl::PermissionDeniedError(
        "admin calls over TCP need the broker's admin token, and this "
        "broker has none (start it with --admin_token_file)");
  }
  if (!token.has_value()) {
    return absl::UnauthenticatedError(
        absl::StrCat("admin call over TCP without \"", v1::wire::kAdminTokenKey,
                     "\" metadata (brokerctl --admin_token_file)"));
  }
  if (!SecretsEqual(*token, admin_token)) {
    return absl::PermissionDeniedError(
        absl::StrCat("wrong admin token from ", caller.description));
  }
  return absl::OkStatus();
}

absl::Status CheckVmToken(const std::map<std::string, std::string>& vm_tokens,
                          const v1::AttachRequest& request) {
  if (request.vm_token().empty()) {
    return absl::UnauthenticatedError(
        absl::StrCat("an attach over TCP needs its VM's vm_token; VM ",
                     Quoted(request.vm_name()), " sent no vm_token"));
  }
  auto it = vm_tokens.find(request.vm_name());
  if (it == vm_tokens.end()) {
    return absl::PermissionDeniedError(absl::StrCat(
        "VM ", Quoted(request.vm_name()),
        " may not attach over TCP: the broker has no --vm_token for it"));
  }
  if (!SecretsEqual(request.vm_token(), it->second)) {
    return absl::PermissionDeniedError(
        absl::StrCat("wrong vm_token for VM ", Quoted(request.vm_name())));
  }
  return absl::OkStatus();
}

absl::StatusOr<ImageAccess> ImageAccessFor(const PeerIdentity& caller,
                                           const std::string& image_dir) {
  ImageAccess access;
  switch (caller.transport) {
    case PeerIdentity::Transport::kUnix:
      if (!caller.has_credentials) break;
      access.kind = ImageAccess::Kind::kAsCaller;
      access.uid = caller.uid;
      access.gid = caller.gid;
      access.groups = caller.groups;
      return access;
    case PeerIdentity::Transport::kTcp:
      if (image_dir.empty()) {
        return absl::PermissionDeniedError(
            "image sources over TCP come only from the broker's --image_dir, "
            "and this broker has none");
      }
      access.kind = ImageAccess::Kind::kBeneathDirectory;
      access.directory = image_dir;
      return access;
    case PeerIdentity::Transport::kOther:
      break;
  }
  return absl::PermissionDeniedError(
      absl::StrCat("the broker does not know who ", caller.description,
                   " is, so it opens no image for it"));
}

absl::StatusOr<bool> MustGiveFile(const PeerIdentity& caller, uid_t file_owner,
                                  absl::string_view what) {
  if (caller.transport != PeerIdentity::Transport::kUnix ||
      !caller.has_credentials || caller.uid == 0 || caller.uid == file_owner) {
    return false;
  }
  const uid_t broker = ::geteuid();
  if (file_owner != broker) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, " belongs to uid ", file_owner, ", so a VMM of uid ", caller.uid,
        " could not map it; attach it as uid ", file_owner, " or root"));
  }
  if (broker != 0) {
    return absl::FailedPreconditionError(
        absl::StrCat(what, " is the broker's (uid ", broker,
                     ", mode 0600) and a VMM of uid ", caller.uid,
                     " could not map it; run the broker as root or the VMM as "
                     "uid ",
                     broker));
  }
  return true;
}

PeerIdentity Authorizer::Caller(
    const grpc::CallbackServerContext& context) const {
  return peers_.Lookup(context.peer());
}

absl::StatusOr<PeerIdentity> Authorizer::AuthorizeAttach(
    const grpc::CallbackServerContext& context,
    const v1::AttachRequest& request) const {
  PeerIdentity peer = Caller(context);
  if (peer.transport != PeerIdentity::Transport::kUnix) {
    if (absl::Status status = CheckVmToken(vm_tokens_, request); !status.ok()) {
      return status;
    }
  }
  return peer;
}

absl::StatusOr<std::shared_ptr<Session>> Authorizer::AuthorizeSession(
    const grpc::CallbackServerContext& context,
    const std::string& session_id) const {
  std::shared_ptr<Session> session = registry_.Find(session_id);
  if (session == nullptr) {
    return absl::NotFoundError(
        absl::StrCat("no session ", Quoted(session_id),
                     " (detached, or the broker restarted: attach again)"));
  }
  absl::Status allowed = CheckSessionCaller(
      *session, Metadata(context, v1::wire::kSessionTokenKey), Caller(context));
  if (!allowed.ok()) return allowed;
  session->Touch();
  return session;
}

absl::Status Authorizer::AuthorizeAdmin(
    const grpc::CallbackServerContext& context) const {
  return CheckAdminCaller(Caller(context), ::geteuid(), admin_token_,
                          Metadata(context, v1::wire::kAdminTokenKey));
}

}  // namespace faultline::broker
