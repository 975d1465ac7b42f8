#include "http/key_store.hpp"

#include <jobstate/timestamp.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <random>
#include <sstream>
#include <sys/stat.h>

namespace jobstate::http {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

std::string random_hex(std::size_t digits) {
  // std::random_device reads the kernel's CSPRNG (getrandom) on Linux.
  std::random_device rd;
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  while (out.size() < digits) {
    const unsigned v = rd();
    for (int i = 0; i < 8 && out.size() < digits; ++i) {
      out += hex[(v >> (4 * i)) & 0xf];
    }
  }
  return out;
}

bool valid_account_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
  });
}

}  // namespace

std::optional<file_version> version_of(const fs::path& file) {
  struct ::stat st {};
  if (::stat(file.c_str(), &st) != 0) return std::nullopt;
  return file_version{
      .device = static_cast<std::uint64_t>(st.st_dev),
      .inode = static_cast<std::uint64_t>(st.st_ino),
      .size = static_cast<std::int64_t>(st.st_size),
      .modified_ns =
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 +
          st.st_mtim.tv_nsec};
}

std::string sha256_hex(std::string_view text) {
  // Fetched once: EVP_sha256() makes every EVP_Digest look the algorithm up
  // again, which cost as much as the digest itself (every request hashes
  // the key it presents).
  static const EVP_MD* const sha256 = [] {
    const EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched ? fetched : EVP_sha256();
  }();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(text.data(), text.size(), digest, &size, sha256, nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < size; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 0xf];
  }
  return out;
}

fs::path key_store::file_in(const fs::path& db_dir) {
  return db_dir / "jobstated-keys.json";
}

result<std::unique_ptr<key_store>> key_store::open(fs::path file) {
  std::unique_ptr<key_store> store(new key_store(std::move(file)));
  support::mutex_lock lock(store->mutex_);
  if (auto r = store->load(); !r) return r.error();
  return store;
}

result<void> key_store::load() {
  std::error_code ec;
  if (!fs::exists(file_, ec)) {
    keys_.clear();
    accounts_.clear();
    by_hash_.clear();
    loaded_version_.reset();
    return {};
  }
  const auto version = version_of(file_);
  std::ifstream in(file_);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) {
    return error(errc::io_error, "cannot read " + file_.string());
  }
  boost::system::error_code jec;
  json::value v = json::parse(text.str(), jec);
  const auto bad = [&] {
    return error(errc::corrupt,
                 file_.string() + " is not a jobstated key file");
  };
  if (jec || !v.is_object()) return bad();
  const auto* accounts = v.as_object().if_contains("accounts");
  const auto* keys = v.as_object().if_contains("keys");
  if (!accounts || !keys || !accounts->is_array() || !keys->is_array()) {
    return bad();
  }
  std::vector<std::string> new_accounts;
  for (const auto& a : accounts->as_array()) {
    if (!a.is_string()) return bad();
    new_accounts.emplace_back(a.as_string());
  }
  std::vector<key_record> new_keys;
  for (const auto& k : keys->as_array()) {
    const auto* o = k.if_object();
    if (!o) return bad();
    key_record r;
    const auto text_of = [&](std::string_view name, std::string& out) {
      const auto* m = o->if_contains(name);
      if (!m || !m->is_string()) return false;
      out = std::string(m->as_string());
      return true;
    };
    const auto* revoked = o->if_contains("revoked");
    if (!text_of("id", r.id) || !text_of("account_id", r.account_id) ||
        !text_of("sha256", r.sha256) || !text_of("created_at", r.created_at) ||
        !revoked || !revoked->is_bool()) {
      return bad();
    }
    r.revoked = revoked->as_bool();
    new_keys.push_back(std::move(r));
  }
  keys_ = std::move(new_keys);
  accounts_ = std::move(new_accounts);
  by_hash_.clear();
  for (std::size_t i = 0; i < keys_.size(); ++i) by_hash_[keys_[i].sha256] = i;
  loaded_version_ = version;
  return {};
}

