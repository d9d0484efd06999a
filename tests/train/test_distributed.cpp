// Data-parallel training on c10d/Gloo over 127.0.0.1: torchrun's environment, the
// collectives and the gradient reducer (ranks as threads of this process), and whole
// runs of `googlenet train --nproc N` on the real data against one process.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <regex>
#include <thread>

#include "googlenet/data/loader.h"
#include "googlenet/train/checkpoint.h"
#include "googlenet/train/distributed.h"
#include "googlenet/train/launch.h"
#include "test_util.h"

namespace googlenet {
namespace {

using testing::BackgroundCli;
using testing::error_of;
using testing::run_cli;
using testing::TempDir;
using namespace std::chrono_literals;

class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_.empty()) {
      unsetenv(name_.c_str());
    } else {
      setenv(name_.c_str(), old_.c_str(), 1);
    }
  }

 private:
  std::string name_, old_;
};

TEST(DistributedOptions, ReadsTorchrunsEnvironment) {
  ScopedEnv rank("RANK", "2"), world("WORLD_SIZE", "4"), local("LOCAL_RANK", "0"),
      addr("MASTER_ADDR", "10.0.0.7"), port("MASTER_PORT", "29511");
  const auto o = distributed_from_environment();
  EXPECT_EQ(o.rank, 2);
  EXPECT_EQ(o.world_size, 4);
  EXPECT_EQ(o.local_rank, 0);
  EXPECT_EQ(o.master_addr, "10.0.0.7");
  EXPECT_EQ(o.master_port, 29511);
  EXPECT_TRUE(o.enabled());
}

TEST(DistributedOptions, BadValuesAreNamed) {
  {
    ScopedEnv rank("RANK", "two");
    EXPECT_NE(
        error_of<std::invalid_argument>([] { distributed_from_environment(); }).find("RANK='two'"),
        std::string::npos);
  }
  {
    ScopedEnv rank("RANK", "3"), world("WORLD_SIZE", "2");
    EXPECT_NE(error_of<std::invalid_argument>([] {
                distributed_from_environment();
              }).find("rank (RANK) must be in [0, 2), got 3"),
              std::string::npos);
  }
  DistributedOptions o;
  o.master_port = 70000;
  EXPECT_NE(error_of<std::invalid_argument>([&] { o.validate(); }).find("MASTER_PORT"),
            std::string::npos);
}

TEST(DistributedShards, UnpaddedShardsSeeEverySampleExactlyOnce) {
  for (int world : {2, 3, 7}) {
    std::vector<int> seen(1001, 0);
    for (int rank = 0; rank < world; ++rank) {
      LoaderOptions o;
      o.rank = rank;
      o.world_size = world;
      o.pad_shards = false;
      for (int64_t i : shard_indices(1001, /*epoch=*/3, o)) ++seen[i];
    }
    for (int count : seen) ASSERT_EQ(count, 1) << "world size " << world;
  }
}

TEST(DistributedShards, PaddedShardsAreEqualAndCoverEverySample) {
  std::vector<int> seen(1001, 0);
  for (int rank = 0; rank < 3; ++rank) {
    LoaderOptions o;
    o.rank = rank;
    o.world_size = 3;
    const auto shard = shard_indices(1001, 5, o);
    EXPECT_EQ(shard.size(), 334u);
    for (int64_t i : shard) ++seen[i];
  }
  int total = 0;
  for (int count : seen) {
    ASSERT_GE(count, 1);
    total += count;
  }
  EXPECT_EQ(total, 1002);  // one sample repeated to pad 1001 to 3 x 334
}

