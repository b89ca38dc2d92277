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
