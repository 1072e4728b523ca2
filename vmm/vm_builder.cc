#include "vmm/vm_builder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <optional>

#include "absl/strings/str_format.h"
#include "proto/base/errno_status.h"
#include "proto/base/status_macros.h"
#include "proto/guest_abi.h"
#include "vmm/exit_codes.h"
#include "vmm/guest_machine.h"
#include "vmm/loader/guest_image.h"
#include "vmm/memory/pc_memory_map.h"
#include "vmm/pcimem_wiring.h"
#include "vmm/ram_preload.h"
#include "vmm/vcpu/cpuid.h"
#include "vmm/vcpu/machine_check.h"

namespace faultline::vmm {
namespace {

namespace abi = ::faultline::guest_abi;

constexpr uint32_t kRamRegionId = 1;
constexpr uint32_t kPciMemRegionId = 2;
constexpr uint32_t kRamSlot = 0;
constexpr uint32_t kPciMemSlot = 1;
// How long a revocation waits for the guest driver's REVOKE_ACK.
constexpr absl::Duration kRevokeAckDeadline = absl::Seconds(5);

StopKind StopKindFor(FatalKind kind) {
  switch (kind) {
    case FatalKind::kFaultDeadline:
      return StopKind::kFaultDeadline;
    case FatalKind::kBrokerUnreachable:
      return StopKind::kBrokerUnreachable;
    case FatalKind::kErrorAnswer:
      return StopKind::kBrokerErrorAnswer;
    case FatalKind::kInternal:
      return StopKind::kVmmError;
  }
  return StopKind::kVmmError;
}

std::vector<v1::Region> BrokerRegions(const VmmConfig& config) {
  std::vector<v1::Region> regions(1);
  v1::Region& ram = regions[0];
  ram.set_region_id(kRamRegionId);
  ram.set_name("ram");
  ram.set_kind(v1::REGION_KIND_RAM);
  ram.set_guest_physical_base(0);
  ram.set_size_bytes(config.ram_bytes);
  ram.set_page_size(abi::kPageBytes);
  *ram.mutable_source() = config.ram_source;
  if (config.pcimem_bytes > 0) {
    v1::Region& window = regions.emplace_back();
    window.set_region_id(kPciMemRegionId);
    window.set_name("pcimem");
    window.set_kind(v1::REGION_KIND_DEVICE_MEMORY);
    window.set_guest_physical_base(abi::kPciMemWindowBarAddress);
    window.set_size_bytes(config.pcimem_bytes);
    window.set_page_size(abi::kPageBytes);
    *window.mutable_source()->mutable_device() = config.pcimem_source;
  }
  return regions;
}

BuildError Failed(BuildFailure failure, absl::Status status) {
  return BuildError{failure, std::move(status)};
}

}  // namespace

std::unique_ptr<VirtualMachine> VirtualMachine::Build(const VmmConfig& config,
                                                      BuildError* error) {
  std::unique_ptr<VirtualMachine> vm(new VirtualMachine(config));
  vm->build_started_ = absl::Now();

  // 1. KVM first: without it nothing else matters.
  absl::StatusOr<std::unique_ptr<Kvm>> kvm = Kvm::Open();
  if (!kvm.ok()) {
    *error = Failed(BuildFailure::kKvmUnavailable, kvm.status());
    return nullptr;
  }
  vm->kvm_ = *std::move(kvm);
  // Error answers become machine checks only where KVM emulates them with
  // software recovery; elsewhere they stop the VM.
  std::optional<uint64_t> mcg_cap;
  if (config.machine_check_on_error) {
    absl::StatusOr<uint64_t> cap =
        vm->kvm_->SupportedMachineCheckCapabilities();
    if (cap.ok()) cap = MachineCheckCapabilities(*cap);
    if (cap.ok()) {
      mcg_cap = *cap;
    } else {
      absl::FPrintF(stderr, "vmm: error answers will stop the VM: %s\n",
                    cap.status().message());
    }
  }

  // 2. The guest image (a payload, a Linux bzImage or a multiboot kernel),
  //    checked before any memory or broker session exists.
  GuestImageSource source;
  source.payload_path = config.guest_path;
  source.kernel_path = config.kernel_path;
  source.initrds = config.initrds;
  source.cmdline = config.kernel_cmdline;
  absl::StatusOr<GuestImage> image =
      ReadGuestImage(source, config.ram_bytes, config.vcpu_count);
  if (!image.ok()) {
    *error = Failed(BuildFailure::kBadPayload, image.status());
    return nullptr;
  }
  vm->boot_format_ = image->format;

  // 3. Guest memory: RAM and the device window, unpopulated.
  MemoryLayout layout;
  const std::vector<v1::Region> regions = BrokerRegions(config);
  for (const v1::Region& region : regions) {
    const RegionKind kind = region.kind() == v1::REGION_KIND_RAM
                                ? RegionKind::kRam
                                : RegionKind::kDeviceWindow;
    absl::Status added =
        layout.Add({region.region_id(), region.name(), kind,
                    region.guest_physical_base(), region.size_bytes()});
    if (!added.ok()) {
      *error = Failed(BuildFailure::kVmmError, added);
      return nullptr;
    }
  }
  absl::StatusOr<std::unique_ptr<GuestMemory>> memory =
      GuestMemory::Create(layout);
  if (!memory.ok()) {
    *error = Failed(BuildFailure::kVmmError, memory.status());
    return nullptr;
  }
  vm->memory_ = *std::move(memory);
  vm->control_ = std::make_unique<RunControl>(config.vcpu_count);

  // 4. The fault engine: registers memory with userfaultfd and attaches.
  FaultEngine::Options engine_options;
  engine_options.transport.target = config.broker_target;
  engine_options.transport.vm_name = config.vm_name;
  engine_options.transport.vm_token = config.vm_token;
  engine_options.transport.regions = regions;
  engine_options.transport.vcpu_count = config.vcpu_count;
  engine_options.transport.attach_deadline = config.fault_deadline;
  engine_options.transport.staging = config.staging_auto
                                         ? BrokerTransport::Staging::kAuto
                                         : BrokerTransport::Staging::kOff;
  engine_options.retry.budget = config.retry_budget;
  engine_options.retry.deadline = config.fault_deadline;
  engine_options.prefetch_hint =
      config.prefetch_pages.value_or(DefaultPrefetchPages(image->format));
  engine_options.poison_error_pages = mcg_cap.has_value();
  if (config.pcimem_bytes > 0) {
    // The device's page events: the guest asks for pages, and hears what
    // became of them (the device joins in step 7).
    vm->pcimem_bridge_ =
        std::make_unique<PciMemFaultBridge>(kRevokeAckDeadline);
    RouteDevicePages(vm->pcimem_bridge_.get(), kPciMemRegionId,
                     &engine_options);
  }
  RunControl* control = vm->control_.get();
  absl::StatusOr<std::unique_ptr<FaultEngine>> engine = FaultEngine::Create(
      vm->memory_.get(), engine_options, [control](const FatalFault& fatal) {
        control->Stop({StopKindFor(fatal.kind), 0, fatal.message});
      });
  if (!engine.ok()) {
    const BuildFailure failure =
        absl::IsUnavailable(engine.status()) ? BuildFailure::kBrokerUnreachable
        : absl::IsInvalidArgument(engine.status()) ||
                absl::IsPermissionDenied(engine.status()) ||
                absl::IsAlreadyExists(engine.status()) ||
                absl::IsUnauthenticated(engine.status())
            ? BuildFailure::kBrokerRefused
            : BuildFailure::kVmmError;
    *error = Failed(failure, engine.status());
    return nullptr;
  }
  vm->engine_ = *std::move(engine);
  if (mcg_cap.has_value() && !vm->engine_->poisons_error_pages()) {
    absl::FPrintF(stderr,
                  "vmm: error answers will stop the VM: this kernel has no "
                  "UFFDIO_POISON\n");
  }
  vm->memory_errors_ =
      std::make_unique<MemoryErrorReporter>(vm->memory_.get(), mcg_cap);

  // 5. The loader installs the guest image and its boot state; the rest
  //    will fault.
  FaultEngine* fault_engine = vm->engine_.get();
  LoadContext load_context;
  load_context.layout = &layout;
  load_context.ram_bytes = config.ram_bytes;
  load_context.vcpu_count = config.vcpu_count;
  load_context.payload_args = config.guest_args;
  absl::StatusOr<LoadedImage> loaded =
      LoadGuestImage(*image, load_context,
                     [fault_engine](uint64_t address, const uint8_t* page) {
                       return fault_engine->LoadPage(address, page);
                     });
  if (!loaded.ok()) {
    *error = Failed(BuildFailure::kBadPayload, loaded.status());
    return nullptr;
  }
  vm->loader_pages_ = loaded->pages_installed;
  if (IsKernel(loaded->format)) {
    absl::FPrintF(stderr, "vmm: %s\n", loaded->description);
  }
  if (config.preload_ram) {
    RamPreloadOptions preload;
    preload.target = config.broker_target;
    preload.vm_name = config.vm_name;
    preload.vm_token = config.vm_token;
    preload.ram = regions[0];  // BrokerRegions puts RAM first
    preload.deadline = config.fault_deadline;
    absl::StatusOr<uint64_t> preloaded = PreloadRam(preload, fault_engine);
    if (!preloaded.ok()) {
      *error = Failed(absl::IsUnavailable(preloaded.status())
                          ? BuildFailure::kBrokerUnreachable
                          : BuildFailure::kVmmError,
                      preloaded.status());
      return nullptr;
    }
  }

  // 6. The KVM VM, a kernel's interrupt controllers, the memory slots.
  auto fail = [error](absl::Status status) {
    *error = Failed(BuildFailure::kVmmError, std::move(status));
    return nullptr;
  };
  absl::StatusOr<std::unique_ptr<VmFd>> vm_fd = vm->kvm_->CreateVm();
  if (!vm_fd.ok()) return fail(vm_fd.status());
  vm->vm_ = *std::move(vm_fd);
  if (absl::Status tss = vm->vm_->SetTssAddress(kKvmTssAddress); !tss.ok()) {
    return fail(tss);
  }
  absl::StatusOr<std::unique_ptr<KvmIrqchip>> irqchip =
      CreateInterruptControllers(loaded->format, vm->vm_.get());
  if (!irqchip.ok()) return fail(irqchip.status());
  vm->irqchip_ = *std::move(irqchip);
  const uint32_t slots[] = {kRamSlot, kPciMemSlot};
  for (const MappedRegion& region : vm->memory_->regions()) {
    const uint32_t slot = slots[region.spec.id == kRamRegionId ? 0 : 1];
    absl::Status mapped = vm->vm_->SetUserMemoryRegion(
        slot, region.spec.guest_physical_base, region.spec.size_bytes,
        region.host_base());
    if (!mapped.ok()) return fail(mapped);
  }

  // 7. Devices: serial, debug exit, PCI (host bridge and memory device),
  //    for kernels the PC's; then the serial input.
  int serial_fd = STDOUT_FILENO;
  if (config.serial_path != "-") {
    vm->serial_file_.Reset(::open(config.serial_path.c_str(),
                                  O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                                  0644));
    if (!vm->serial_file_.valid()) {
      return fail(ErrnoError("open --serial file " + config.serial_path));
    }
    serial_fd = vm->serial_file_.get();
  }
  DeviceSetConfig device_config;
  device_config.serial_fd = serial_fd;
  device_config.pcimem_bytes = config.pcimem_bytes;
  device_config.on_guest_exit = [control](uint8_t status) {
    control->Stop({StopKind::kGuestExit, status,
                   absl::StrFormat("the guest exited with status %u", status)});
  };
  VirtualMachine* self = vm.get();
  ConfigureDevices(loaded->format, config, vm->irqchip_.get(), &device_config);
  device_config.pcimem_requests = vm->pcimem_bridge_.get();
  device_config.pcimem_msi = vm->irqchip_.get();  // MSI needs the irqchip
  device_config.on_power_off = [self](const std::string& how) {
    self->EndKernelRun(StopKind::kGuestPowerOff, how);
  };
  device_config.on_reset = [self](const std::string& how) {
    self->EndKernelRun(StopKind::kGuestReset, how);
  };
  absl::StatusOr<std::unique_ptr<DeviceSet>> devices =
      DeviceSet::Create(std::move(device_config));
  if (!devices.ok()) return fail(devices.status());
  vm->devices_ = *std::move(devices);
  if (vm->pcimem_bridge_ != nullptr) {
    ConnectDevicePages(vm->pcimem_bridge_.get(), fault_engine, kPciMemRegionId,
                       vm->devices_->pcimem_events());
  }
  absl::StatusOr<std::unique_ptr<SerialInput>> input =
      StartSerialInput(config.serial_input, &vm->devices_->serial());
  if (!input.ok()) return fail(input.status());
  vm->serial_input_ = *std::move(input);

  // 8. vCPUs as the image enters them (payloads: all in long mode at the
  //    entry point; kernels: vCPU 0, the others wait for INIT/SIPI), each
  //    with its own thread.
  absl::StatusOr<std::vector<kvm_cpuid_entry2>> cpuid =
      vm->kvm_->SupportedCpuid();
  if (!cpuid.ok()) return fail(cpuid.status());
  CpuidOptions cpuid_options;
  cpuid_options.vcpu_count = config.vcpu_count;
  cpuid_options.tsc_deadline_timer =
      vm->kvm_->CheckExtension(KVM_CAP_TSC_DEADLINE_TIMER) > 0;
  ExitContext exit_context{&vm->devices_->port_bus(), &vm->devices_->mmio_bus(),
                           vm->memory_.get()};
  if (IsKernel(loaded->format)) {
    // Linux's reboot=t (and a panic with panic=-1) triple-faults.
    exit_context.on_shutdown = [self](const std::string& how) {
      self->EndKernelRun(StopKind::kGuestReset, how);
    };
  }
  if (absl::Status kick = InstallKickSignalHandler(); !kick.ok()) {
    return fail(kick);
  }
  if (absl::Status bus = InstallMemoryErrorSignalHandler(); !bus.ok()) {
    return fail(bus);
  }
  for (uint32_t id = 0; id < config.vcpu_count; ++id) {
    absl::StatusOr<std::unique_ptr<VcpuFd>> vcpu = vm->vm_->CreateVcpu(id);
    if (!vcpu.ok()) return fail(vcpu.status());
    absl::Status set =
        (*vcpu)->SetCpuid(CpuidForVcpu(*cpuid, id, cpuid_options));
    if (set.ok()) set = SetEntryRegisters(*loaded, id, **vcpu);
    if (set.ok() && mcg_cap.has_value()) {
      set = (*vcpu)->SetupMachineCheck(*mcg_cap);
    }
    if (!set.ok()) return fail(set);
    vm->vcpus_.push_back(std::make_unique<VcpuThread>(
        id, *std::move(vcpu), vm->kvm_->vcpu_mmap_size(), exit_context, control,
        vm->memory_errors_.get(),
        [fault_engine](uint32_t thread_id, uint32_t vcpu_id) {
          fault_engine->RegisterVcpuThread(thread_id, vcpu_id);
        }));
    VcpuThread* thread = vm->vcpus_.back().get();
    control->AddKicker([thread] { thread->Kick(); });
  }

  // 9. The control socket, last: it may pause vCPUs that now exist.
  if (!config.control_path.empty()) {
    absl::StatusOr<std::unique_ptr<ControlServer>> server =
        ControlServer::Create(config.control_path,
                              [self](ControlCommand command) {
                                return self->HandleControl(command);
                              });
    if (!server.ok()) return fail(server.status());
    vm->control_server_ = *std::move(server);
  }
  return vm;
}

StopReason VirtualMachine::Run() {
  vcpus_started_ = absl::Now();
  for (auto& vcpu : vcpus_) vcpu->Start();
  // Every way out (guest exit, control, signal, fault engine) calls Stop().
  while (!control_->WaitForStop(absl::Seconds(1))) {
  }
  stopped_ = absl::Now();
  Teardown();
  return control_->reason();
}

void VirtualMachine::EndKernelRun(StopKind kind, const std::string& how) {
  const std::optional<uint8_t> latched = devices_->latched_status();
  const uint8_t status =
      latched.value_or(kind == StopKind::kGuestReset ? kExitGuestReset : 0);
  control_->Stop({kind, status,
                  latched.has_value()
                      ? absl::StrFormat("%s; status %u", how, status)
                      : absl::StrFormat("%s without a status", how)});
}

void VirtualMachine::Teardown() {
  control_server_.reset();
  if (serial_input_ != nullptr) {
    serial_input_bytes_ = serial_input_->bytes_received();
    serial_input_.reset();
  }
  // Stop() kicked every vCPU. Closing the userfaultfd (destroying the
  // engine) releases a vCPU still blocked on a page, so every join ends.
  if (engine_ != nullptr) {
    final_stats_ = engine_->stats().Snapshot();
    engine_.reset();
  }
  for (auto& vcpu : vcpus_) vcpu->Join();
}

VirtualMachine::~VirtualMachine() {
  if (control_ != nullptr) {
    control_->Stop({StopKind::kVmmError, 0, "the VM was destroyed"});
  }
  Teardown();
}

RunReport VirtualMachine::Report(const StopReason& reason) const {
  RunReport report;
  report.boot_format = BootFormatName(boot_format_);
  report.loader_pages = loader_pages_;
  report.build_seconds = absl::ToDoubleSeconds(vcpus_started_ - build_started_);
  report.run_seconds = absl::ToDoubleSeconds(stopped_ - vcpus_started_);
  if (devices_ != nullptr) {
    if (auto first = devices_->serial().first_interrupt_driven_output()) {
      report.first_user_output_seconds =
          absl::ToDoubleSeconds(*first - vcpus_started_);
    }
  }
  report.end = StopKindName(reason.kind);
  report.exit_status = ExitCodeFor(reason);
  report.serial_input_bytes = serial_input_bytes_;
  return report;
}

FaultCountersSnapshot VirtualMachine::Stats() const {
  return engine_ != nullptr ? engine_->stats().Snapshot() : final_stats_;
}

std::string VirtualMachine::HandleControl(ControlCommand command) {
  switch (command) {
    case ControlCommand::kPause:
      return control_->Pause() ? "ok paused" : "error: the VM is stopping";
    case ControlCommand::kResume:
      return control_->Resume() ? "ok running" : "error: the VM is stopping";
    case ControlCommand::kStop:
      control_->Stop(
          {StopKind::kControlStop, 0, "stopped through the control socket"});
      return "ok stopping";
    case ControlCommand::kStatus: {
      const FaultCountersSnapshot stats = engine_->stats().Snapshot();
      return absl::StrFormat(
          "%s vcpus=%u faults=%u in_flight=%u pages=%u zeros=%u frames=%u "
          "retries=%u",
          control_->Describe(), config_.vcpu_count, stats.faults,
          engine_->faults_in_flight(), stats.pages, stats.zeros, stats.frames,
          stats.retries);
    }
  }
  return "error: unknown command";
}

}  // namespace faultline::vmm
