// The floor under a training step on this machine: GoogLeNet's convolutions alone
// (batch 128, 32-px input, main path), each run on oneDNN 2.x with the layouts it
// prefers and no reorders, timed per pass (forward, backward-data, backward-weights)
// in fp32 or bf16. No implementation built on these kernels trains faster than
// batch / (sum of the three passes). Shapes: kInceptionTable (src/model.cpp) and the
// stem; WF32=1 keeps bf16 runs' weight gradients in fp32.
//
//   g++ -O2 -std=c++17 bench/onednn_conv_floor.cpp -o /tmp/conv_floor -ldnnl
//   OMP_NUM_THREADS=2 /tmp/conv_floor f32 [verbose];  OMP_NUM_THREADS=2 /tmp/conv_floor bf16
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <dnnl.hpp>
#include <vector>
using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;
struct C {
  int ic, oc, k, s, p, h;
};
int main(int argc, char** argv) {
  int N = 128;
  dt type = (argc > 1 && argv[1][0] == 'b') ? dt::bf16 : dt::f32;
  std::vector<C> cs = {{3, 64, 7, 2, 3, 32}, {64, 64, 1, 1, 0, 8}, {64, 192, 3, 1, 1, 8}};
  struct I {
    int in, c1, c2r, c2, c3r, c3, c4, h;
  };
  std::vector<I> is = {{192, 64, 96, 128, 16, 32, 32, 4},     {256, 128, 128, 192, 32, 96, 64, 4},
                       {480, 192, 96, 208, 16, 48, 64, 2},    {512, 160, 112, 224, 24, 64, 64, 2},
                       {512, 128, 128, 256, 24, 64, 64, 2},   {512, 112, 144, 288, 32, 64, 64, 2},
                       {528, 256, 160, 320, 32, 128, 128, 2}, {832, 256, 160, 320, 32, 128, 128, 1},
                       {832, 384, 192, 384, 48, 128, 128, 1}};
  for (auto& b : is) {
    cs.push_back({b.in, b.c1, 1, 1, 0, b.h});
    cs.push_back({b.in, b.c2r, 1, 1, 0, b.h});
    cs.push_back({b.c2r, b.c2, 3, 1, 1, b.h});
    cs.push_back({b.in, b.c3r, 1, 1, 0, b.h});
    cs.push_back({b.c3r, b.c3, 5, 1, 2, b.h});
    cs.push_back({b.in, b.c4, 1, 1, 0, b.h});
  }
  engine eng(engine::kind::cpu, 0);
  stream st(eng);
  struct P {
    primitive f, bd, bw;
    std::unordered_map<int, memory> af, ad, aw;
  };
  std::vector<P> ps;
  for (auto& c : cs) {
    int oh = (c.h + 2 * c.p - c.k) / c.s + 1;
    memory::desc src({N, c.ic, c.h, c.h}, type, tag::any),
        wei({c.oc, c.ic, c.k, c.k}, type, tag::any), bia({c.oc}, dt::f32, tag::any),
        dst({N, c.oc, oh, oh}, type, tag::any);
    memory::dims S{c.s, c.s}, Pd{c.p, c.p};
    convolution_forward::desc fd(prop_kind::forward_training, algorithm::convolution_direct, src,
                                 wei, bia, dst, S, Pd, Pd);
    convolution_forward::primitive_desc fpd(fd, eng);
    convolution_backward_data::desc bdd(algorithm::convolution_direct, src, wei, dst, S, Pd, Pd);
    convolution_backward_data::primitive_desc bdpd(bdd, eng, fpd);
    memory::desc weiw({c.oc, c.ic, c.k, c.k}, getenv("WF32") ? dt::f32 : type, tag::any);
    convolution_backward_weights::desc bwd(algorithm::convolution_direct, src, weiw, bia, dst, S,
                                           Pd, Pd);
    convolution_backward_weights::primitive_desc bwpd(bwd, eng, fpd);
    P p;
    p.f = convolution_forward(fpd);
    p.bd = convolution_backward_data(bdpd);
    p.bw = convolution_backward_weights(bwpd);
    auto m = [&](const memory::desc& d) {
      memory x(d, eng);
      return x;
    };
    p.af = {{DNNL_ARG_SRC, m(fpd.src_desc())},
            {DNNL_ARG_WEIGHTS, m(fpd.weights_desc())},
            {DNNL_ARG_BIAS, m(fpd.bias_desc())},
            {DNNL_ARG_DST, m(fpd.dst_desc())}};
    p.ad = {{DNNL_ARG_DIFF_SRC, m(bdpd.diff_src_desc())},
            {DNNL_ARG_WEIGHTS, m(bdpd.weights_desc())},
            {DNNL_ARG_DIFF_DST, m(bdpd.diff_dst_desc())}};
    p.aw = {{DNNL_ARG_SRC, m(bwpd.src_desc())},
            {DNNL_ARG_DIFF_WEIGHTS, m(bwpd.diff_weights_desc())},
            {DNNL_ARG_DIFF_BIAS, m(bwpd.diff_bias_desc())},
            {DNNL_ARG_DIFF_DST, m(bwpd.diff_dst_desc())}};
    bool same = fpd.weights_desc() == bdpd.weights_desc(),
         same2 = fpd.weights_desc() == bwpd.diff_weights_desc(),
         s3 = fpd.dst_desc() == bdpd.diff_dst_desc() && fpd.src_desc() == bwpd.src_desc() &&
              fpd.src_desc() == bdpd.diff_src_desc();
    if (argc > 2)
      printf("ic%d oc%d k%d h%d  wei fwd==bwd_d %d fwd==bwd_w %d acts same %d  %s\n", c.ic, c.oc,
             c.k, c.h, same, same2, s3, fpd.impl_info_str());
    ps.push_back(std::move(p));
  }
  auto run = [&](int which) {
    for (auto& p : ps) {
      if (which == 0)
        p.f.execute(st, p.af);
      else if (which == 1)
        p.bd.execute(st, p.ad);
      else
        p.bw.execute(st, p.aw);
    }
    st.wait();
  };
  const char* names[] = {"fwd", "bwd_data", "bwd_weights"};
  double total = 0;
  for (int w = 0; w < 3; ++w) {
    for (int i = 0; i < 3; ++i) run(w);
    auto t = std::chrono::steady_clock::now();
    int it = 10;
    for (int i = 0; i < it; ++i) run(w);
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count() /
        it;
    total += ms;
    printf("%s %s: %.1f ms/step\n", type == dt::bf16 ? "bf16" : "f32", names[w], ms);
  }
  printf("total conv %.1f ms per batch-%d step -> %.0f img/s if convs were all\n", total, N,
         N * 1000 / total);
}
