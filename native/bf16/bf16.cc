// tunescope bf16 GEMM addon: fp32 operands rounded to bfloat16 (round-to-nearest-even), multiplied by
// oneDNN's matmul primitive with fp32 accumulation and an fp32 result (+ an optional fp32 bias row) — the
// matrix-product half of PyTorch's CPU autocast. On CPUs with AMX (amx_bf16) oneDNN runs it on the tile units.
//
// Hand-written because nothing exposes this to Node: ONNX Runtime's CPU provider has no bfloat16 MatMul and
// onnxruntime-node cannot load custom-op libraries, and no npm package binds oneDNN. The kernels themselves are
// oneDNN's (Debian libdnnl-dev, the library PyTorch uses); this file only converts, caches primitives and
// reports what the CPU can do. Built by native/bf16/build.mjs at `npm install` (see its header).
#include <napi.h>

#include <dnnl.hpp>
#include <omp.h>

#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace {

// ---- CPU capability ------------------------------------------------------------------------------------------
// AMX needs the instructions (CPUID.7.0:EDX bits 22 amx-bf16, 24 amx-tile), the OS saving tile state (XCR0
// bits 17, 18) and, on Linux ≥ 5.16, per-process permission for the tile data (arch_prctl ARCH_REQ_XCOMP_PERM).
constexpr int ARCH_REQ_XCOMP_PERM = 0x1023;
constexpr int XFEATURE_XTILEDATA = 18;

struct Amx {
  bool cpu = false;     // amx-bf16 and amx-tile in CPUID
  bool os = false;      // XCR0 enables tile config + data
  bool granted = false; // arch_prctl permission obtained
};

Amx probeAmx() {
  Amx r;
  unsigned a, b, c, d;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) r.cpu = ((d >> 22) & 1) && ((d >> 24) & 1);
  if (!r.cpu) return r;
  unsigned lo = 0, hi = 0;
  if (__get_cpuid(1, &a, &b, &c, &d) && ((c >> 27) & 1)) {  // OSXSAVE: xgetbv is usable
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    r.os = ((lo >> 17) & 3) == 3;
  }
  if (!r.os) return r;
  r.granted = syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
  return r;
}

