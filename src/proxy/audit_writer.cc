#include "proxy/audit_writer.h"

#include <vector>

namespace aztp::internal {

namespace {
// kMaxBatch bounds the records committed in one transaction.
constexpr std::size_t kMaxBatch = 512;
}  // namespace

AuditWriter::AuditWriter(std::shared_ptr<AuditLogStore> store)
    : store_(std::move(store)), thread_([this] { Run(); }) {}

AuditWriter::~AuditWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void AuditWriter::Append(AuditRecord record, std::function<void(Status)> done) {
  // Every record must be one aztpd accepts when it is shipped.
  BoundAuditRecord(record);
  {
    std::lock_guard lock(mu_);
    queue_.push_back({std::move(record), std::move(done)});
  }
  wake_.notify_one();
}

int64_t AuditWriter::appended() const {
  std::lock_guard lock(mu_);
  return appended_;
}

void AuditWriter::Run() {
  while (true) {
    std::vector<Pending> batch;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, nothing left
      while (!queue_.empty() && batch.size() < kMaxBatch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    Status status = store_->Write([&](AuditLogTransaction& tx) -> Status {
      for (const Pending& p : batch) {
        auto seq = tx.AppendAudit(p.record);
        if (!seq) return seq.error();
      }
      return Ok();
    });
    if (status) {
      std::lock_guard lock(mu_);
      appended_ += static_cast<int64_t>(batch.size());
    }
    for (Pending& p : batch) p.done(status);
  }
}

Result<int64_t> AuditWriter::Ship(Client& control_plane, int batch) {
  std::lock_guard ship(ship_mu_);
  int64_t acked = 0;
  AZTP_RETURN_IF_ERROR(store_->Read([&](AuditLogTransaction& tx) -> Status {
    AZTP_ASSIGN_OR_RETURN(auto m, tx.GetMeta(kAuditAckedMeta));
    acked = m.value_or(0);
    return Ok();
  }));
  while (true) {
    std::vector<AuditRecord> records;
    AZTP_RETURN_IF_ERROR(store_->Read([&](AuditLogTransaction& tx) -> Status {
      AZTP_ASSIGN_OR_RETURN(records, tx.ListAudit(acked, batch));
      return Ok();
    }));
    if (records.empty()) return acked;
    AZTP_ASSIGN_OR_RETURN(AuditHead head, control_plane.IngestAudit(records));
    if (head.seq < records.back().seq) {
      return Error(Code::kInternal, "the control plane acknowledged seq " +
                                        std::to_string(head.seq) +
                                        " of a batch ending at " +
                                        std::to_string(records.back().seq));
    }
    if (head.seq == records.back().seq && head.hash != records.back().hash) {
      return Error(Code::kAlreadyExists,
                   "the control plane holds a different record " +
                       std::to_string(head.seq) + " for this proxy");
    }
    acked = head.seq;
    AZTP_RETURN_IF_ERROR(store_->Write([&](AuditLogTransaction& tx) -> Status {
      return tx.PutMeta(kAuditAckedMeta, acked);
    }));
  }
}

}  // namespace aztp::internal
