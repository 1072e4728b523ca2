#include "vmm/devices/i8042.h"

namespace faultline::vmm {
namespace {

constexpr uint64_t kDataOffset = 0;
constexpr uint64_t kCommandOffset = 4;

constexpr uint8_t kStatusOutputFull = 0x01;
constexpr uint8_t kStatusSystem = 0x04;
constexpr uint8_t kStatusCommand = 0x08;
constexpr uint8_t kStatusUnlocked = 0x10;

constexpr uint8_t kCommandByteKeyboardIrq = 0x01;

constexpr uint8_t kReadCommandByte = 0x20;
constexpr uint8_t kWriteCommandByte = 0x60;
constexpr uint8_t kDisableAux = 0xA7;
constexpr uint8_t kEnableAux = 0xA8;
constexpr uint8_t kTestAux = 0xA9;
constexpr uint8_t kSelfTest = 0xAA;
constexpr uint8_t kTestKeyboard = 0xAB;
constexpr uint8_t kDisableKeyboard = 0xAD;
constexpr uint8_t kEnableKeyboard = 0xAE;
constexpr uint8_t kReadInputPort = 0xC0;
constexpr uint8_t kReadOutputPort = 0xD0;
constexpr uint8_t kWriteOutputPort = 0xD1;
constexpr uint8_t kWriteKeyboardBuffer = 0xD2;
constexpr uint8_t kWriteAuxBuffer = 0xD3;
constexpr uint8_t kWriteAux = 0xD4;
constexpr uint8_t kPulseOutputFirst = 0xF0;

constexpr uint8_t kSelfTestPassed = 0x55;
constexpr uint8_t kInterfaceOk = 0x00;
constexpr uint8_t kAuxAbsent = 0xFF;
constexpr uint8_t kKeyboardAck = 0xFA;
constexpr uint8_t kKeyboardResetOk = 0xAA;
constexpr uint8_t kKeyboardReset = 0xFF;
constexpr uint8_t kKeyboardGetId = 0xF2;
constexpr uint8_t kKeyboardEcho = 0xEE;

// Commands that take the next data byte as their argument.
bool TakesData(uint8_t command) {
  return command == kWriteCommandByte || command == kWriteOutputPort ||
         command == kWriteKeyboardBuffer || command == kWriteAuxBuffer ||
         command == kWriteAux;
}

}  // namespace

void I8042::Read(uint64_t offset, absl::Span<uint8_t> data) {
  absl::MutexLock lock(&mutex_);
  for (size_t i = 0; i < data.size(); ++i) {
    const uint64_t at = offset + i;
    if (at == kDataOffset) {
      if (output_.empty()) {
        data[i] = 0;
      } else {
        data[i] = output_.front().value;
        output_.pop_front();
      }
    } else if (at == kCommandOffset) {
      data[i] = (output_.empty() ? 0 : kStatusOutputFull) | kStatusSystem |
                kStatusUnlocked |
                (last_write_was_command_ ? kStatusCommand : 0);
    } else {
      data[i] = 0xFF;  // 0x61..0x63 belong to other devices
    }
  }
  UpdateIrq();
}

void I8042::Write(uint64_t offset, absl::Span<const uint8_t> data) {
  std::string reset;
  {
    absl::MutexLock lock(&mutex_);
    for (size_t i = 0; i < data.size() && reset.empty(); ++i) {
      if (offset + i == kDataOffset) {
        reset = WriteData(data[i]);
      } else if (offset + i == kCommandOffset) {
        reset = WriteCommand(data[i]);
      }
    }
    UpdateIrq();
    if (!reset.empty() && reset_) reset.clear();  // only the first counts
    if (!reset.empty()) reset_ = true;
  }
  if (!reset.empty()) on_reset_(reset);
}

void I8042::Output(uint8_t value, bool from_keyboard) {
  // A bounded buffer: a guest that never reads loses the oldest bytes.
  if (output_.size() >= 16) output_.pop_front();
  output_.push_back({value, from_keyboard});
}

void I8042::UpdateIrq() {
  if (keyboard_irq_ == nullptr) return;
  keyboard_irq_->Set(!output_.empty() && output_.front().from_keyboard &&
                     (command_byte_ & kCommandByteKeyboardIrq) != 0);
}

std::string I8042::WriteCommand(uint8_t command) {
  last_write_was_command_ = true;
  pending_command_ = TakesData(command) ? command : 0;
  switch (command) {
    case kReadCommandByte:
      Output(command_byte_, false);
      break;
    case kSelfTest:
      Output(kSelfTestPassed, false);
      break;
    case kTestKeyboard:
      Output(kInterfaceOk, false);
      break;
    case kTestAux:
      Output(kAuxAbsent, false);
      break;
    case kDisableKeyboard:
      command_byte_ |= 0x10;
      break;
    case kEnableKeyboard:
      command_byte_ &= ~0x10;
      break;
    case kDisableAux:
      command_byte_ |= 0x20;
      break;
    case kEnableAux:
      command_byte_ &= ~0x20;
      break;
    case kReadInputPort:
      Output(0x00, false);
      break;
    case kReadOutputPort:
      Output(output_port_, false);
      break;
    default:
      // 0xF0-0xFF pulse the output lines whose bits are clear; bit 0 is
      // the CPU's reset line.
      if (command >= kPulseOutputFirst && (command & 0x01) == 0) {
        return "the guest reset the machine through the i8042 (command "
               "0xFE)";
      }
      break;  // others are accepted and change nothing
  }
  return "";
}

std::string I8042::WriteData(uint8_t value) {
  last_write_was_command_ = false;
  const uint8_t command = pending_command_;
  pending_command_ = 0;
  switch (command) {
    case kWriteCommandByte:
      command_byte_ = value;
      return "";
    case kWriteOutputPort:
      output_port_ = value;
      if ((value & 0x01) == 0) {
        return "the guest reset the machine through the i8042 output port";
      }
      return "";
    case kWriteKeyboardBuffer:
      Output(value, true);
      return "";
    case kWriteAuxBuffer:
    case kWriteAux:
      return "";  // no mouse
    default:
      KeyboardCommand(value);
      return "";
  }
}

void I8042::KeyboardCommand(uint8_t command) {
  // A keyboard with no keys: it acknowledges every command, passes its
  // reset test and says it is an MF2 keyboard.
  if (command == kKeyboardEcho) {
    Output(kKeyboardEcho, true);
    return;
  }
  Output(kKeyboardAck, true);
  if (command == kKeyboardReset) {
    Output(kKeyboardResetOk, true);
  } else if (command == kKeyboardGetId) {
    Output(0xAB, true);
    Output(0x83, true);
  }
}

}  // namespace faultline::vmm
