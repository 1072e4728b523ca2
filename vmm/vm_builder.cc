#include "vmm/vm_builder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"
#include "proto/guest_abi.h"
#include "vmm/control/control_protocol.h"
#include "vmm/guest_machine.h"
#include "vmm/loader/guest_image.h"
#include "vmm/memory/pc_memory_map.h"
#include "vmm/pcimem_wiring.h"
#include "vmm/ram_preload.h"
#include "vmm/vcpu/cpuid.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

constexpr uint32_t kRamRegionId = 1;
constexpr uint32_t kPciMemRegionId = 2;
// How long a revocation waits for the guest driver's REVOKE_ACK.
constexpr absl::Duration kRevokeAckDeadline = absl::Seconds(5);

// MCG_CAP for every vCPU when error answers become machine checks; nullopt
// when they stop the VM instead.
using MachineChecks = std::optional<uint64_t>;

// 1. KVM, and whether it can give the guest machine checks.
absl::StatusOr<MachineChecks> OpenKvm(const VmmConfig& config, VmParts* vm) {
  absl::StatusOr<std::unique_ptr<Kvm>> kvm = Kvm::Open();
  if (!kvm.ok()) return StopError(StopKind::kKvmUnavailable, kvm.status());
  vm->kvm = *std::move(kvm);
  // Error answers become machine checks only where KVM emulates them with
  // software recovery; elsewhere they stop the VM.
  if (!config.machine_check_on_error) return MachineChecks();
  absl::StatusOr<uint64_t> cap = vm->kvm->SupportedMachineCheckCapabilities();
  if (cap.ok()) cap = MachineCheckCapabilities(*cap);
  if (!cap.ok()) {
    absl::FPrintF(stderr, "vmm: error answers will stop the VM: %s\n",
                  cap.status().message());
    return MachineChecks();
  }
  return MachineChecks(*cap);
}

// 2. The guest image (a payload, a Linux bzImage or a multiboot kernel),
// read and checked against the guest before it is loaded.
absl::StatusOr<GuestImage> ReadImage(const VmmConfig& config, VmParts* vm) {
  GuestImageSource source;
  source.payload_path = config.guest_path;
  source.kernel_path = config.kernel_path;
  source.initrds = config.initrds;
  source.cmdline = config.kernel_cmdline;
  absl::StatusOr<GuestImage> image =
      ReadGuestImage(source, config.ram_bytes, config.vcpu_count);
  if (!image.ok()) return StopError(StopKind::kBadPayload, image.status());
  vm->boot_format = image->format;
  return image;
}

// The guest's memory, described once: where each region lies (the
// MemoryLayout, hence the KVM slots) and what backs it (the regions the
// fault engine attaches).
struct GuestRegion {
  RegionSpec spec;
  v1::Source source;
};

std::vector<GuestRegion> DescribeGuestMemory(const VmmConfig& config) {
  std::vector<GuestRegion> regions;
  regions.push_back(
      {{kRamRegionId, "ram", RegionKind::kRam, 0, config.ram_bytes},
       config.ram_source});
  if (config.pcimem_bytes > 0) {
    GuestRegion& window = regions.emplace_back();
    window.spec = {kPciMemRegionId, "pcimem", RegionKind::kDeviceWindow,
                   abi::kPciMemWindowBarAddress, config.pcimem_bytes};
    *window.source.mutable_device() = config.pcimem_source;
  }
  return regions;
}

// Where the regions lie (for the loader's memory map) and what backs them.
struct GuestMemoryPlan {
  MemoryLayout layout;
  RegionSources sources;
};

// 3. Guest memory: RAM and the device window, unpopulated.
absl::StatusOr<GuestMemoryPlan> CreateGuestMemory(const VmmConfig& config,
                                                  VmParts* vm) {
  GuestMemoryPlan plan;
  for (const GuestRegion& region : DescribeGuestMemory(config)) {
    RETURN_IF_ERROR(plan.layout.Add(region.spec));
    plan.sources[region.spec.id] = region.source;
  }
  ASSIGN_OR_RETURN(vm->memory, GuestMemory::Create(plan.layout));
  vm->run_control = std::make_unique<RunControl>(config.vcpu_count);
  return plan;
}