// Runs body(rank, communicator) on `world` threads, each one rank.
void run_ranks(int world, const std::function<void(int, Communicator&)>& body) {
  DistributedOptions base;
  base.world_size = world;
  base.master_port = free_port("127.0.0.1");
  base.timeout = 60s;
  std::vector<std::thread> threads;
  std::vector<std::string> errors(world);
  for (int rank = 0; rank < world; ++rank) {
    threads.emplace_back([&, rank] {
      try {
        DistributedOptions o = base;
        o.rank = rank;
        Communicator communicator(o);
        body(rank, communicator);
      } catch (const std::exception& e) {
        errors[rank] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int rank = 0; rank < world; ++rank) EXPECT_EQ(errors[rank], "") << "rank " << rank;
}

TEST(DistributedCommunicator, AllReduceBroadcastAllGather) {
  run_ranks(3, [](int rank, Communicator& c) {
    EXPECT_EQ(c.rank(), rank);
    EXPECT_EQ(c.world_size(), 3);
    auto sum = torch::full({4}, rank + 1.0);
    c.all_reduce_sum(sum);
    EXPECT_TRUE(sum.equal(torch::full({4}, 6.0)));

    // Mixed dtypes and a channels-last tensor travel in one call.
    auto weights =
        torch::full({2, 3, 2, 2}, float(rank)).contiguous(torch::MemoryFormat::ChannelsLast);
    weights.select(1, 2).fill_(10.0f * rank + 1);
    auto counter = torch::full({1}, int64_t{100 + rank});
    c.broadcast({weights, counter}, /*root=*/1);
    auto expected = torch::full({2, 3, 2, 2}, 1.0f);
    expected.select(1, 2).fill_(11.0f);
    EXPECT_TRUE(weights.equal(expected));
    EXPECT_EQ(counter.item<int64_t>(), 101);

    const auto gathered = c.all_gather(torch::tensor({rank * 10}));
    ASSERT_EQ(gathered.size(), 3u);
    for (int r = 0; r < 3; ++r) EXPECT_EQ(gathered[r].item<int64_t>(), r * 10);
    c.barrier();
  });
}

// A small convolutional net whose gradients the reducer averages.
struct TinyNet : torch::nn::Module {
  torch::nn::Conv2d conv{torch::nn::Conv2dOptions(3, 4, 3)};
  torch::nn::Linear fc{4 * 6 * 6, 5};
  torch::nn::Linear unused{2, 2};  // never in forward: its gradient stays undefined
  TinyNet() {
    register_module("conv", conv);
    register_module("fc", fc);
    register_module("unused", unused);
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc(torch::relu(conv(x)).flatten(1)); }
};

void copy_weights(TinyNet& from, TinyNet& to) {
  torch::NoGradGuard no_grad;
  auto source = from.parameters();
  auto target = to.parameters();
  for (size_t i = 0; i < source.size(); ++i) target[i].copy_(source[i]);
}

// Three ranks with a third of a batch each end with the gradients of the whole
// batch, as DistributedDataParallel guarantees; one bucket or one per parameter.
TEST(DistributedGradientReducer, AveragesToTheWholeBatchGradient) {
  torch::manual_seed(0);
  TinyNet reference;
  const auto images = torch::randn({12, 3, 8, 8});
  const auto labels = torch::randint(0, 5, {12});
  torch::nn::functional::cross_entropy(reference.forward(images), labels).backward();

  for (int64_t bucket_bytes : {int64_t{1}, int64_t{4} << 20}) {
    run_ranks(3, [&](int rank, Communicator& c) {
      TinyNet net;
      copy_weights(reference, net);
      GradientReducer reducer(c, net.parameters(), bucket_bytes);
      EXPECT_EQ(reducer.bucket_count(), bucket_bytes == 1 ? 6 : 1);
      const auto rows = torch::arange(rank, 12, 3);
      for (int step = 0; step < 2; ++step) {  // buckets reset between steps
        net.zero_grad();
        torch::nn::functional::cross_entropy(net.forward(images.index_select(0, rows)),
                                             labels.index_select(0, rows))
            .backward();
        reducer.finish();
      }
      const auto expected = reference.parameters();
      const auto got = net.parameters();
      for (size_t i = 0; i < 4; ++i) {
        EXPECT_TRUE(torch::allclose(got[i].grad(), expected[i].grad(), 1e-5, 1e-6))
            << "parameter " << i << ", rank " << rank << ", bucket bytes " << bucket_bytes;
      }
      EXPECT_TRUE(net.unused->weight.grad().defined());
      EXPECT_EQ(net.unused->weight.grad().abs().sum().item<float>(), 0.0f);
      EXPECT_GE(reducer.take_wait_seconds(), 0.0);
    });
  }
}

TEST(DistributedCommunicator, RendezvousWithoutRankZeroFailsWithinTheTimeout) {
  DistributedOptions o;
  o.rank = 1;
  o.world_size = 2;
  o.master_port = free_port("127.0.0.1");
  o.timeout = 2s;
  const auto start = std::chrono::steady_clock::now();
  const std::string message = error_of<DistributedError>([&] { Communicator c(o); });
  EXPECT_NE(message.find("rank 1 of 2: rendezvous at 127.0.0.1:"), std::string::npos) << message;
  EXPECT_NE(message.find("is rank 0 running"), std::string::npos) << message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 30s);
}

// ---- whole runs on the real data ----

std::string train_args(const std::filesystem::path& out, int64_t batch, int64_t subset = 384) {
  return "train --data '" + testing::data_dir().string() + "' --out '" + out.string() +
         "' --epochs 1 --no-aux --threads 1 --test-subset 300 --log-every 1 --train-subset " +
         std::to_string(subset) + " --batch-size " + std::to_string(batch);
}

double max_difference(const StateDict& a, const StateDict& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    EXPECT_EQ(a[i].first, b[i].first);
    worst = std::max(worst, (a[i].second - b[i].second).abs().max().item<double>());
  }
  return worst;
}

// The same global batch of 96 split over 1, 2 or 3 processes: the same weights
// after the epoch's 4 steps, up to float summation order (weights: 4e-8 seen; a
// global batch of 192 instead differs by 5e-3; momentum buffers, which sum raw
// gradients, up to 9e-5).
TEST(DistributedTrain, TwoAndThreeProcessesMatchOneProcess) {
  TempDir dir;
  const auto one = run_cli(train_args(dir / "one", 96));
  ASSERT_EQ(one.exit_code, 0) << one.output;
  const auto single = load_checkpoint(dir / "one" / "last.pt");
  for (int nproc : {2, 3}) {
    const auto name = "n" + std::to_string(nproc);
    const auto run =
        run_cli(train_args(dir / name, 96 / nproc) + " --nproc " + std::to_string(nproc));
    ASSERT_EQ(run.exit_code, 0) << run.output;
    EXPECT_NE(run.output.find("all-reduce wait"), std::string::npos) << run.output;
    // Only rank 0 prints: one epoch line.
    EXPECT_EQ(run.output.find("[Epoch 1/1]"), run.output.rfind("[Epoch 1/1]")) << run.output;
    const auto multi = load_checkpoint(dir / name / "last.pt");
    EXPECT_EQ(multi.config.world_size, nproc);
    EXPECT_LT(max_difference(single.model, multi.model), 1e-5) << nproc << " processes";
    EXPECT_LT(max_difference(single.momentum, multi.momentum), 5e-4) << nproc << " processes";
    EXPECT_EQ(multi.rank_rng_states.size(), static_cast<size_t>(nproc - 1));
  }
}

TEST(DistributedTrain, ResumeNeedsTheWorldSizeOfTheRun) {
  TempDir dir;
  const auto run = run_cli(train_args(dir / "run", 32, 128) + " --nproc 2");
  ASSERT_EQ(run.exit_code, 0) << run.output;
  const auto resumed = run_cli("train --resume '" + (dir / "run").string() + "'");
  EXPECT_EQ(resumed.exit_code, 2) << resumed.output;
  EXPECT_NE(resumed.output.find("was trained by 2 process(es); resume it with as many (--nproc 2"),
            std::string::npos)
      << resumed.output;
}

// Ctrl-C reaches every rank; rank 0 writes the checkpoint and the run resumes with
// the same world size to the weights of the uninterrupted run.
TEST(DistributedTrain, CtrlCThenResumeMatchesTheUninterruptedRun) {
  TempDir dir;
  const auto whole = run_cli(train_args(dir / "whole", 32, 2560) + " --nproc 2");
  ASSERT_EQ(whole.exit_code, 0) << whole.output;

  BackgroundCli run(train_args(dir / "cut", 32, 2560) + " --nproc 2");
  ASSERT_TRUE(run.wait_for("Iteration 2]", 120s)) << run.output();
  kill(run.pid(), SIGINT);  // the launcher passes it on
  EXPECT_EQ(run.wait(120s), 130) << run.output();
  EXPECT_NE(run.output().find("--resume"), std::string::npos) << run.output();
  const auto cut = load_checkpoint(dir / "cut" / "last.pt");
  EXPECT_EQ(cut.epoch, 0);
  EXPECT_GE(cut.batch, 2);

  const auto resumed = run_cli("train --nproc 2 --resume '" + (dir / "cut").string() + "'");
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_LT(max_difference(load_checkpoint(dir / "whole" / "last.pt").model,
                           load_checkpoint(dir / "cut" / "last.pt").model),
            1e-5);
}

int64_t pid_of_rank(const std::string& output, int rank) {
  std::smatch match;
  if (!std::regex_search(output, match, std::regex(R"(\(pids (\d+) (\d+)\))"))) return -1;
  return std::stoll(match[rank + 1]);
}

// A rank that dies ends the run with an error naming it, well before the 60 s
// collective timeout; the launcher's exit status is the dead rank's.
TEST(DistributedTrain, AKilledRankStopsTheOthers) {
  TempDir dir;
  BackgroundCli run(train_args(dir / "run", 32, 12800) + " --nproc 2 --dist-timeout 60");
  ASSERT_TRUE(run.wait_for("Iteration 2]", 120s)) << run.output();
  const auto victim = pid_of_rank(run.output(), 1);
  ASSERT_GT(victim, 0) << run.output();
  const auto start = std::chrono::steady_clock::now();
  kill(static_cast<pid_t>(victim), SIGKILL);
  EXPECT_EQ(run.wait(90s), 128 + SIGKILL) << run.output();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 45s);
  EXPECT_NE(run.output().find("rank 1 was killed by signal 9"), std::string::npos) << run.output();
  EXPECT_NE(run.output().find("rank 0 of 2:"), std::string::npos) << run.output();
}

// A rank that hangs (stopped) makes the others fail once --dist-timeout passes.
TEST(DistributedTrain, AHungRankTimesOut) {
  TempDir dir;
  BackgroundCli run(train_args(dir / "run", 32, 12800) + " --nproc 2 --dist-timeout 5");
  ASSERT_TRUE(run.wait_for("Iteration 2]", 120s)) << run.output();
  const auto victim = pid_of_rank(run.output(), 1);
  ASSERT_GT(victim, 0) << run.output();
  kill(static_cast<pid_t>(victim), SIGSTOP);
  EXPECT_NE(run.wait(90s), 0) << run.output();
  EXPECT_NE(run.output().find("rank 0 of 2:"), std::string::npos) << run.output();
  EXPECT_NE(run.output().find("launcher: rank 0 exited with status 1"), std::string::npos)
      << run.output();
}

}  // namespace
}  // namespace googlenet
