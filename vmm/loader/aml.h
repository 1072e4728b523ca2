// Just enough ACPI Machine Language to describe the VMM's PC in a DSDT:
// names, scopes, devices, packages, integers, buffers, EISA ids and the
// resource descriptors of a PCI host bridge's _CRS. Each function returns
// the encoded bytes (ACPI 6.x, section 20); the callers nest them. Pure.
#ifndef FAULTLINE_VMM_LOADER_AML_H_
#define FAULTLINE_VMM_LOADER_AML_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace faultline::vmm::aml {

// The PkgLength that prefixes `content_bytes` of package content (it counts
// itself too).
std::string PkgLength(size_t content_bytes);

// The smallest integer encoding: ZeroOp, OneOp, or Byte/Word/DWord/QWord.
std::string Integer(uint64_t value);
// A NameString: an optional root prefix '\' and one 4-character segment,
// padded with '_' ("PCI0", "\_SB", "_S5").
std::string NameString(absl::string_view name);

std::string Name(absl::string_view name, const std::string& value);
std::string Scope(absl::string_view name, const std::string& body);
std::string Device(absl::string_view name, const std::string& body);
std::string Package(const std::vector<std::string>& elements);
std::string Buffer(const std::string& bytes);
// "PNP0A03" as the DWord compressed EISA id.
std::string EisaId(absl::string_view id);

// Resource descriptors (producers: what a host bridge decodes for its bus).
std::string WordBusNumber(uint16_t min, uint16_t max);
std::string WordIo(uint16_t min, uint16_t max);
std::string IoPort(uint16_t min, uint16_t max, uint8_t alignment,
                   uint8_t length);
std::string DWordMemory(uint32_t min, uint32_t max, bool prefetchable);
std::string QWordMemory(uint64_t min, uint64_t max, bool prefetchable);
// IRQNoFlags: the ISA interrupt `irq` (edge-triggered, active high).
std::string IrqNoFlags(uint8_t irq);
// A Buffer holding the descriptors and the end tag.
std::string ResourceTemplate(const std::vector<std::string>& descriptors);

}  // namespace faultline::vmm::aml

#endif  // FAULTLINE_VMM_LOADER_AML_H_