// Background fill and the working-set record and replay (--background_fill,
// --record_working_set, --replay_working_set); a replay is checked against
// the regions the engine will attach.
absl::Status AddWorkingSetOptions(const VmmConfig& config,
                                  const GuestMemory& memory,
                                  FaultEngine::Options* options) {
  options->fill.address_order = config.background_fill;
  options->fill.pages_per_second = config.background_fill_rate;
  options->fill.ask_deadline = config.fault_deadline;
  if (!config.replay_working_set_path.empty()) {
    ASSIGN_OR_RETURN(const std::vector<v1::Region> regions,
                     AttachedRegions(memory, options->sources));
    ASSIGN_OR_RETURN(options->fill.replay,
                     ReadWorkingSet(config.replay_working_set_path, regions));
  }
  if (!config.record_working_set_path.empty()) {
    ASSIGN_OR_RETURN(options->record, WorkingSetRecorder::Create(
                                          config.record_working_set_path));
  }
  return absl::OkStatus();
}

// 4. The fault engine: registers memory with userfaultfd and attaches.
absl::Status AttachFaultEngine(const VmmConfig& config, RegionSources sources,
                               const MachineChecks& machine_checks,
                               VmParts* vm) {
  FaultEngine::Options options;
  BrokerSession::Options& session = options.transport.session;
  session.target = config.broker_target;
  session.vm_name = config.vm_name;
  session.vm_token = config.vm_token;
  session.vcpu_count = config.vcpu_count;
  options.transport.attach_deadline = config.fault_deadline;
  options.transport.staging = config.staging_auto
                                  ? BrokerTransport::Staging::kAuto
                                  : BrokerTransport::Staging::kOff;
  options.transport.fault_ring = config.fault_ring;
  options.sources = std::move(sources);
  options.retry.budget = config.retry_budget;
  options.retry.deadline = config.fault_deadline;
  options.prefetch_hint =
      config.prefetch_pages.value_or(DefaultPrefetchPages(vm->boot_format));
  options.prefetch_adaptive = config.prefetch_adaptive;
  options.poison_error_pages = machine_checks.has_value();
  RETURN_IF_ERROR(AddWorkingSetOptions(config, *vm->memory, &options));
  if (config.pcimem_bytes > 0) {
    // The memory device's page events: the guest asks for pages and hears
    // what became of them (the device joins in step 7).
    vm->pcimem_bridge = std::make_unique<PciMemFaultBridge>(kRevokeAckDeadline);
    RouteDevicePages(vm->pcimem_bridge.get(), kPciMemRegionId, &options);
  }
  RunControl* control = vm->run_control.get();
  ASSIGN_OR_RETURN(vm->engine,
                   FaultEngine::Create(vm->memory.get(), std::move(options),
                                       [control](const StopReason& reason) {
                                         control->Stop(reason);
                                       }));
  if (machine_checks.has_value() && !vm->engine->poisons_error_pages()) {
    absl::FPrintF(stderr,
                  "vmm: error answers will stop the VM: this kernel has no "
                  "UFFDIO_POISON\n");
  }
  vm->memory_errors =
      std::make_unique<MemoryErrorReporter>(vm->memory.get(), machine_checks);
  return absl::OkStatus();
}

// 5. The loader installs the guest image and its boot state; the rest will
// fault (or, with --preload_ram, comes from the broker now).
absl::StatusOr<LoadedImage> LoadImage(const VmmConfig& config,
                                      const GuestImage& image,
                                      const MemoryLayout& layout, VmParts* vm) {
  FaultEngine* engine = vm->engine.get();
  LoadContext context;
  context.layout = &layout;
  context.ram_bytes = config.ram_bytes;
  context.vcpu_count = config.vcpu_count;
  context.payload_args = config.guest_args;
  absl::StatusOr<LoadedImage> loaded = LoadGuestImage(
      image, context, [engine](uint64_t address, const uint8_t* page) {
        return engine->LoadPage(address, page);
      });
  if (!loaded.ok()) return StopError(StopKind::kBadPayload, loaded.status());
  vm->loader_pages = loaded->pages_installed;
  if (IsKernel(loaded->format)) {
    absl::FPrintF(stderr, "vmm: %s\n", loaded->description);
  }
  if (config.preload_ram) {
    RamPreloadOptions preload;
    preload.target = config.broker_target;
    preload.vm_name = config.vm_name;
    preload.vm_token = config.vm_token;
    for (const v1::Region& region : engine->regions()) {
      if (region.kind() == v1::REGION_KIND_RAM) preload.ram = region;
    }
    preload.retry.budget = config.retry_budget;
    preload.retry.deadline = config.fault_deadline;
    RETURN_IF_ERROR(PreloadRam(preload, engine).status());
  }
  return loaded;
}

