#include "vmm/loader/guest_image.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "proto/base/status_macros.h"
#include "vmm/loader/boot_state.h"
#include "vmm/loader/linux_loader.h"

namespace faultline::vmm {
namespace {

constexpr uint64_t kMaxKernelBytes = 256ull << 20;
constexpr uint64_t kMaxModuleBytes = 2ull << 30;

absl::Status Named(const std::string& path, const absl::Status& status) {
  return absl::Status(status.code(),
                      absl::StrCat(path, ": ", status.message()));
}

// "PATH ARGS": the file is the first word, as QEMU's -initrd reads it.
absl::StatusOr<KernelModule> ReadModule(const std::string& spec) {
  const std::string path = spec.substr(0, spec.find(' '));
  if (path.empty())
    return absl::InvalidArgumentError("--initrd: an empty file name");
  KernelModule module;
  module.name = spec;
  ASSIGN_OR_RETURN(module.bytes,
                   ReadFileBytes(path, "initrd", kMaxModuleBytes));
  return module;
}

MemoryLayout RamOnly(uint64_t ram_bytes) {
  MemoryLayout layout;
  (void)layout.Add({1, "ram", RegionKind::kRam, 0, ram_bytes});
  return layout;
}

absl::StatusOr<LoadedKernel> LoadKernel(const GuestImage& image,
                                        const MemoryLayout& layout,
                                        uint32_t vcpu_count,
                                        const PageSink& sink) {
  if (image.format == BootFormat::kLinux) {
    LinuxBootConfig config;
    config.layout = &layout;
    config.vcpu_count = vcpu_count;
    config.cmdline = image.cmdline;
    return LoadLinux(image.linux_kernel,
                     image.modules.empty() ? nullptr : &image.modules[0],
                     config, sink);
  }
  MultibootBootConfig config;
  config.layout = &layout;
  config.kernel_name = image.kernel_path;
  config.cmdline = image.cmdline;
  return LoadMultiboot(image.multiboot, image.modules, config, sink);
}

}  // namespace

const char* BootFormatName(BootFormat format) {
  switch (format) {
    case BootFormat::kPayload:
      return "payload";
    case BootFormat::kLinux:
      return "linux";
    case BootFormat::kMultiboot:
      return "multiboot";
  }
  return "unknown";
}

absl::StatusOr<GuestImage> ReadGuestImage(const GuestImageSource& source,
                                          uint64_t ram_bytes,
                                          uint32_t vcpu_count) {
  GuestImage image;
  if (!source.payload_path.empty()) {
    ASSIGN_OR_RETURN(image.payload, ReadElfFile(source.payload_path));
    RETURN_IF_ERROR(CheckFitsGuest(image.payload, ram_bytes));
    return image;
  }
  image.kernel_path = source.kernel_path;
  image.cmdline = source.cmdline;
  absl::StatusOr<std::string> bytes =
      ReadFileBytes(source.kernel_path, "kernel", kMaxKernelBytes);
  if (!bytes.ok()) return bytes.status();
  const bool looks_like_bzimage =
      bytes->size() >= 0x206 && (bytes->compare(0x202, 4, "HdrS") == 0 ||
                                 bytes->compare(0x1FE, 2, "\x55\xAA") == 0);
  if (looks_like_bzimage) {
    // A bzImage, or meant as one: its own errors say what is wrong.
    absl::StatusOr<BzImage> kernel = ParseBzImage(*std::move(bytes));
    if (!kernel.ok()) return Named(source.kernel_path, kernel.status());
    image.format = BootFormat::kLinux;
    image.linux_kernel = *std::move(kernel);
    if (image.cmdline.empty()) image.cmdline = kDefaultLinuxCmdline;
    if (source.initrds.size() > 1) {
      return absl::InvalidArgumentError(
          "--initrd: a Linux kernel takes one initrd (concatenate cpio "
          "archives into one file)");
    }
  } else {
    absl::StatusOr<std::optional<MultibootHeader>> header =
        FindMultibootHeader(*bytes);
    if (!header.ok()) return Named(source.kernel_path, header.status());
    if (!header->has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          source.kernel_path,
          ": neither a Linux bzImage (no \"HdrS\" setup header) nor a "
          "multiboot kernel (no 0x1BADB002 header in the first 8 KiB)"));
    }
    absl::StatusOr<MultibootKernel> kernel =
        ParseMultibootKernel(*std::move(bytes));
    if (!kernel.ok()) return Named(source.kernel_path, kernel.status());
    image.format = BootFormat::kMultiboot;
    image.multiboot = *std::move(kernel);
  }
  for (const std::string& spec : source.initrds) {
    ASSIGN_OR_RETURN(KernelModule module, ReadModule(spec));
    image.modules.push_back(std::move(module));
  }
  // A dry run of the placement: every fit check, nothing installed.
  const MemoryLayout ram = RamOnly(ram_bytes);
  absl::StatusOr<LoadedKernel> dry =
      LoadKernel(image, ram, vcpu_count,
                 [](uint64_t, const uint8_t*) { return absl::OkStatus(); });
  if (!dry.ok()) return Named(source.kernel_path, dry.status());
  return image;
}

absl::StatusOr<LoadedImage> LoadGuestImage(const GuestImage& image,
                                           const LoadContext& context,
                                           const PageSink& sink) {
  LoadedImage loaded;
  loaded.format = image.format;
  if (image.format == BootFormat::kPayload) {
    ASSIGN_OR_RETURN(
        const LoadedPayload payload,
        LoadPayload(image.payload, context.ram_bytes, context.vcpu_count,
                    context.payload_args, sink));
    loaded.payload_entry = payload.entry;
    loaded.pages_installed = payload.pages_installed;
    loaded.description = absl::StrFormat(
        "payload: entry %#x, image end %#x, %u pages installed", payload.entry,
        payload.image_end, payload.pages_installed);
    return loaded;
  }
  if (context.layout == nullptr) {
    return absl::InvalidArgumentError(
        "loading a kernel needs the memory layout");
  }
  ASSIGN_OR_RETURN(LoadedKernel kernel, LoadKernel(image, *context.layout,
                                                   context.vcpu_count, sink));
  loaded.boot_vcpu = kernel.boot_vcpu;
  loaded.pages_installed = kernel.pages_installed;
  loaded.description = std::move(kernel.description);
  return loaded;
}

std::optional<EntryState> VcpuEntry(const LoadedImage& loaded,
                                    uint32_t vcpu_id) {
  if (loaded.format == BootFormat::kPayload) {
    return PayloadEntryState(loaded.payload_entry, vcpu_id);
  }
  if (vcpu_id == 0) return loaded.boot_vcpu;
  return std::nullopt;
}

}  // namespace faultline::vmm