result<void> key_store::save() {
  json::array accounts;
  for (const auto& a : accounts_) accounts.emplace_back(a);
  json::array keys;
  for (const auto& k : keys_) {
    keys.push_back(json::object{{"id", k.id},
                                {"account_id", k.account_id},
                                {"sha256", k.sha256},
                                {"created_at", k.created_at},
                                {"revoked", k.revoked}});
  }
  const json::object doc{{"accounts", std::move(accounts)},
                         {"keys", std::move(keys)}};
  std::error_code ec;
  fs::create_directories(file_.parent_path(), ec);
  const fs::path temp = file_.string() + ".tmp";
  {
    // Owner-only from the first byte: the hashes are not secret, but the
    // file says which accounts exist.
    const auto old_mask = ::umask(077);
    std::ofstream out(temp, std::ios::trunc);
    ::umask(old_mask);
    out << json::serialize(doc) << '\n';
    out.flush();
    if (!out) return error(errc::io_error, "cannot write " + temp.string());
  }
  fs::rename(temp, file_, ec);
  if (ec) {
    return error(errc::io_error,
                 "cannot replace " + file_.string() + ": " + ec.message());
  }
  loaded_version_ = version_of(file_);
  return {};
}

void key_store::reload_if_changed() {
  if (!watch_.maybe_changed()) return;
  if (version_of(file_) == loaded_version_) return;
  // A file being replaced mid-read fails to parse: keep the last good keys.
  (void)load();
}

bool key_store::empty() const {
  support::mutex_lock lock(mutex_);
  return accounts_.empty();
}

result<issued_key> key_store::create_key(const std::string& account_id) {
  if (!valid_account_id(account_id)) {
    return error(errc::invalid_argument,
                 "account id \"" + account_id.substr(0, 64) +
                     "\": use 1 to 128 letters, digits, '-', '_' or '.'");
  }
  support::mutex_lock lock(mutex_);
  reload_if_changed();
  issued_key issued;
  issued.record.id = random_hex(8);
  issued.key = "jsk_" + issued.record.id + "_" + random_hex(32);
  issued.record.account_id = account_id;
  issued.record.sha256 = sha256_hex(issued.key);
  issued.record.created_at =
      format_timestamp(std::chrono::time_point_cast<std::chrono::microseconds>(
          std::chrono::system_clock::now()));
  if (std::find(accounts_.begin(), accounts_.end(), account_id) ==
      accounts_.end()) {
    accounts_.push_back(account_id);
  }
  keys_.push_back(issued.record);
  by_hash_[issued.record.sha256] = keys_.size() - 1;
  if (auto r = save(); !r) return r.error();
  return issued;
}

result<void> key_store::revoke(std::string_view key_id) {
  support::mutex_lock lock(mutex_);
  reload_if_changed();
  for (auto& k : keys_) {
    if (k.id == key_id) {
      k.revoked = true;
      return save();
    }
  }
  return error(errc::not_found,
               "no key with id \"" + std::string(key_id.substr(0, 64)) + "\"");
}

std::vector<key_record> key_store::list() const {
  support::mutex_lock lock(mutex_);
  return keys_;
}

std::optional<std::string> key_store::authenticate(std::string_view presented) {
  if (presented.size() < 4 || presented.size() > 256 ||
      presented.substr(0, 4) != "jsk_") {
    return std::nullopt;
  }
  // A client sends the same key with every request: each thread remembers
  // the hash of the last key it saw (a pure function's answer, never stale).
  // Compared in constant time, so that timing tells nothing of that key.
  thread_local std::string last_presented;
  thread_local std::string last_hash;
  if (presented.size() != last_presented.size() ||
      CRYPTO_memcmp(presented.data(), last_presented.data(),
                    presented.size()) != 0) {
    last_hash = sha256_hex(presented);
    last_presented = presented;
  }
  const std::string& hash = last_hash;
  support::mutex_lock lock(mutex_);
  reload_if_changed();
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end() || keys_[it->second].revoked) return std::nullopt;
  return keys_[it->second].account_id;
}

}  // namespace jobstate::http
