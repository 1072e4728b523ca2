#include "broker/staging/session_staging.h"

#include <cstdio>
#include <optional>

#include "absl/strings/str_cat.h"
#include "broker/staging/staging_sweep.h"

namespace faultline::broker {
namespace {

// Refused slot releases logged per stream; later ones are only counted.
constexpr int kLoggedRefusals = 5;

}  // namespace

absl::StatusOr<std::unique_ptr<StagingArea>> SessionStaging::CreateArea(
    const std::string& dir, const std::string& session_id, uint32_t slot_count,
    bool with_ring) {
  return StagingArea::Create(StagingFilePath(dir, session_id), slot_count,
                             with_ring);
}

SessionStaging::SessionStaging(std::string session_id,
                               std::unique_ptr<StagingArea> area,
                               StagingTotals* broker_totals)
    : session_id_(std::move(session_id)),
      area_(std::move(area)),
      ring_(area_ != nullptr && area_->ring_memory() != nullptr
                ? std::make_unique<SessionRing>(area_->ring_memory())
                : nullptr),
      broker_totals_(broker_totals) {}

std::shared_ptr<StreamSlots> SessionStaging::OpenStream() {
  const uint64_t epoch = area_ != nullptr ? area_->BeginEpoch() : 0;
  return std::make_shared<StreamSlots>(*this, epoch);
}

void SessionStaging::ToProto(v1::StagingCounters* out) const {
  session_totals_.ToProto(out);
  if (area_ != nullptr) {
    out->set_slot_count(area_->slot_count());
    out->set_slots_held(area_->slots_held());
  }
}

void SessionStaging::RemoveFile() {
  if (area_ != nullptr) area_->RemoveFile();
}

void StreamSlots::Release(absl::Span<const uint32_t> slots) {
  StagingArea* area = staging_.area_.get();
  for (uint32_t slot : slots) {
    absl::Status released =
        area != nullptr ? area->Release(slot, epoch_)
                        : absl::FailedPreconditionError(absl::StrCat(
                              "staging slot ", slot,
                              " released but the session has no staging area"));
    if (released.ok()) continue;
    staging_.session_totals_.AddRefusedRelease();
    if (staging_.broker_totals_ != nullptr) {
      staging_.broker_totals_->AddRefusedRelease();
    }
    if (++refused_ <= kLoggedRefusals) {
      std::fprintf(stderr, "broker: session %s: release refused: %s\n",
                   staging_.session_id_.c_str(),
                   std::string(released.message()).c_str());
    }
  }
}

void StreamSlots::End() {
  if (StagingArea* area = staging_.area_.get()) area->EndEpoch(epoch_);
}

void StreamSlots::Stage(v1::FaultAnswer* answer) const {
  StagingArea* area = staging_.area_.get();
  if (area == nullptr) return;
  StagedPages pages;
  auto stage = [&](std::string* data, auto set_slot) {
    if (std::optional<uint32_t> slot = area->Stage(*data, epoch_)) {
      set_slot(*slot);
      ++pages.staged;
    } else {
      ++pages.inlined;
    }
  };
  if (answer->has_page() && answer->page().has_data()) {
    v1::PageAnswer* page = answer->mutable_page();
    stage(page->mutable_data(),
          [page](uint32_t slot) { page->set_staging_slot(slot); });
  }
  for (v1::ExtraPage& extra : *answer->mutable_extra_pages()) {
    if (!extra.has_data()) continue;
    stage(extra.mutable_data(),
          [&extra](uint32_t slot) { extra.set_staging_slot(slot); });
  }
  staging_.session_totals_.Add(pages);
  if (staging_.broker_totals_ != nullptr) staging_.broker_totals_->Add(pages);
}

}  // namespace faultline::broker
