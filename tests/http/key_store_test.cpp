// The key store as two processes see it (the server and `jobstated keys`):
// a change made through one store is seen by the other's next
// authentication, whether the file is replaced, removed or damaged.
#include "http/key_store.hpp"

#include "http/file_watch.hpp"
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace jobstate::test {
namespace {

namespace fs = std::filesystem;

class KeyStoreFile : public ::testing::Test {
 protected:
  std::unique_ptr<http::key_store> open_store() {
    auto s = http::key_store::open(http::key_store::file_in(dir_.path()));
    EXPECT_TRUE(s) << s.error().message();
    return s ? std::move(*s) : nullptr;
  }
  fs::path file() const { return http::key_store::file_in(dir_.path()); }

  temp_dir dir_{"key-store"};
};

TEST_F(KeyStoreFile, AKeyRevokedByAnotherStoreFailsAtTheNextRequest) {
  auto server = open_store();
  auto command = open_store();
  const auto issued = command->create_key("acme").value();
  EXPECT_EQ(server->authenticate(issued.key), "acme");
  ASSERT_TRUE(command->revoke(issued.record.id));
  EXPECT_EQ(server->authenticate(issued.key), std::nullopt);
}

TEST_F(KeyStoreFile, AKeyCreatedByAnotherStoreWorksAtTheNextRequest) {
  auto server = open_store();
  auto command = open_store();
  const auto first = command->create_key("acme").value();
  EXPECT_EQ(server->authenticate(first.key), "acme");
  const auto second = command->create_key("globex").value();
  EXPECT_EQ(server->authenticate(second.key), "globex");
  EXPECT_EQ(server->authenticate(first.key), "acme");
}

TEST_F(KeyStoreFile, RemovingTheFileRemovesEveryKey) {
  auto server = open_store();
  const auto issued = server->create_key("acme").value();
  EXPECT_EQ(server->authenticate(issued.key), "acme");
  fs::remove(file());
  EXPECT_EQ(server->authenticate(issued.key), std::nullopt);
  EXPECT_TRUE(server->empty());
}

TEST_F(KeyStoreFile, ADamagedFileKeepsTheLastGoodKeysUntilRepaired) {
  auto server = open_store();
  const auto issued = server->create_key("acme").value();
  const fs::path good = dir_.sub("good.json");
  fs::copy_file(file(), good);
  { std::ofstream(file(), std::ios::trunc) << "{not json"; }
  EXPECT_EQ(server->authenticate(issued.key), "acme");
  // Repaired, then changed by another process: the change is honoured.
  fs::rename(good, file());
  auto repaired = open_store();
  ASSERT_TRUE(repaired->revoke(issued.record.id));
  EXPECT_EQ(server->authenticate(issued.key), std::nullopt);
}

TEST_F(KeyStoreFile, AnEditInPlaceIsSeenAtItsClose) {
  auto server = open_store();
  const auto issued = server->create_key("acme").value();
  auto other = open_store();
  ASSERT_TRUE(other->revoke(issued.record.id));
  std::ifstream in(file());
  std::stringstream revoked;
  revoked << in.rdbuf();
  // Back to "not revoked", then rewritten in place as an editor would.
  ASSERT_TRUE(server->authenticate(issued.key) == std::nullopt);
  std::string text = revoked.str();
  const auto at = text.find("\"revoked\":true");
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, 14, "\"revoked\":false");
  { std::ofstream(file(), std::ios::trunc) << text; }
  EXPECT_EQ(server->authenticate(issued.key), "acme");
}

TEST(FileWatch, WithoutADirectoryItAlwaysSaysMaybe) {
  temp_dir dir("file-watch");
  http::file_watch watch(dir.sub("absent") / "keys.json");
  EXPECT_TRUE(watch.maybe_changed());
  EXPECT_TRUE(watch.maybe_changed());
}

TEST(FileWatch, SeesOnlyItsOwnFile) {
  temp_dir dir("file-watch");
  const fs::path file = dir.sub("keys.json");
  http::file_watch watch(file);
  EXPECT_FALSE(watch.maybe_changed());
  { std::ofstream(dir.sub("other.json")) << "{}"; }
  EXPECT_FALSE(watch.maybe_changed());
  { std::ofstream(file) << "{}"; }
  EXPECT_TRUE(watch.maybe_changed());
  EXPECT_FALSE(watch.maybe_changed());
  fs::rename(file, dir.sub("moved.json"));
  EXPECT_TRUE(watch.maybe_changed());
  fs::rename(dir.sub("moved.json"), file);
  EXPECT_TRUE(watch.maybe_changed());
  fs::remove(file);
  EXPECT_TRUE(watch.maybe_changed());
}

TEST(FileWatch, ItsDirectoryRemovedItAlwaysSaysMaybe) {
  temp_dir dir("file-watch");
  const fs::path sub = dir.sub("db");
  fs::create_directories(sub);
  http::file_watch watch(sub / "keys.json");
  EXPECT_FALSE(watch.maybe_changed());
  fs::remove_all(sub);
  EXPECT_TRUE(watch.maybe_changed());
  fs::create_directories(sub);
  EXPECT_TRUE(watch.maybe_changed());
}

}  // namespace
}  // namespace jobstate::test
