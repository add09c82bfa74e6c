#include "common/messages.hpp"

#include <gtest/gtest.h>

#include "common/json_fields.hpp"

namespace swarm {
namespace {

using nlohmann::json;

TEST(MessagesTest, CompleteRoundTrip) {
  CompleteRequest c;
  c.lease_id = "L1";
  c.fence = 3;
  c.result = "built";
  c.path = "dev-libs/foo/foo-1-1.gpkg.tar";
  c.sha256 = std::string(64, 'a');
  c.size = 100;
  c.max_rss_mb = 512;
  auto back = CompleteRequest::from_json(c.to_json());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->fence, 3);
  EXPECT_EQ(*back->path, *c.path);
}

TEST(MessagesTest, MissingMistypedUnknownFieldsAreClearErrors) {
  auto missing = CompleteRequest::from_json({{"fence", 1}, {"result", "failed"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("lease_id"), std::string::npos);
  auto mistyped = CompleteRequest::from_json({{"lease_id", "L"}, {"fence", "one"}, {"result", "failed"}});
  ASSERT_FALSE(mistyped.ok());
  EXPECT_NE(mistyped.error().message.find("'fence' must be an integer"), std::string::npos);
  auto unknown = CompleteRequest::from_json({{"lease_id", "L"}, {"fence", 1}, {"result", "failed"}, {"drone", "x"}});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("unknown field 'drone'"), std::string::npos);
  auto bad_result = CompleteRequest::from_json({{"lease_id", "L"}, {"fence", 1}, {"result", "maybe"}});
  EXPECT_FALSE(bad_result.ok());
  auto built_without_hash = CompleteRequest::from_json({{"lease_id", "L"}, {"fence", 1}, {"result", "built"}});
  EXPECT_FALSE(built_without_hash.ok());
  EXPECT_FALSE(CompleteRequest::from_json(json::array()).ok());
  EXPECT_FALSE(parse_message<CompleteRequest>("{bad").ok());
}

TEST(MessagesTest, QueueSubmitAcceptsAtomsOrPackages) {
  auto a = QueueSubmit::from_json({{"atoms", {"=dev-libs/a-1", "=dev-libs/b-2"}}});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->packages.size(), 2u);
  auto p = QueueSubmit::from_json(
      {{"packages", {{{"atom", "dev-libs/a-1"}, {"deps", {"dev-libs/b-2"}}, {"duration_s", 30}}}}});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->packages[0].deps.size(), 1u);
  auto bad = QueueSubmit::from_json({{"packages", {{{"atom", 5}}}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("packages[0]"), std::string::npos);
  EXPECT_FALSE(QueueSubmit::from_json(json::object()).ok());
}

TEST(MessagesTest, WorkLeaseNeedsUpload) {
  WorkLease w;
  w.lease_id = "L";
  w.fence = 1;
  w.atom = "=a/b-1";
  w.upload = {"127.0.0.1", "swarm", 2222, "L/"};
  auto back = WorkLease::from_json(w.to_json());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->upload.port, 2222);
  json j = w.to_json();
  j.erase("upload");
  EXPECT_FALSE(WorkLease::from_json(j).ok());
}

TEST(MessagesTest, RegisterAndHeartbeat) {
  RegisterRequest r;
  r.name = "d1";
  r.cores = 8;
  auto back = RegisterRequest::from_json(r.to_json());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->cores, 8);
  EXPECT_FALSE(RegisterRequest::from_json({{"name", "x"}, {"fingerprint", "str"}}).ok());
  HeartbeatRequest h;
  h.name = "d1";
  h.activity = "idle";
  EXPECT_TRUE(HeartbeatRequest::from_json(h.to_json()).ok());
}

}  // namespace
}  // namespace swarm
