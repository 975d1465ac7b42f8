#include "store/backend.hpp"

namespace jobstate::store {

std::string_view table_name(table t) noexcept {
  switch (t) {
    case table::meta:
      return "meta";
    case table::jobs:
      return "jobs";
    case table::by_scope:
      return "idx_scope";
    case table::by_status:
      return "idx_status";
    case table::by_kind:
      return "idx_kind";
    case table::by_parent:
      return "idx_parent";
    case table::by_parent_status:
      return "idx_parent_status";
    case table::by_original:
      return "idx_original";
    case table::idempotency:
      return "idx_idempotency";
    case table::by_completed:
      return "idx_completed";
    case table::tombstones:
      return "tombstones";
    case table::by_tombstone_age:
      return "idx_tombstone_age";
    case table::changes:
      return "changes";
    case table::by_claimable:
      return "idx_claimable";
    case table::by_lease_expiry:
      return "idx_lease_expiry";
    case table::by_deadline:
      return "idx_deadlines";
  }
  return "unknown";
}

}  // namespace jobstate::store