// 6. The KVM VM, a kernel's interrupt controllers, and the memory slots,
// one per region in layout order.
absl::Status CreateKvmVm(BootFormat format, VmParts* vm) {
  ASSIGN_OR_RETURN(vm->vm, vm->kvm->CreateVm());
  RETURN_IF_ERROR(vm->vm->SetTssAddress(kKvmTssAddress));
  ASSIGN_OR_RETURN(vm->irqchip,
                   CreateInterruptControllers(format, vm->vm.get()));
  uint32_t slot = 0;
  for (const MappedRegion& region : vm->memory->regions()) {
    RETURN_IF_ERROR(vm->vm->SetUserMemoryRegion(
        slot++, region.spec.guest_physical_base, region.spec.size_bytes,
        region.host_base()));
  }
  return absl::OkStatus();
}

// A kernel guest's power off or reset, on a vCPU thread, ends the run with
// the status it latched (the devices exist by then).
std::function<void(const std::string& how)> EndsKernelRun(StopKind kind,
                                                          VmParts* vm) {
  return [kind, vm](const std::string& how) {
    vm->run_control->Stop(
        KernelEndReason(kind, how, vm->devices->latched_status()));
  };
}

// 7. Devices: serial, debug exit, PCI (host bridge and memory device), for
// kernels the PC's; then the serial input.
absl::Status CreateDevices(const VmmConfig& config, VmParts* vm) {
  int serial_fd = STDOUT_FILENO;
  if (config.serial_path != "-") {
    vm->serial_file.Reset(::open(config.serial_path.c_str(),
                                 O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                                 0644));
    if (!vm->serial_file.valid()) {
      return ErrnoError("open --serial file " + config.serial_path);
    }
    serial_fd = vm->serial_file.get();
  }
  DeviceSetConfig devices;
  devices.serial_fd = serial_fd;
  devices.pcimem_bytes = config.pcimem_bytes;
  RunControl* control = vm->run_control.get();
  devices.on_guest_exit = [control](uint8_t status) {
    control->Stop({StopKind::kGuestExit, status,
                   absl::StrFormat("the guest exited with status %u", status)});
  };
  ConfigureDevices(vm->boot_format, config, vm->irqchip.get(), &devices);
  devices.pcimem_requests = vm->pcimem_bridge.get();
  devices.pcimem_msi = vm->irqchip.get();  // MSI needs the irqchip (kernels)
  devices.on_power_off = EndsKernelRun(StopKind::kGuestPowerOff, vm);
  devices.on_reset = EndsKernelRun(StopKind::kGuestReset, vm);
  ASSIGN_OR_RETURN(vm->devices, DeviceSet::Create(std::move(devices)));
  if (vm->pcimem_bridge != nullptr) {
    ConnectDevicePages(vm->pcimem_bridge.get(), vm->engine.get(),
                       kPciMemRegionId, vm->devices->pcimem_events());
  }
  ASSIGN_OR_RETURN(vm->serial_input, StartSerialInput(config.serial_input,
                                                      &vm->devices->serial()));
  return absl::OkStatus();
}