const char* isaName(dnnl::cpu_isa isa) {
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

// ---- state ---------------------------------------------------------------------------------------------------
struct Key {
  int64_t batch, m, n, k;
  bool bBatched, transB, bias;
  bool operator<(const Key& o) const {
    return std::tie(batch, m, n, k, bBatched, transB, bias) < std::tie(o.batch, o.m, o.n, o.k, o.bBatched, o.transB, o.bias);
  }
};

struct State {
  dnnl::engine eng{dnnl::engine::kind::cpu, 0};
  dnnl::stream strm{eng};
  std::map<Key, dnnl::matmul> prims;
  std::vector<uint16_t> abuf, bbuf;
  int threads = 1;
  bool onednn = false;  // oneDNN has a bf16 matmul on this CPU (AVX-512 or AMX)
};

State& state() {
  static State s;
  return s;
}

// fp32 → bf16, round to nearest even; NaN stays a (quiet) NaN. Elementwise, so the result does not depend on
// the thread split.
inline uint16_t toBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40);
  return static_cast<uint16_t>((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

// dst[b][i][j] (rows × cols, row-major) = src[b] read as rows × cols, or as its transpose when `trans`
// (src[b] stored cols × rows).
void convert(const float* src, uint16_t* dst, int64_t batch, int64_t rows, int64_t cols, bool trans, int threads) {
  const int64_t per = rows * cols;
  if (!trans) {
    const int64_t total = batch * per;
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < total; i++) dst[i] = toBf16(src[i]);
    return;
  }
  constexpr int64_t T = 32;  // cache blocks for the transposed copy
  const int64_t rb = (rows + T - 1) / T;
#pragma omp parallel for num_threads(threads) schedule(static) collapse(2)
  for (int64_t b = 0; b < batch; b++) {
    for (int64_t blk = 0; blk < rb; blk++) {
      const float* s = src + b * per;
      uint16_t* d = dst + b * per;
      const int64_t i0 = blk * T, i1 = std::min(rows, i0 + T);
      for (int64_t j0 = 0; j0 < cols; j0 += T) {
        const int64_t j1 = std::min(cols, j0 + T);
        for (int64_t i = i0; i < i1; i++)
          for (int64_t j = j0; j < j1; j++) d[i * cols + j] = toBf16(s[j * rows + i]);
      }
    }
  }
}

// Portable kernel over the same bf16 operands (CPUs where oneDNN 2.6 has no bf16 matmul, i.e. without
// AVX-512): C = A·B with every product of bf16 values (exact in fp32) accumulated in fp32 in k order, so the
// result is the AMX computation up to the summation order. For tests and numerics only: it is no faster than
// fp32. a: [batch, m, k] bf16; b: [batch or 1, k, n] bf16 (already in k-major order).
__attribute__((target_clones("avx2,fma", "default")))
void emulatedGemm(const uint16_t* a, const uint16_t* b, const float* bias, float* c, int64_t batch, int64_t m, int64_t n, int64_t k, bool bBatched, int threads) {
  constexpr int64_t NB = 512;  // column block: a [k × NB] slice of b stays in cache across rows
  const int64_t nb = (n + NB - 1) / NB;
#pragma omp parallel for num_threads(threads) schedule(static) collapse(2)
  for (int64_t p = 0; p < batch; p++) {
    for (int64_t i = 0; i < m; i++) {
      const uint16_t* ar = a + (p * m + i) * k;
      const uint16_t* bp = b + (bBatched ? p * k * n : 0);
      float* cr = c + (p * m + i) * n;
      for (int64_t jb = 0; jb < nb; jb++) {
        const int64_t j0 = jb * NB, j1 = std::min(n, j0 + NB);
        for (int64_t j = j0; j < j1; j++) cr[j] = 0.f;
        for (int64_t kk = 0; kk < k; kk++) {
          uint32_t au = static_cast<uint32_t>(ar[kk]) << 16;
          float av;
          std::memcpy(&av, &au, 4);
          const uint16_t* br = bp + kk * n;
          for (int64_t j = j0; j < j1; j++) {
            uint32_t bu = static_cast<uint32_t>(br[j]) << 16;
            float bv;
            std::memcpy(&bv, &bu, 4);
            cr[j] += av * bv;
          }
        }
        if (bias)
          for (int64_t j = j0; j < j1; j++) cr[j] += bias[j];
      }
    }
  }
}

dnnl::matmul primitive(State& st, const Key& key) {
  auto it = st.prims.find(key);
  if (it != st.prims.end()) return it->second;
  using dt = dnnl::memory::data_type;
  using tag = dnnl::memory::format_tag;
  const dnnl::memory::dims aDims = {key.batch, key.m, key.k};
  const dnnl::memory::dims bDims = {key.bBatched ? key.batch : 1, key.k, key.n};
  const dnnl::memory::dims cDims = {key.batch, key.m, key.n};
  dnnl::memory::desc aMd(aDims, dt::bf16, tag::abc);
  // a transposed weight is read in place: [batch, n, k] storage described as [batch, k, n] with swapped strides
  dnnl::memory::desc bMd(bDims, dt::bf16, key.transB ? tag::acb : tag::abc);
  dnnl::memory::desc cMd(cDims, dt::f32, tag::abc);
  std::unique_ptr<dnnl::matmul::desc> d;
  if (key.bias) {
    dnnl::memory::desc biasMd({1, 1, key.n}, dt::f32, tag::abc);
    d = std::make_unique<dnnl::matmul::desc>(aMd, bMd, biasMd, cMd);
  } else {
    d = std::make_unique<dnnl::matmul::desc>(aMd, bMd, cMd);
  }
  dnnl::matmul::primitive_desc pd(*d, st.eng);
  dnnl::matmul p(pd);
  if (st.prims.size() >= 512) st.prims.clear();  // dynamic padding makes many shapes; keep the cache bounded
  st.prims.emplace(key, p);
  return p;
}

float* f32(const Napi::Value& v, size_t need, const char* what) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(v.Env(), std::string(what) + " must be a Float32Array");
  auto a = v.As<Napi::Float32Array>();
  if (a.ElementLength() < need)
    throw Napi::RangeError::New(v.Env(), std::string(what) + " holds " + std::to_string(a.ElementLength()) + " values, needs " + std::to_string(need));
  return a.Data();
}

