#include <gtest/gtest.h>

#include "common/clock.h"
#include "common/ids.h"
#include "common/lake_config.h"
#include "common/memory.h"
#include "common/status.h"
#include "common/strings.h"

namespace loch {
namespace {

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int half, Half(x));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status CheckEven(int x) {
  RETURN_IF_ERROR(Half(x).status());
  return absl::OkStatus();
}

TEST(StatusMacros, PropagateErrorsAndValues) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckEven(2).ok());
  EXPECT_FALSE(CheckEven(3).ok());
}

TEST(StatusMacros, AnnotateKeepsCode) {
  absl::Status annotated = Annotate(absl::NotFoundError("no such key"), "reading x");
  EXPECT_EQ(annotated.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(annotated.message(), "reading x: no such key");
  EXPECT_TRUE(Annotate(absl::OkStatus(), "ctx").ok());
}

TEST(Clock, FormatsIso) {
  EXPECT_EQ(FormatIsoMicros(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatIsoMicros(1'700'000'000'123'456), "2023-11-14T22:13:20.123456Z");
}

TEST(Ids, UniqueAndPathSafe) {
  std::string a = NewRandomId(), b = NewRandomId();
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  std::string t = NewTimeOrderedId();
  EXPECT_EQ(t.find('/'), std::string::npos);
}

TEST(LakeConfig, FlagBeatsEnvironmentAndStateIsInside) {
  setenv("LOCH_LAKE", "/tmp/from-env", 1);
  auto from_flag = ResolveLakeLocation(std::string("/tmp/x/../flag-lake/"));
  ASSERT_TRUE(from_flag.ok());
  EXPECT_EQ(from_flag->root, "/tmp/flag-lake");
  EXPECT_EQ(from_flag->state_dir, "/tmp/flag-lake/.loch");
  auto from_env = ResolveLakeLocation(std::nullopt);
  EXPECT_EQ(from_env->root, "/tmp/from-env");
  unsetenv("LOCH_LAKE");
}

}  // namespace
}  // namespace loch

namespace loch {
namespace {

TEST(ReserveLargeBufferTest, GrowsCapacityAndKeepsContent) {
  std::string buffer = "kept";
  ReserveLargeBuffer(buffer, 8 << 20);  // large: huge pages asked for
  EXPECT_GE(buffer.capacity(), 8u << 20);
  EXPECT_EQ(buffer, "kept");
  buffer.append(8 << 20, 'x');  // the memory is usable
  EXPECT_EQ(buffer.size(), 4 + (8u << 20));
  const size_t capacity = buffer.capacity();
  ReserveLargeBuffer(buffer, 1024);  // already enough: nothing changes
  EXPECT_EQ(buffer.capacity(), capacity);
}

}  // namespace
}  // namespace loch

namespace loch {
namespace {

TEST(ClosestMatch, SuggestsTheNearestCloseName) {
  const std::vector<std::string> tables = {"shop.orders", "shop.deals", "shop.events"};
  EXPECT_EQ(ClosestMatch("shop.ordrs", tables), "shop.orders");
  EXPECT_EQ(ClosestMatch("SHOP.DEALS", tables), std::nullopt);  // the same name, case aside
  EXPECT_EQ(ClosestMatch("shop.evnts", tables), "shop.events");
  EXPECT_EQ(ClosestMatch("customers", tables), std::nullopt);  // nothing close
  EXPECT_EQ(ClosestMatch("formt", {"format", "lake", "state"}), "format");
  EXPECT_EQ(ClosestMatch("ab", {"xy"}), std::nullopt);
  EXPECT_EQ(ClosestMatch("", {"a"}), std::nullopt);
  EXPECT_EQ(ClosestMatch(std::string(100000, 'a'), {std::string(100000, 'a') + "b"}),
            std::nullopt);  // bounded work for hostile input
}

TEST(Formatting, Numbers) {
  EXPECT_EQ(WithThousands(1234567), "1,234,567");
  EXPECT_EQ(WithThousands(-1000), "-1,000");
  EXPECT_EQ(WithThousands(12), "12");
  EXPECT_EQ(HumanBytes(1500000), "1.5 MB");
}

TEST(ByteSizes, ReadLikeDuckDbMemoryLimits) {
  EXPECT_EQ(ParseByteSize("512MB"), int64_t{512} * 1000 * 1000);
  EXPECT_EQ(ParseByteSize("2GiB"), int64_t{2} << 30);
  EXPECT_EQ(ParseByteSize("1.5 gb"), int64_t{1500} * 1000 * 1000);
  EXPECT_EQ(ParseByteSize("0.25KiB"), 256);
  EXPECT_EQ(ParseByteSize("999999999.999TiB"), std::nullopt);  // past 2^63
  EXPECT_EQ(ParseByteSize("8000000TiB"), int64_t{8000000} << 40);
  for (const char* bad : {"", "MB", "12", "12 M", "1.MB", "1.2345GB", "-1GB", " 1GB", "1  GB",
                          "1GBs", "1234567890MB", "1e3MB"}) {
    EXPECT_EQ(ParseByteSize(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace loch
