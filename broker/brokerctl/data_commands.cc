// put, delete and frames: moving page and frame bytes between files and the
// broker, and removing a store.
#include <fstream>
#include <iomanip>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "broker/brokerctl/commands.h"
#include "broker/brokerctl/output.h"
#include "proto/faultline/v1/wire.h"
#include "proto/pattern.h"

namespace faultline::brokerctl {
namespace {

using v1::wire::kPageBytes;
// Pages per PutPages message: 1 MiB keeps messages small and progress live.
constexpr uint64_t kPutChunk = 256 * kPageBytes;

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot open ", path));
  std::stringstream content;
  content << in.rdbuf();
  if (in.bad()) return absl::DataLossError(absl::StrCat("cannot read ", path));
  return content.str();
}

// Sixteen bytes a line, offsets from the first frame's byte 0.
void HexDump(std::ostream& out, const std::string& data, uint64_t base) {
  for (size_t line = 0; line < data.size(); line += 16) {
    out << absl::StrFormat("%08x ", base + line);
    for (size_t i = line; i < line + 16 && i < data.size(); ++i) {
      out << absl::StrFormat(" %02x", static_cast<unsigned char>(data[i]));
    }
    out << "\n";
  }
}

}  // namespace

absl::Status RunPut(const Command& command) {
  if (auto s = ExpectArgs(command, 2, 2, "put STORE FILE [--offset=N]");
      !s.ok()) {
    return s;
  }
  const uint64_t offset = command.options.offset.value_or(0);
  if (offset % kPageBytes != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--offset=", offset, " is not a multiple of ", kPageBytes));
  }
  absl::StatusOr<std::string> data = ReadFile(command.args[1]);
  if (!data.ok()) return data.status();
  if (data->empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(command.args[1], " is empty: nothing to put"));
  }
  // The last page is zero-padded: stores hold whole pages.
  data->resize((data->size() + kPageBytes - 1) / kPageBytes * kPageBytes, '\0');

  v1::PutPagesResponse response;
  auto context = command.client.NewContext();
  auto writer = command.client.admin().PutPages(context.get(), &response);
  ProgressBar progress(data->size());
  for (uint64_t done = 0; done < data->size(); done += kPutChunk) {
    v1::PutPagesRequest request;
    if (done == 0) request.set_store(command.args[0]);
    request.set_offset(offset + done);
    request.set_data(data->substr(done, kPutChunk));
    if (!writer->Write(request)) break;  // Finish() says why.
    progress.Update(std::min<uint64_t>(done + kPutChunk, data->size()));
  }
  writer->WritesDone();
  grpc::Status status = writer->Finish();
  progress.Finish();
  if (!status.ok()) return CallError(command.client, status);
  if (command.options.json) {
    command.out << ToJson(response) << "\n";
  } else {
    command.out << "put " << response.pages_written() << " pages ("
                << HumanBytes(response.pages_written() * kPageBytes)
                << ") into store " << command.args[0] << " at offset " << offset
                << "\n";
  }
  return absl::OkStatus();
}

absl::Status RunDelete(const Command& command) {
  if (auto s = ExpectArgs(command, 1, 1, "delete STORE"); !s.ok()) return s;
  v1::DeleteStoreRequest request;
  request.set_store(command.args[0]);
  v1::DeleteStoreResponse response;
  grpc::Status status = command.client.admin().DeleteStore(
      command.client.NewContext().get(), request, &response);
  if (!status.ok()) return CallError(command.client, status);
  if (command.options.json) {
    command.out << ToJson(response) << "\n";
  } else {
    command.out << "deleted store " << command.args[0] << " ("
                << response.pages_deleted() << " pages, "
                << HumanBytes(response.pages_deleted() * kPageBytes) << ")\n";
  }
  return absl::OkStatus();
}

absl::Status RunFrames(const Command& command) {
  const char* usage =
      "frames read POOL FIRST COUNT [--out=FILE] | "
      "frames write POOL FIRST (FILE | --pattern_seed=N --count=N)";
  if (command.args.empty()) return absl::InvalidArgumentError(usage);
  const std::string& verb = command.args[0];
  if (verb == "read") {
    if (auto s = ExpectArgs(command, 4, 4, usage); !s.ok()) return s;
    auto first = ParseNumber("FIRST", command.args[2]);
    auto count = ParseNumber("COUNT", command.args[3]);
    if (!first.ok()) return first.status();
    if (!count.ok()) return count.status();
    v1::ReadFramesRequest request;
    request.set_pool(command.args[1]);
    request.set_first_frame(*first);
    request.set_frame_count(static_cast<uint32_t>(*count));
    v1::ReadFramesResponse response;
    grpc::Status status = command.client.admin().ReadFrames(
        command.client.NewContext().get(), request, &response);
    if (!status.ok()) return CallError(command.client, status);
    if (!command.options.out.empty()) {
      std::ofstream out(command.options.out,
                        std::ios::binary | std::ios::trunc);
      out << response.data();
      if (!out) {
        return absl::DataLossError(
            absl::StrCat("cannot write ", command.options.out));
      }
      command.out << "wrote " << *count << " frames ("
                  << HumanBytes(response.data().size()) << ") to "
                  << command.options.out << "\n";
    } else if (command.options.json) {
      command.out << ToJson(response) << "\n";
    } else {
      HexDump(command.out, response.data(), *first * kPageBytes);
    }
    return absl::OkStatus();
  }
  if (verb == "write") {
    if (auto s = ExpectArgs(command, 3, 4, usage); !s.ok()) return s;
    auto first = ParseNumber("FIRST", command.args[2]);
    if (!first.ok()) return first.status();
    v1::WriteFramesRequest request;
    request.set_pool(command.args[1]);
    request.set_first_frame(*first);
    const bool from_pattern = command.options.pattern_seed.has_value();
    if (from_pattern == (command.args.size() == 4)) {
      return absl::InvalidArgumentError(
          absl::StrCat("frames write takes a FILE or --pattern_seed with "
                       "--count, not both or neither; usage: ",
                       usage));
    }
    if (from_pattern) {
      if (!command.options.count.has_value() || *command.options.count <= 0) {
        return absl::InvalidArgumentError(
            "frames write --pattern_seed needs a positive --count");
      }
      std::string data;
      data.resize(*command.options.count * kPageBytes);
      for (int64_t i = 0; i < *command.options.count; ++i) {
        pattern::FillPage(*command.options.pattern_seed, *first + i,
                          reinterpret_cast<uint64_t*>(&data[i * kPageBytes]));
      }
      request.set_data(std::move(data));
    } else {
      absl::StatusOr<std::string> data = ReadFile(command.args[3]);
      if (!data.ok()) return data.status();
      if (data->empty() || data->size() % kPageBytes != 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            command.args[3], " holds ", data->size(),
            " bytes, not a whole number of ", kPageBytes, "-byte frames"));
      }
      request.set_data(*std::move(data));
    }
    const uint64_t frames = request.data().size() / kPageBytes;
    v1::WriteFramesResponse response;
    grpc::Status status = command.client.admin().WriteFrames(
        command.client.NewContext().get(), request, &response);
    if (!status.ok()) return CallError(command.client, status);
    if (command.options.json) {
      command.out << "{\"frames_written\":" << frames << "}\n";
    } else {
      command.out << "wrote " << frames << " frames to pool " << command.args[1]
                  << " from frame " << *first << "\n";
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown frames verb \"", verb, "\"; usage: ", usage));
}

}  // namespace faultline::brokerctl
