#pragma once
// The conformance suite every ObjectStore backend must pass.
//
// A backend's test file instantiates it with a factory that returns a fresh, empty store:
//   INSTANTIATE_TEST_SUITE_P(Local, ObjectStoreConformance,
//                            testing::Values(StoreFactory{"local", [] { return ...; }}),
//                            StoreFactoryName);

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>

#include "storage/object_store.h"

namespace loch {

struct StoreFactory {
  std::string name;
  std::function<std::unique_ptr<ObjectStore>()> make;
  // False for servers that ignore `If-None-Match: *` (s3rver): PutIfAbsent is then only safe
  // against sequential writers, and the race test is skipped with that reason.
  bool atomic_put_if_absent = true;
  // False for servers that rewrite objects in place (s3rver): a reader racing a writer can see a
  // partial object, and the concurrent-replace test is skipped with that reason. AWS S3 replaces
  // objects atomically.
  bool atomic_replace = true;

  friend void PrintTo(const StoreFactory& factory, std::ostream* os) { *os << factory.name; }
};

inline std::string StoreFactoryName(const testing::TestParamInfo<StoreFactory>& info) {
  return info.param.name;
}

class ObjectStoreConformance : public testing::TestWithParam<StoreFactory> {
 protected:
  void SetUp() override { store_ = GetParam().make(); }
  std::unique_ptr<ObjectStore> store_;
};

}  // namespace loch