// 8. vCPUs as the image enters them (payloads: all in long mode at the
// entry point; kernels: vCPU 0, the others wait for INIT/SIPI), each with
// its own thread.
absl::Status CreateVcpus(const VmmConfig& config, const LoadedImage& loaded,
                         const MachineChecks& machine_checks, VmParts* vm) {
  ASSIGN_OR_RETURN(const std::vector<kvm_cpuid_entry2> cpuid,
                   vm->kvm->SupportedCpuid());
  CpuidOptions cpuid_options;
  cpuid_options.vcpu_count = config.vcpu_count;
  cpuid_options.tsc_deadline_timer =
      vm->kvm->CheckExtension(KVM_CAP_TSC_DEADLINE_TIMER) > 0;
  ExitContext exits{&vm->devices->port_bus(), &vm->devices->mmio_bus(),
                    vm->memory.get()};
  if (IsKernel(loaded.format)) {
    // Linux's reboot=t (and a panic with panic=-1) triple-faults.
    exits.on_shutdown = EndsKernelRun(StopKind::kGuestReset, vm);
  }
  RETURN_IF_ERROR(InstallKickSignalHandler());
  RETURN_IF_ERROR(InstallMemoryErrorSignalHandler());
  FaultEngine* engine = vm->engine.get();
  RunControl* control = vm->run_control.get();
  for (uint32_t id = 0; id < config.vcpu_count; ++id) {
    ASSIGN_OR_RETURN(std::unique_ptr<VcpuFd> vcpu, vm->vm->CreateVcpu(id));
    RETURN_IF_ERROR(vcpu->SetCpuid(CpuidForVcpu(cpuid, id, cpuid_options)));
    RETURN_IF_ERROR(SetEntryRegisters(loaded, id, *vcpu));
    if (machine_checks.has_value()) {
      RETURN_IF_ERROR(vcpu->SetupMachineCheck(*machine_checks));
    }
    vm->vcpus.push_back(std::make_unique<VcpuThread>(
        id, std::move(vcpu), vm->kvm->vcpu_mmap_size(), exits, control,
        vm->memory_errors.get(),
        [engine](uint32_t thread_id, uint32_t vcpu_id) {
          engine->RegisterVcpuThread(thread_id, vcpu_id);
        }));
    VcpuThread* thread = vm->vcpus.back().get();
    control->AddKicker([thread] { thread->Kick(); });
  }
  return absl::OkStatus();
}

// 9. The control socket, last: it may pause vCPUs that now exist.
absl::Status OpenControlSocket(const VmmConfig& config, VmParts* vm) {
  if (config.control_path.empty()) return absl::OkStatus();
  RunControl* control = vm->run_control.get();
  const FaultEngine* engine = vm->engine.get();
  VmControls controls;
  controls.pause = [control] { return control->Pause(); };
  controls.resume = [control] { return control->Resume(); };
  controls.stop = [control] {
    control->Stop(
        {StopKind::kControlStop, 0, "stopped through the control socket"});
  };
  controls.status = [control, engine, vcpus = config.vcpu_count] {
    const FaultCountersSnapshot stats = engine->stats().Snapshot();
    return VmStatus{control->Describe(), vcpus,
                    stats.faults,        engine->faults_in_flight(),
                    stats.pages,         stats.zeros,
                    stats.frames,        stats.retries};
  };
  ASSIGN_OR_RETURN(vm->control_server,
                   ControlServer::Create(
                       config.control_path, [controls](ControlCommand command) {
                         return ControlReply(command, controls);
                       }));
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<VirtualMachine>> BuildVm(
    const VmmConfig& config) {
  auto vm = std::make_unique<VmParts>();
  vm->build_started = absl::Now();
  // 1. KVM first: without it nothing else matters.
  ASSIGN_OR_RETURN(const MachineChecks machine_checks,
                   OpenKvm(config, vm.get()));
  // 2. The guest image, checked before any memory or broker session exists.
  ASSIGN_OR_RETURN(const GuestImage image, ReadImage(config, vm.get()));
  // 3. Guest memory, from one description of its regions.
  ASSIGN_OR_RETURN(GuestMemoryPlan memory, CreateGuestMemory(config, vm.get()));
  // 4. The fault engine attaches those regions at the broker.
  RETURN_IF_ERROR(AttachFaultEngine(config, std::move(memory.sources),
                                    machine_checks, vm.get()));
  // 5. The guest image and its boot pages, through the engine.
  ASSIGN_OR_RETURN(const LoadedImage loaded,
                   LoadImage(config, image, memory.layout, vm.get()));
  // 6. The KVM VM, its interrupt controllers and memory slots.
  RETURN_IF_ERROR(CreateKvmVm(loaded.format, vm.get()));
  // 7. Devices and the serial input.
  RETURN_IF_ERROR(CreateDevices(config, vm.get()));
  // 8. vCPUs.
  RETURN_IF_ERROR(CreateVcpus(config, loaded, machine_checks, vm.get()));
  // 9. The control socket.
  RETURN_IF_ERROR(OpenControlSocket(config, vm.get()));
  return std::make_unique<VirtualMachine>(std::move(vm));
}

}  // namespace faultline::vmm
