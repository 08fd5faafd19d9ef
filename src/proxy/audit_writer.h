// AuditWriter: the proxy's local audit log. Records are committed by one
// thread in batches (group commit), so that a request waits for its own
// record to be durable without each request paying a transaction of its
// own; Ship sends what the control plane has not acknowledged.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "aztp/audit/audit.h"
#include "aztp/client/client.h"
#include "aztp/store/audit_log.h"

namespace aztp::internal {

// kAuditAckedMeta names the audit log's meta value holding the highest seq
// the control plane acknowledged.
inline constexpr const char* kAuditAckedMeta = "audit_acked";

class AuditWriter {
 public:
  explicit AuditWriter(std::shared_ptr<AuditLogStore> store);
  ~AuditWriter();  // commits what is queued, then stops

  // Append queues `record`; `done` is called (on the writer thread) once
  // it is committed, or with the error that prevented it.
  void Append(AuditRecord record, std::function<void(Status)> done);

  // Ship sends unacknowledged records to the control plane in batches of
  // `batch` and returns the highest acknowledged seq.
  Result<int64_t> Ship(Client& control_plane, int batch);

  int64_t appended() const;

 private:
  void Run();

  std::shared_ptr<AuditLogStore> store_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  struct Pending {
    AuditRecord record;
    std::function<void(Status)> done;
  };
  std::deque<Pending> queue_;
  bool stopping_ = false;
  int64_t appended_ = 0;
  std::mutex ship_mu_;  // one shipment at a time
  std::thread thread_;
};

}  // namespace aztp::internal