// gemm(a, b, bias | null, out, batch, m, n, k, transA, transB, bBatched[, emulate]):
//   out[p] = op(a[p]) · op(b[p or 0]) (+ bias), op(a) [m,k] (a stored [k,m] when transA), op(b) [k,n] (b stored
//   [n,k] when transB); bias has n values.
Napi::Value Gemm(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 11) throw Napi::TypeError::New(env, "gemm takes 11 or 12 arguments");
  auto num = [&](int i) { return static_cast<int64_t>(info[i].As<Napi::Number>().Int64Value()); };
  const int64_t batch = num(4), m = num(5), n = num(6), k = num(7);
  const bool transA = info[8].ToBoolean(), transB = info[9].ToBoolean(), bBatched = info[10].ToBoolean();
  if (batch < 1 || m < 1 || n < 1 || k < 1) throw Napi::RangeError::New(env, "gemm: every dimension must be ≥ 1");
  const float* a = f32(info[0], batch * m * k, "a");
  const float* b = f32(info[1], (bBatched ? batch : 1) * k * n, "b");
  const bool hasBias = !info[2].IsNull() && !info[2].IsUndefined();
  float* bias = hasBias ? f32(info[2], n, "bias") : nullptr;
  float* out = f32(info[3], batch * m * n, "out");

  State& st = state();
  const int64_t bCount = (bBatched ? batch : 1) * k * n;
  if (st.abuf.size() < static_cast<size_t>(batch * m * k)) st.abuf.resize(batch * m * k);
  if (st.bbuf.size() < static_cast<size_t>(bCount)) st.bbuf.resize(bCount);
  const bool emulate = !st.onednn || (info.Length() > 11 && info[11].ToBoolean());
  convert(a, st.abuf.data(), batch, m, k, transA, st.threads);
  if (emulate) {
    // the portable kernel wants b k-major: transpose [n, k] storage while converting
    convert(b, st.bbuf.data(), bBatched ? batch : 1, k, n, transB, st.threads);
    emulatedGemm(st.abuf.data(), st.bbuf.data(), bias, out, batch, m, n, k, bBatched, st.threads);
    return env.Undefined();
  }
  convert(b, st.bbuf.data(), 1, 1, bCount, false, st.threads);

  try {
    Key key{batch, m, n, k, bBatched, transB, hasBias};
    dnnl::matmul p = primitive(st, key);
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    dnnl::memory am({{batch, m, k}, dt::bf16, tag::abc}, st.eng, st.abuf.data());
    dnnl::memory bm({{bBatched ? batch : 1, k, n}, dt::bf16, transB ? tag::acb : tag::abc}, st.eng, st.bbuf.data());
    dnnl::memory cm({{batch, m, n}, dt::f32, tag::abc}, st.eng, out);
    std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}};
    if (hasBias) args.emplace(DNNL_ARG_BIAS, dnnl::memory({{1, 1, n}, dt::f32, tag::abc}, st.eng, bias));
    p.execute(st.strm, args);
    st.strm.wait();
  } catch (const dnnl::error& e) {
    throw Napi::Error::New(env, std::string("oneDNN matmul failed: ") + e.what());
  }
  return env.Undefined();
}

// The implementation oneDNN picks for a shape (e.g. "brg:avx512_core_amx"): benchmarks print it.
Napi::Value Implementation(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto num = [&](int i) { return static_cast<int64_t>(info[i].As<Napi::Number>().Int64Value()); };
  State& st = state();
  if (!st.onednn) return Napi::String::New(env, "emulated (portable fp32 kernel over bf16 operands)");
  try {
    Key key{1, num(0), num(1), num(2), false, info[3].ToBoolean(), false};
    dnnl::matmul p = primitive(st, key);
    const char* impl = nullptr;
    dnnl_primitive_desc_query(p.get_primitive_desc(), dnnl_query_impl_info_str, 0, &impl);
    return Napi::String::New(env, impl ? impl : "?");
  } catch (const dnnl::error& e) {
    throw Napi::Error::New(env, std::string("oneDNN: ") + e.what());
  }
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  const int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) throw Napi::RangeError::New(info.Env(), "threads must be ≥ 1");
  state().threads = n;
  omp_set_num_threads(n);  // oneDNN's OpenMP runtime sizes its parallel regions from this
  return info.Env().Undefined();
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  static const Amx amx = probeAmx();
  Napi::Object o = Napi::Object::New(env);
  o.Set("amxCpu", amx.cpu);
  o.Set("amxOs", amx.os);
  o.Set("amxGranted", amx.granted);
  o.Set("isa", isaName(dnnl::get_effective_cpu_isa()));
  const dnnl_version_t* v = dnnl_version();
  o.Set("onednn", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  o.Set("threads", state().threads);
  o.Set("backend", state().onednn ? "onednn" : "emulated");
  return o;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  State& st = state();
  st.threads = omp_get_max_threads();
  // oneDNN 2.6 implements bf16 matmul only with AVX-512 (avx512_core and up; AMX on Sapphire Rapids and later)
  try {
    primitive(st, Key{1, 16, 16, 16, false, false, false});
    st.onednn = true;
  } catch (const dnnl::error&) {
    st.onednn = false;
  }
  exports.Set("gemm", Napi::Function::New(env, Gemm));
  exports.Set("implementation", Napi::Function::New(env, Implementation));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads));
  exports.Set("info", Napi::Function::New(env, Info));
  return exports;
}

}  // namespace

NODE_API_MODULE(tunescope_bf16, Init)
