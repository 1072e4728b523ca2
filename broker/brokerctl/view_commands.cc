// sessions, stats, pools and stores: tables of what the broker holds.
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "broker/brokerctl/commands.h"
#include "broker/brokerctl/output.h"
#include "proto/faultline/v1/wire.h"

namespace faultline::brokerctl {

absl::Status ExpectArgs(const Command& command, size_t min, size_t max,
                        const char* usage) {
  if (command.args.size() < min || command.args.size() > max) {
    return absl::InvalidArgumentError(absl::StrCat("usage: brokerctl ", usage));
  }
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ParseNumber(const std::string& what,
                                     const std::string& text) {
  uint64_t value = 0;
  bool ok = false;
  if (text.size() > 2 && (text[1] == 'x' || text[1] == 'X') && text[0] == '0') {
    ok = absl::SimpleHexAtoi(text.substr(2), &value);
  } else {
    ok = absl::SimpleAtoi(text, &value);
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " \"", text, "\" is not a non-negative number"));
  }
  return value;
}

absl::Status RunSessions(const Command& command) {
  if (auto s = ExpectArgs(command, 0, 0, "sessions"); !s.ok()) return s;
  v1::ListSessionsResponse response;
  grpc::Status status = command.client.admin().ListSessions(
      command.client.NewContext().get(), v1::ListSessionsRequest(), &response);
  if (!status.ok()) return CallError(command.client, status);
  if (command.options.json) {
    command.out << ToJson(response) << "\n";
    return absl::OkStatus();
  }
  Table table(
      {"SESSION", "VM", "PEER", "REGIONS", "IN-FLIGHT", "STREAM", "ATTACHED"});
  for (const v1::SessionInfo& s : response.sessions()) {
    std::vector<std::string> regions;
    for (const v1::Region& r : s.regions()) {
      regions.push_back(absl::StrCat(r.region_id(), ":", r.name()));
    }
    table.AddRow({s.session_id(), s.vm_name(), s.peer(),
                  absl::StrJoin(regions, ","),
                  absl::StrCat(s.faults_in_flight()),
                  s.stream_connected() ? "connected" : "-",
                  absl::FormatTime("%H:%M:%S",
                                   absl::FromUnixMillis(s.attached_unix_ms()),
                                   absl::UTCTimeZone())});
  }
  table.Print(command.out);
  if (response.sessions().empty()) command.out << "(no sessions)\n";
  return absl::OkStatus();
}

namespace {

std::vector<std::string> CounterCells(const std::string& session,
                                      const std::string& name,
                                      const v1::FaultCounters& c) {
  return {session,
          name,
          absl::StrCat(c.faults()),
          absl::StrCat(c.pages()),
          absl::StrCat(c.zeros()),
          absl::StrCat(c.frames()),
          absl::StrCat(c.retries()),
          absl::StrCat(c.errors()),
          absl::StrCat(c.reads_paused()),
          absl::StrCat(c.reasks_throttled()),
          HumanBytes(c.bytes_served()),
          absl::StrCat(c.latency().p50_us()),
          absl::StrCat(c.latency().p99_us()),
          absl::StrCat(c.latency().p999_us())};
}

std::vector<std::string> StagingCells(const std::string& session,
                                      const std::string& name,
                                      const v1::StagingCounters& c,
                                      bool has_area) {
  return {session,
          name,
          has_area ? absl::StrCat(c.slot_count()) : "-",
          has_area ? absl::StrCat(c.slots_held()) : "-",
          absl::StrCat(c.staged_pages()),
          absl::StrCat(c.inline_pages()),
          absl::StrCat(c.refused_releases())};
}

bool StagingInUse(const v1::GetStatsResponse& response) {
  auto used = [](const v1::StagingCounters& c) {
    return c.slot_count() > 0 || c.staged_pages() > 0 || c.inline_pages() > 0 ||
           c.refused_releases() > 0;
  };
  if (used(response.staging_total())) return true;
  for (const v1::SessionStats& s : response.sessions()) {
    if (used(s.staging())) return true;
  }
  return false;
}

// Where page bytes went (slots or inline); only when staging is in use.
void PrintStaging(const v1::GetStatsResponse& response, bool with_total,
                  std::ostream& out) {
  Table table(
      {"SESSION", "VM", "SLOTS", "HELD", "STAGED", "INLINE", "REFUSED"});
  for (const v1::SessionStats& s : response.sessions()) {
    table.AddRow(StagingCells(s.session_id(), s.vm_name(), s.staging(),
                              s.staging().slot_count() > 0));
  }
  if (with_total) {
    table.AddRow(StagingCells("total", "(since start)",
                              response.staging_total(), false));
  }
  out << "\n";
  table.Print(out);
}

}  // namespace

