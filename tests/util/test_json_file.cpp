// util/json_file: JSON reports as people read them, written atomically.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "googlenet/util/json_file.h"
#include "test_util.h"

namespace googlenet {
namespace {

using testing::read_bytes;
using testing::TempDir;

TEST(JsonFile, IndentedWithAFinalNewline) {
  TempDir dir;
  write_json_file(dir / "a.json", {{"precision", "bf16"}, {"epochs", 3}});
  EXPECT_EQ(read_bytes(dir / "a.json"), "{\n  \"epochs\": 3,\n  \"precision\": \"bf16\"\n}\n");
}

}  // namespace
}  // namespace googlenet
