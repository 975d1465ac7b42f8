// Whether other processes have an LMDB environment open, read from the lock
// every process holds on its lock file while the environment is open.
#ifndef JOBSTATE_STORE_LOCK_FILE_HPP
#define JOBSTATE_STORE_LOCK_FILE_HPP

#include <jobstate/result.hpp>

#include <string>

namespace jobstate::store {

/// Whether a process other than this one has the LMDB environment in
/// `directory` open. LMDB holds a shared fcntl lock on byte 0 of
/// `lock.mdb` for as long as a process has the environment open, so this
/// asks whether that byte could be locked exclusively. It asks through the
/// descriptor LMDB opened (found in /proc/self/fd): opening and closing
/// another descriptor of the file would release this process's fcntl locks,
/// LMDB's own. REQUIRES: this process has the environment open.
/// Errors: io_error (no descriptor of lock.mdb found, /proc not mounted).
result<bool> open_in_other_processes(const std::string& directory);

}  // namespace jobstate::store

#endif  // JOBSTATE_STORE_LOCK_FILE_HPP
