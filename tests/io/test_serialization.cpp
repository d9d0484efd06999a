// torch.save files: reading what PyTorch wrote (views, dtypes, containers),
// write -> read identity, atomic writes on a full disk, refusal of bad files.
#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>

#include "googlenet/io/pickle.h"
#include "googlenet/io/serialization.h"
#include "test_util.h"

namespace googlenet {
namespace {

namespace fs = std::filesystem;
using testing::Contains;
using testing::error_of;
using testing::fixture;
using testing::kNoError;
using testing::read_bytes;
using testing::TempDir;
using testing::write_bytes;

std::string load_error(const std::string& path) {
  try {
    torch_load(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  ADD_FAILURE() << path << " was accepted";
  return "";
}

TEST(Serialization, ReadsWhatPyTorchWrote) {
  const SavedValue v = torch_load(fixture("python_mixed.pt"));
  const torch::Tensor base = v.at("base").as_tensor();
  EXPECT_TRUE(torch::equal(base, torch::arange(24, torch::kFloat).view({4, 6})));
  const torch::Tensor view = v.at("view").as_tensor();  // base[1:, ::2]
  EXPECT_EQ(view.storage_offset(), 6);
  EXPECT_EQ(view.strides(), (std::vector<int64_t>{6, 2}));
  EXPECT_TRUE(torch::equal(view, base.slice(0, 1).slice(1, 0, 6, 2)));
  EXPECT_TRUE(view.is_alias_of(base));  // one storage in the file, one in memory
  EXPECT_TRUE(torch::equal(v.at("row").as_tensor(), base[2]));
  EXPECT_EQ(v.at("half").as_tensor().scalar_type(), torch::kHalf);
  EXPECT_EQ(v.at("half").as_tensor()[1].item<float>(), -2.0f);
  EXPECT_EQ(v.at("double").as_tensor().item<double>(), 0.1);
  const torch::Tensor scalar = v.at("long").as_tensor();
  EXPECT_EQ(scalar.dim(), 0);
  EXPECT_EQ(scalar.scalar_type(), torch::kLong);
  EXPECT_EQ(scalar.item<int64_t>(), 7);
  EXPECT_FALSE(v.at("mask").as_tensor()[1].item<bool>());
  EXPECT_EQ(v.at("bytes").as_tensor()[1].item<uint8_t>(), 255);
  EXPECT_EQ(v.at("empty").as_tensor().sizes(), (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(v.at("int").as_int(), 3);
  EXPECT_EQ(v.at("float").as_float(), 0.25);
  EXPECT_TRUE(v.at("flag").as_bool());
  EXPECT_TRUE(v.at("none").is_none());
  EXPECT_EQ(v.at("text").as_string(), "caf\xc3\xa9");
  EXPECT_EQ(v.at("list").as_list()[1].as_string(), "two");
  EXPECT_TRUE(v.at("tuple").is_tuple());
  EXPECT_TRUE(v.at("nested").is_ordered());
  EXPECT_TRUE(torch::equal(v.at("nested").at("k").as_tensor(), torch::ones(2)));
  EXPECT_TRUE(Contains(load_error(fixture("python_mixed.pt").string() + ".nope"), "no such file"));
}

TEST(Serialization, WriteThenReadIsIdentity) {
  TempDir dir;
  const auto base = torch::randn({5, 4});
  SavedValue::Dict meta = {{"epoch", 12}, {"lr", 0.05}, {"name", "googlenet"}, {"best", true}};
  const SavedValue value(SavedValue::Dict{
      {"model", StateDict{{"w", torch::randn({3, 2})}, {"steps", torch::tensor(int64_t{9})}}},
      {"transposed", base.t()},  // non-contiguous: saved as a contiguous copy
      {"slice", base.slice(0, 2)},
      {"types", SavedValue::List{torch::tensor({1, 2}, torch::kInt), torch::ones(2, torch::kHalf),
                                 torch::zeros(3, torch::kBool), torch::empty({0}),
                                 torch::ones(1, torch::kBFloat16), torch::ones(1, torch::kDouble)}},
      {"meta", SavedValue(meta)},
      {"pair", SavedValue(SavedValue::List{1, SavedValue()}, /*tuple=*/true)},
      {int64_t{7}, "int key"},
  });
  torch_save(dir / "all.pt", value);
  const SavedValue back = torch_load(dir / "all.pt");
  EXPECT_TRUE(back.at("model").is_ordered());
  const StateDict model = back.at("model").to_state_dict();
  const StateDict original = value.at("model").to_state_dict();
  ASSERT_EQ(model.size(), 2u);
  EXPECT_EQ(model[1].first, "steps");
  EXPECT_TRUE(torch::equal(model[0].second, original[0].second));
  EXPECT_EQ(model[1].second.dim(), 0);
  EXPECT_TRUE(torch::equal(back.at("transposed").as_tensor(), base.t()));
  EXPECT_TRUE(torch::equal(back.at("slice").as_tensor(), base.slice(0, 2)));
  const auto& types = back.at("types").as_list();
  const auto& sent = value.at("types").as_list();
  for (size_t i = 0; i < types.size(); ++i) {
    EXPECT_EQ(types[i].as_tensor().scalar_type(), sent[i].as_tensor().scalar_type());
    EXPECT_TRUE(torch::equal(types[i].as_tensor(), sent[i].as_tensor())) << i;
  }
  EXPECT_EQ(back.at("meta").at("epoch").as_int(), 12);
  EXPECT_EQ(back.at("meta").at("lr").as_float(), 0.05);
  EXPECT_EQ(back.at("meta").at("name").as_string(), "googlenet");
  EXPECT_TRUE(back.at("pair").is_tuple());
  EXPECT_EQ(back.as_dict().back().first.as_int(), 7);
  // Only the file itself: no temporary left beside it.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

// A full disk, simulated with the file-size limit: the error names the file and
// the previous file survives intact, with no temporary left behind.
TEST(Serialization, FailedWriteKeepsThePreviousFile) {
  TempDir dir;
  const std::string path = dir / "weights.pt";
  torch_save(path, SavedValue(StateDict{{"w", torch::ones(4)}}));
  const std::string good = read_bytes(path);

  std::signal(SIGXFSZ, SIG_IGN);  // get EFBIG from write() instead of a signal
  rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  rlimit small = old;
  small.rlim_cur = 64 * 1024;
  setrlimit(RLIMIT_FSIZE, &small);
  std::string error;
  try {
    torch_save(path, SavedValue(StateDict{{"w", torch::ones({1000, 1000})}}));
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old);
  EXPECT_TRUE(Contains(error, path + ": write failed (File too large); nothing was written"));
  EXPECT_EQ(read_bytes(path), good);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);

  try {
    torch_save(dir / "missing" / "w.pt", SavedValue(1));
    ADD_FAILURE() << "wrote into a missing folder";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(Contains(e.what(), "/missing/w.pt: cannot create a temporary file"));
  }
}

TEST(Serialization, RefusesBadFiles) {
  TempDir dir;
  const std::string weights = read_bytes(fixture("reference_weights.pt"));
  write_bytes(dir / "cut.pt", weights.substr(0, weights.size() / 2));
  EXPECT_TRUE(Contains(load_error(dir / "cut.pt"),
                       "cut.pt: corrupt or truncated torch.save archive (PytorchStreamReader"));
  write_bytes(dir / "tail.pt", weights.substr(0, weights.size() - 100));
  EXPECT_TRUE(Contains(load_error(dir / "tail.pt"), "tail.pt: corrupt or truncated"));
  write_bytes(dir / "notes.txt", "just text\n");
  EXPECT_TRUE(Contains(load_error(dir / "notes.txt"),
                       "notes.txt: not a torch.save file (no zip header; 10 bytes)"));
  write_bytes(dir / "empty.pt", "");
  EXPECT_TRUE(Contains(load_error(dir / "empty.pt"), "empty.pt: not a torch.save file"));
  write_bytes(dir / "legacy.pt", "\x80\x02\x8a\x0a");
  EXPECT_TRUE(Contains(load_error(dir / "legacy.pt"), "legacy (pre-1.6, non-zip) torch.save"));
  const std::string evil = load_error(fixture("malicious.pt"));
  EXPECT_TRUE(Contains(evil,
                       "malicious.pt: data.pkl: pickle byte 2 (GLOBAL): global "
                       "'posix.system' is not allowed (allowed: collections.OrderedDict"));
}

// A torch.save-like archive with a hand-made data.pkl and records.
void write_archive(const fs::path& path, const pickle::Value& data,
                   const std::vector<std::pair<std::string, std::string>>& records) {
  caffe2::serialize::PyTorchStreamWriter zip(path.string());
  const std::string bytes = pickle::write(data);
  zip.writeRecord("data.pkl", bytes.data(), bytes.size());
  for (const auto& [name, record] : records) zip.writeRecord(name, record.data(), record.size());
  zip.writeEndOfFile();
}

// _rebuild_tensor_v2(('storage', torch.FloatStorage, '0', 'cpu', numel), offset,
// size, stride, False, OrderedDict()).
pickle::Value tensor_call(int64_t numel, int64_t offset, std::vector<int64_t> size,
                          std::vector<int64_t> stride) {
  using pickle::Value;
  auto ints = [](const std::vector<int64_t>& v) {
    Value::Items items;
    for (int64_t i : v) items.push_back(Value::integer(i));
    return Value::tuple(items);
  };
  const Value pid = Value::tuple({Value::string("storage"), Value::global("torch.FloatStorage"),
                                  Value::string("0"), Value::string("cpu"), Value::integer(numel)});
  pickle::Object hooks, call;
  hooks.callable = "collections.OrderedDict";
  call.callable = "torch._utils._rebuild_tensor_v2";
  call.args = {Value::persistent_id(pid), Value::integer(offset), ints(size), ints(stride),
               Value::boolean(false),     Value::object(hooks)};
  return Value::object(call);
}

TEST(Serialization, RefusesInconsistentArchives) {
  TempDir dir;
  const std::string floats(4 * sizeof(float), '\0');
  write_archive(dir / "ok.pt", tensor_call(4, 1, {3}, {1}), {{"data/0", floats}});
  EXPECT_EQ(torch_load(dir / "ok.pt").as_tensor().sizes(), (std::vector<int64_t>{3}));
  write_archive(dir / "past.pt", tensor_call(4, 1, {2, 2}, {2, 1}), {{"data/0", floats}});
  EXPECT_TRUE(Contains(load_error(dir / "past.pt"),
                       "past.pt: tensor view (offset 1, size [2, 2], stride [2, 1]) does not fit "
                       "its storage of 4 elements"));
  write_archive(dir / "short.pt", tensor_call(5, 0, {5}, {1}), {{"data/0", floats}});
  EXPECT_TRUE(Contains(load_error(dir / "short.pt"),
                       "short.pt: record data/0 has 16 bytes, expected 5 x 4 for a "
                       "torch.FloatStorage"));
  write_archive(dir / "lost.pt", tensor_call(4, 0, {4}, {1}), {});
  EXPECT_TRUE(Contains(load_error(dir / "lost.pt"), "lost.pt: record data/0 is missing"));
  write_archive(dir / "neg.pt", tensor_call(4, 0, {-1}, {1}), {{"data/0", floats}});
  EXPECT_TRUE(Contains(load_error(dir / "neg.pt"), "does not fit its storage"));

  caffe2::serialize::PyTorchStreamWriter script((dir / "script.pt").string());
  script.writeRecord("constants.pkl", "\x80\x02).", 4);
  script.writeEndOfFile();
  EXPECT_TRUE(Contains(load_error(dir / "script.pt"), "a TorchScript archive (torch.jit.save)"));
}

// Random corruption of a small valid file loads (the flips hit bytes nothing reads,
// e.g. tensor data or zip padding) or is refused with a std::runtime_error that names
// the file; anything else (another exception type, a crash, a sanitizer report under
// the readers' ASan build) fails.
TEST(Serialization, SurvivesByteFlips) {
  TempDir dir;
  torch_save(dir / "small.pt", SavedValue(StateDict{{"a.weight", torch::randn({3, 3})},
                                                    {"a.bias", torch::zeros(3)}}));
  const std::string valid = read_bytes(dir / "small.pt");
  const std::string flipped = (dir / "flipped.pt").string();
  std::mt19937 rng(7);
  int refused = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string bytes = valid;
    for (int f = 0; f < 3; ++f) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    write_bytes(flipped, bytes);
    const std::string error = error_of<std::runtime_error>([&] { torch_load(flipped); });
    if (error == kNoError) continue;
    ++refused;
    EXPECT_EQ(error.rfind(flipped + ": ", 0), 0u) << "trial " << trial << ": " << error;
  }
  // Most flips land in the zip's headers, the pickle or the checksums: refused.
  EXPECT_GT(refused, 150);
}

}  // namespace
}  // namespace googlenet
