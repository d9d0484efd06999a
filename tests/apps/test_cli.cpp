// The command line as a user meets it: summary, test, export and --init on real
// data and PyTorch-made weights.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "googlenet/engine/onednn_inference.h"
#include "googlenet/io/state_dict.h"
#include "googlenet/train/checkpoint.h"
#include "test_util.h"

namespace googlenet {
namespace {

using testing::quoted;
using testing::run_cli;
using testing::TempDir;

TEST(Cli, SummaryPrintsTheReferenceTotals) {
  const auto result = run_cli("summary");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("total parameters: 5,983,802"), std::string::npos);
  EXPECT_NE(result.output.find("64,577,536"), std::string::npos);
  EXPECT_NE(result.output.find("stage4.3"), std::string::npos);
  const auto aux = run_cli("summary --aux");
  EXPECT_NE(aux.output.find("aux2"), std::string::npos) << aux.output;
}

TEST(Cli, TestEvaluatesAPyTorchStateDictWithReports) {
  TempDir dir;
  const auto result =
      run_cli("test --checkpoint " + quoted(testing::fixture("reference_weights.pt")) + " --data " +
              quoted(testing::data_dir()) + " --subset 300 --json " + quoted(dir / "report.json") +
              " --confusion-svg " + quoted(dir / "confusion.svg"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("test accuracy"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("confusion matrix"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("truck"), std::string::npos) << result.output;
  std::ifstream in(dir / "report.json");
  const auto report = nlohmann::json::parse(in);
  EXPECT_EQ(report.at("total").get<int64_t>(), 300);
  EXPECT_TRUE(report.contains("loss"));
  std::ifstream svg(dir / "confusion.svg");
  const std::string text((std::istreambuf_iterator<char>(svg)), {});
  EXPECT_NE(text.find("<svg"), std::string::npos);
}

// `test` runs channels-last by default: the same scores as NCHW up to float rounding;
// bf16 changes the loss a little and says so in the report.
TEST(Cli, TestLayoutsAgreeAndBf16IsNamed) {
  TempDir dir;
  const auto run = [&](const std::string& flags, const std::string& json) {
    const auto result =
        run_cli("test --checkpoint " + quoted(testing::fixture("reference_weights.pt")) +
                " --data " + quoted(testing::data_dir()) + " --subset 300 --threads 1 --json " +
                quoted(dir / json) + " " + flags);
    EXPECT_EQ(result.exit_code, 0) << result.output;
    std::ifstream in(dir / json);
    return std::make_pair(result.output, nlohmann::json::parse(in));
  };
  const auto [nhwc_text, nhwc] = run("", "nhwc.json");
  const auto [nchw_text, nchw] = run("--nchw", "nchw.json");
  const auto [bf16_text, bf16] = run("--precision bf16", "bf16.json");
  const auto [libtorch_text, libtorch] = run("--engine libtorch", "libtorch.json");
  const std::string engine = to_string(default_inference_engine(torch::kCPU));
  EXPECT_NE(nhwc_text.find("(fp32, channels-last, " + engine + ")"), std::string::npos)
      << nhwc_text;
  EXPECT_NE(nchw_text.find("(fp32, NCHW, " + engine + ")"), std::string::npos) << nchw_text;
  EXPECT_NE(bf16_text.find("(bf16, channels-last, " + engine + ")"), std::string::npos)
      << bf16_text;
  EXPECT_NE(libtorch_text.find("(fp32, channels-last, libtorch)"), std::string::npos)
      << libtorch_text;
  EXPECT_EQ(libtorch.at("engine").get<std::string>(), "libtorch");
  EXPECT_EQ(nhwc.at("engine").get<std::string>(), engine);
  // Layouts and engines: the same scores up to float rounding.
  for (const auto* other : {&nchw, &libtorch}) {
    EXPECT_EQ(nhwc.at("correct"), other->at("correct"));
    EXPECT_NEAR(nhwc.at("loss").get<double>(), other->at("loss").get<double>(), 1e-5);
  }
  EXPECT_TRUE(nhwc.at("channels_last").get<bool>());
  EXPECT_FALSE(nchw.at("channels_last").get<bool>());
  EXPECT_EQ(bf16.at("precision").get<std::string>(), "bf16");
  EXPECT_NEAR(bf16.at("loss").get<double>(), nhwc.at("loss").get<double>(), 0.05);
  EXPECT_NEAR(bf16.at("correct").get<double>(), nhwc.at("correct").get<double>(), 6);
  const auto bad = run_cli("test --checkpoint " + quoted(testing::fixture("reference_weights.pt")) +
                           " --precision fp16");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("fp16"), std::string::npos) << bad.output;
}

TEST(Cli, InitTrainExportRoundTrip) {
  TempDir dir;
  // Reference weights made by PyTorch start an --aux run (the heads start fresh).
  const auto trained =
      run_cli("train --data " + quoted(testing::data_dir()) + " --out " + quoted(dir / "run") +
              " --epochs 1 --train-subset 256 --test-subset 100 --aux --init " +
              quoted(testing::fixture("reference_weights.pt")));
  ASSERT_EQ(trained.exit_code, 0) << trained.output;
  const auto checkpoint = load_checkpoint(dir / "run" / "last.pt");

  auto result = run_cli("export --checkpoint " + quoted(dir / "run" / "last.pt") + " --out " +
                        quoted(dir / "weights.pt"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const StateDict exported = read_state_dict((dir / "weights.pt").string());
  EXPECT_EQ(exported.size(), 116u);  // the reference module's state_dict: no aux heads
  size_t compared = 0;
  for (const auto& [name, tensor] : checkpoint.model) {
    for (const auto& [exported_name, exported_tensor] : exported) {
      if (name == exported_name) {
        EXPECT_TRUE(torch::equal(tensor, exported_tensor)) << name;
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, 116u);

  result = run_cli("export --keep-aux --checkpoint " + quoted(dir / "run" / "last.pt") + " --out " +
                   quoted(dir / "with_aux.pt"));
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_EQ(read_state_dict((dir / "with_aux.pt").string()).size(), checkpoint.model.size());

  // The exported file evaluates like the checkpoint it came from.
  const auto a = run_cli("test --checkpoint " + quoted(dir / "weights.pt") + " --data " +
                         quoted(testing::data_dir()) + " --subset 100");
  const auto b = run_cli("test --checkpoint " + quoted(dir / "run" / "last.pt") + " --data " +
                         quoted(testing::data_dir()) + " --subset 100");
  ASSERT_EQ(a.exit_code, 0) << a.output;
  const auto line = [](const std::string& out) { return out.substr(out.find("test accuracy")); };
  EXPECT_EQ(line(a.output), line(b.output));
}

TEST(Cli, InitWithTheWrongModelNamesTheKeys) {
  TempDir dir;
  const auto result =
      run_cli("train --data " + quoted(testing::data_dir()) + " --out " + quoted(dir / "run") +
              " --epochs 1 --bn --init " + quoted(testing::fixture("reference_weights.pt")));
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("stage1.0_bn.weight"), std::string::npos) << result.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "run" / "last.pt"));
}

}  // namespace
}  // namespace googlenet
