// The "jobstate" error category: messages say what happened and what to do.
#include <jobstate/error.hpp>

#include <string>
#include <utility>

namespace jobstate {
namespace {

class jobstate_category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "jobstate"; }

  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::invalid_argument:
        return "invalid argument: fix the request; nothing was changed";
      case errc::not_found:
        return "job not found in this account and project: check the id "
               "and the tenancy it was created in";
      case errc::illegal_transition:
        return "illegal status transition: the job is not in a status that "
               "allows this change; get it to see its current status";
      case errc::conflict:
        return "revision conflict: the job changed since you read it; get it "
               "again and retry against its current revision";
      case errc::already_exists:
        return "idempotency key already used for a different request: use a "
               "new key for a new job";
      case errc::gone:
        return "job was purged: only its tombstone remains; create a new job";
      case errc::storage_full:
        return "storage full: purge finished jobs or reopen with a larger "
               "max_map_size; the database is intact";
      case errc::corrupt:
        return "stored data is corrupt: run the integrity check and restore "
               "from a backup";
      case errc::unsupported_version:
        return "database schema version not supported by this build: open it "
               "with the jobstate version that wrote it";
      case errc::too_large:
        return "value too large: it exceeds a documented limit "
               "(docs/data-model.md); send less or raise the limit";
      case errc::expired:
        return "change feed position expired: it is older than the feed "
               "retains; list the jobs again and resume from the latest "
               "sequence";
      case errc::engine_closed:
        return "engine closed: it is shutting down; reopen it to continue";
      case errc::io_error:
        return "storage I/O error: check the database directory's "
               "permissions and free disk space";
      case errc::already_open:
        return "database already open in this process: share the engine "
               "that has it open, or close that engine first";
      case errc::lease_lost:
        return "lease lost: this worker no longer holds the job (its lease "
               "lapsed, or the job ended or was claimed again); stop working "
               "on it and claim another";
    }
    return "unknown jobstate error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& category() noexcept {
  static const jobstate_category instance;
  return instance;
}

error::error(std::error_code code, std::string detail)
    : code_(code), detail_(std::move(detail)) {}

error::error(errc code, std::string detail)
    : error(make_error_code(code), std::move(detail)) {}

std::string error::message() const {
  if (!code_) return "success";
  if (detail_.empty()) return code_.message();
  return code_.message() + " (" + detail_ + ")";
}

error& error::with_job_state(job_status status, std::uint64_t revision) {
  status_ = status;
  revision_ = revision;
  return *this;
}

error& error::with_epoch(std::uint64_t epoch) {
  epoch_ = epoch;
  return *this;
}

system_error::system_error(jobstate::error e)
    : std::system_error(e.code(), e.detail()), error_(std::move(e)) {}

}  // namespace jobstate