absl::Status RunStats(const Command& command) {
  if (auto s = ExpectArgs(command, 0, 1, "stats [SESSION]"); !s.ok()) return s;
  v1::GetStatsRequest request;
  if (!command.args.empty()) request.set_session_id(command.args[0]);
  v1::GetStatsResponse response;
  grpc::Status status = command.client.admin().GetStats(
      command.client.NewContext().get(), request, &response);
  if (!status.ok()) return CallError(command.client, status);
  if (command.options.json) {
    command.out << ToJson(response) << "\n";
    return absl::OkStatus();
  }
  Table table({"SESSION", "VM/REGION", "FAULTS", "PAGES", "ZEROS", "FRAMES",
               "RETRIES", "ERRORS", "PAUSED", "THROTTLED", "SERVED", "P50us",
               "P99us", "P99.9us"});
  for (const v1::SessionStats& s : response.sessions()) {
    table.AddRow(CounterCells(s.session_id(), s.vm_name(), s.counters()));
    for (const v1::RegionStats& r : s.regions()) {
      table.AddRow(CounterCells(
          "", absl::StrCat("  ", r.region_id(), ":", r.name()), r.counters()));
    }
  }
  if (request.session_id().empty()) {
    table.AddRow(CounterCells("total", "(since start)", response.total()));
  }
  table.Print(command.out);
  if (StagingInUse(response)) {
    PrintStaging(response, request.session_id().empty(), command.out);
  }
  return absl::OkStatus();
}

absl::Status RunPools(const Command& command) {
  if (auto s = ExpectArgs(command, 0, 0, "pools"); !s.ok()) return s;
  v1::ListPoolsResponse response;
  grpc::Status status = command.client.admin().ListPools(
      command.client.NewContext().get(), v1::ListPoolsRequest(), &response);
  if (!status.ok()) return CallError(command.client, status);
  if (command.options.json) {
    command.out << ToJson(response) << "\n";
    return absl::OkStatus();
  }
  Table table({"POOL", "FRAMES", "IN-USE", "SHARING", "SESSIONS", "PATH"});
  for (const v1::PoolInfo& p : response.pools()) {
    table.AddRow({p.pool(), absl::StrCat(p.frame_count()),
                  absl::StrCat(p.frames_in_use()),
                  p.sharing() == v1::SHARING_SHARED ? "shared" : "private",
                  absl::StrJoin(p.session_ids(), ","), p.path()});
  }
  table.Print(command.out);
  if (response.pools().empty()) command.out << "(no live pools)\n";
  return absl::OkStatus();
}

absl::Status RunStores(const Command& command) {
  if (auto s = ExpectArgs(command, 0, 0, "stores"); !s.ok()) return s;
  v1::ListStoresResponse response;
  grpc::Status status = command.client.admin().ListStores(
      command.client.NewContext().get(), v1::ListStoresRequest(), &response);
  if (!status.ok()) return CallError(command.client, status);
  if (command.options.json) {
    command.out << ToJson(response) << "\n";
    return absl::OkStatus();
  }
  auto limit = [](uint64_t bytes) {
    return bytes == 0 ? std::string("none") : HumanBytes(bytes);
  };
  command.out << "backend: " << response.backend() << "\nlimits: per store "
              << limit(response.store_limit_bytes()) << ", all stores "
              << limit(response.total_limit_bytes()) << ", largest offset "
              << limit(response.max_offset()) << "\n";
  Table table({"STORE", "PAGES", "SIZE"});
  uint64_t pages = 0;
  for (const v1::StoreInfo& store : response.stores()) {
    table.AddRow({store.store(), absl::StrCat(store.pages()),
                  HumanBytes(store.pages() * v1::wire::kPageBytes)});
    pages += store.pages();
  }
  if (response.stores_size() > 1) {
    table.AddRow({"total", absl::StrCat(pages),
                  HumanBytes(pages * v1::wire::kPageBytes)});
  }
  table.Print(command.out);
  if (response.stores().empty()) command.out << "(no stores)\n";
  return absl::OkStatus();
}

}  // namespace faultline::brokerctl
