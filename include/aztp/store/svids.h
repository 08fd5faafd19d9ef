// The SVIDs aggregate: a note of every X.509-SVID issued.
#pragma once

#include <string>
#include <vector>

#include "aztp/base/clock.h"
#include "aztp/base/result.h"

namespace aztp {

// SvidRecord notes an issued X.509-SVID (never its key).
struct SvidRecord {
  std::string serial;  // lowercase hex
  std::string id;
  UnixTime issued_at = 0;
  UnixTime expires_at = 0;
};

// SvidRepository holds the notes of issued SVIDs (kIo on storage errors).
class SvidRepository {
 public:
  virtual ~SvidRepository() = default;

  // InsertSvid notes an SVID of an existing identity (kAlreadyExists for a
  // known serial, kInvalidArgument for an unknown identity).
  virtual Status InsertSvid(const SvidRecord& r) = 0;
  // ListSvids returns the SVIDs of identity `id`, ordered by issue time and
  // serial.
  virtual Result<std::vector<SvidRecord>> ListSvids(const std::string& id) = 0;
};

}  // namespace aztp
