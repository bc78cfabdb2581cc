#include "rso/model/transformer.hpp"

#include <ATen/ATen.h>
#include <ATen/core/grad_mode.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/BFloat16.h>
#include <c10/util/Half.h>
#include <torch/version.h>

#include <cmath>
#include <limits>

#include "rso/core/error.hpp"

namespace rso::model {

namespace {

// The most negative finite value of a dtype: masked scores get it rather
// than -inf, so that softmax never sees a row without a finite entry.
double lowest_finite(c10::ScalarType type) {
  switch (type) {
    case c10::ScalarType::Double: return std::numeric_limits<double>::lowest();
    case c10::ScalarType::BFloat16: return static_cast<float>(std::numeric_limits<c10::BFloat16>::lowest());
    case c10::ScalarType::Half: return static_cast<float>(std::numeric_limits<c10::Half>::lowest());
    default: return std::numeric_limits<float>::lowest();
  }
}

// Norms and rotary tables are computed in at least float32.
c10::ScalarType compute_type(c10::ScalarType type) {
  return type == c10::ScalarType::Double ? c10::ScalarType::Double : c10::ScalarType::Float;
}

torch::nn::Linear linear(std::int64_t in, std::int64_t out) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(false));
}

// The two halves of the last dimension swapped: rotate_half without its
// sign, which the sin table carries.
at::Tensor swap_halves(const at::Tensor& x) {
  const auto half = x.size(-1) / 2;
  return at::cat({x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

}  // namespace

void TransformerOptions::validate() const {
  auto require = [](bool ok, const std::string& what) {
    if (!ok) RSO_THROW(ConfigError, "model: " + what);
  };
  require(vocab_size_ > 0, "vocab_size must be > 0");
  require(hidden_size_ > 0 && num_layers_ > 0 && num_heads_ > 0 && num_kv_heads_ > 0,
          "hidden_size, num_layers, num_heads and num_kv_heads must be > 0");
  require(hidden_size_ % num_heads_ == 0, "hidden_size " + std::to_string(hidden_size_) +
                                              " is not a multiple of num_heads " + std::to_string(num_heads_));
  require(head_dim() % 2 == 0, "head_dim " + std::to_string(head_dim()) + " must be even for rotary embeddings");
  require(num_heads_ % num_kv_heads_ == 0, "num_heads " + std::to_string(num_heads_) +
                                               " is not a multiple of num_kv_heads " + std::to_string(num_kv_heads_));
  require(intermediate_size_ > 0 && max_positions_ > 0, "intermediate_size and max_positions must be > 0");
  require(rope_theta_ > 0 && rms_norm_eps_ > 0 && init_std_ > 0, "rope_theta, rms_norm_eps and init_std must be > 0");
  // Past these a file is damaged or hostile, not a model: the rotary tables
  // alone of 1e11 positions would take terabytes.
  auto at_most = [&](std::int64_t value, std::int64_t limit, const char* name) {
    require(value <= limit, std::string(name) + " = " + std::to_string(value) + " exceeds " + std::to_string(limit));
  };
  at_most(vocab_size_, std::int64_t{1} << 24, "vocab_size");
  at_most(hidden_size_, std::int64_t{1} << 16, "hidden_size");
  at_most(num_layers_, 1024, "num_layers");
  at_most(num_heads_, 1024, "num_heads");
  at_most(intermediate_size_, std::int64_t{1} << 18, "intermediate_size");
  at_most(max_positions_, std::int64_t{1} << 22, "max_positions");
}

// --- RMSNorm ----------------------------------------------------------------
RMSNormImpl::RMSNormImpl(std::int64_t size, double eps) : eps_(eps) {
  weight = register_parameter("weight", at::ones({size}));
}

at::Tensor RMSNormImpl::forward(const at::Tensor& x) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  // One fused kernel on GPUs where LibTorch has it, instead of eight. It
  // also computes in float32 (or wider) but multiplies by the weight before
  // rounding to x's dtype, where Hugging Face rounds first: for float32 and
  // float64 models that is the same, for bf16 one rounding apart.
  return at::rms_norm(x, {x.size(-1)}, weight, eps_);
#else
  const at::Tensor wide = x.to(compute_type(x.scalar_type()));
  const at::Tensor normed = wide * at::rsqrt(wide.pow(2).mean(-1, /*keepdim=*/true) + eps_);
  return weight * normed.to(x.scalar_type());
#endif
}

// --- Rotary embeddings --------------------------------------------------------
RotaryTables RotaryCache::lookup(const at::Tensor& positions, const at::TensorOptions& options) {
  if (!table_.defined() || table_.device() != options.device() || table_.scalar_type() != options.dtype()) {
    // Built outside inference mode even when first asked for there, so that
    // training can use the same table afterwards.
    c10::InferenceMode not_inference(false);
    const auto wide = compute_type(c10::typeMetaToScalarType(options.dtype()));
    const auto table_options = at::TensorOptions().dtype(wide).device(options.device());
    // inv_freq_i = theta^(-2i/d), i < d/2 (Hugging Face's default rope).
    const at::Tensor inv_freq =
        1.0 / at::pow(theta_, at::arange(0, head_dim_, 2, table_options.dtype(at::kLong)).to(wide) / head_dim_);
    const at::Tensor angles = at::arange(0, max_positions_, table_options).unsqueeze(-1) * inv_freq;  // [P, d/2]
    const at::Tensor cos = angles.cos(), sin = angles.sin();
    table_ = at::stack({at::cat({cos, cos}, -1), at::cat({-sin, sin}, -1)}, 1).to(options.dtype());
  }
  const at::Tensor rows = table_.index_select(0, positions.reshape({-1}))
                              .view({positions.size(0), positions.size(1), 2, head_dim_});  // [B, T, 2, d]
  return {rows.narrow(2, 0, 1), rows.narrow(2, 1, 1)};
}

at::Tensor apply_rotary(const at::Tensor& x, const RotaryTables& tables) {
  return at::addcmul(x * tables.cos, swap_halves(x), tables.sin);
}

// --- Attention ------------------------------------------------------------------
AttentionImpl::AttentionImpl(const TransformerOptions& o)
    : heads_(o.num_heads()), kv_heads_(o.num_kv_heads()), head_dim_(o.head_dim()) {
  q_proj = register_module("q_proj", linear(o.hidden_size(), heads_ * head_dim_));
  k_proj = register_module("k_proj", linear(o.hidden_size(), kv_heads_ * head_dim_));
  v_proj = register_module("v_proj", linear(o.hidden_size(), kv_heads_ * head_dim_));
  o_proj = register_module("o_proj", linear(heads_ * head_dim_, o.hidden_size()));
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, const RotaryTables& rotary, const at::Tensor& allowed,
                                  KvCache* cache, std::int64_t layer) {
  const auto batch = x.size(0), length = x.size(1);
  at::Tensor q, k, v;  // [B, T, heads, d] until the transpose below
  if (fused_qkv_weight.defined() && !at::GradMode::is_enabled()) {
    // q and k are adjacent in the product: one rotation serves both.
    const at::Tensor qkv = at::linear(x, fused_qkv_weight).view({batch, length, heads_ + 2 * kv_heads_, head_dim_});
    const at::Tensor qk = apply_rotary(qkv.narrow(2, 0, heads_ + kv_heads_), rotary);
    q = qk.narrow(2, 0, heads_);
    k = qk.narrow(2, heads_, kv_heads_);
    v = qkv.narrow(2, heads_ + kv_heads_, kv_heads_);
  } else {
    q = apply_rotary(q_proj(x).view({batch, length, heads_, head_dim_}), rotary);
    k = apply_rotary(k_proj(x).view({batch, length, kv_heads_, head_dim_}), rotary);
    v = v_proj(x).view({batch, length, kv_heads_, head_dim_});
  }
  q = q.transpose(1, 2);  // [B, H, T, d]
  k = k.transpose(1, 2);
  v = v.transpose(1, 2);
  if (cache && cache->column.defined()) {
    RSO_CHECK(length == 1, "fixed-shape decoding takes one token per row");
    cache->keys[layer].index_copy_(2, cache->column, k);
    cache->values[layer].index_copy_(2, cache->column, v);
    k = cache->keys[layer];
    v = cache->values[layer];
  } else if (cache) {
    const std::int64_t start = cache->length;
    cache->keys[layer].narrow(2, start, length).copy_(k);
    cache->values[layer].narrow(2, start, length).copy_(v);
    k = cache->keys[layer].narrow(2, 0, start + length);
    v = cache->values[layer].narrow(2, 0, start + length);
  }
  if (kv_heads_ != heads_) {  // grouped-query: query head h reads kv head h / (H / H_kv)
    k = k.repeat_interleave(heads_ / kv_heads_, 1);
    v = v.repeat_interleave(heads_ / kv_heads_, 1);
  }
#if TORCH_VERSION_MAJOR >= 2
  // Without a mask (no padding, no cache) the fused kernels take the causal
  // pattern as a flag: on GPUs that selects flash attention, which a mask
  // tensor rules out.
  const at::Tensor attended = allowed.defined()
                                  ? at::scaled_dot_product_attention(q, k, v, allowed)
                                  : at::scaled_dot_product_attention(q, k, v, {}, 0.0, /*is_causal=*/true);
#else
  // LibTorch 1.x has no fused attention: the same computation, softmax in
  // float32 (or wider) as Hugging Face's eager path does.
  at::Tensor scores = at::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(head_dim_));
  scores = scores.masked_fill(allowed.logical_not(), lowest_finite(scores.scalar_type()));
  const at::Tensor probabilities = at::softmax(scores, -1, compute_type(q.scalar_type())).to(q.scalar_type());
  const at::Tensor attended = at::matmul(probabilities, v);
#endif
  return o_proj(attended.transpose(1, 2).reshape({batch, length, heads_ * head_dim_}));
}

// --- MLP ------------------------------------------------------------------------
MlpImpl::MlpImpl(const TransformerOptions& o) {
  gate_proj = register_module("gate_proj", linear(o.hidden_size(), o.intermediate_size()));
  up_proj = register_module("up_proj", linear(o.hidden_size(), o.intermediate_size()));
  down_proj = register_module("down_proj", linear(o.intermediate_size(), o.hidden_size()));
}

at::Tensor MlpImpl::forward(const at::Tensor& x) {
  if (fused_gate_up_weight.defined() && !at::GradMode::is_enabled()) {
    const at::Tensor gate_up = at::linear(x, fused_gate_up_weight);
    const auto width = gate_up.size(-1) / 2;
    return down_proj(at::silu(gate_up.narrow(-1, 0, width)) * gate_up.narrow(-1, width, width));
  }
  return down_proj(at::silu(gate_proj(x)) * up_proj(x));
}

// --- Decoder layer ----------------------------------------------------------------
DecoderLayerImpl::DecoderLayerImpl(const TransformerOptions& o) {
  self_attn = register_module("self_attn", Attention(o));
  mlp = register_module("mlp", Mlp(o));
  input_layernorm = register_module("input_layernorm", RMSNorm(o.hidden_size(), o.rms_norm_eps()));
  post_attention_layernorm =
      register_module("post_attention_layernorm", RMSNorm(o.hidden_size(), o.rms_norm_eps()));
}

at::Tensor DecoderLayerImpl::forward(const at::Tensor& x, const RotaryTables& rotary, const at::Tensor& allowed,
                                     KvCache* cache, std::int64_t layer) {
  const at::Tensor h = x + self_attn(input_layernorm(x), rotary, allowed, cache, layer);
  return h + mlp(post_attention_layernorm(h));
}

// --- Backbone and head -----------------------------------------------------------
at::Tensor positions_from_mask(const at::Tensor& attention_mask) {
  return (attention_mask.to(at::kLong).cumsum(1) - 1).clamp_min(0);
}

at::Tensor attention_allowed(const at::Tensor& attention_mask, std::int64_t offset) {
  const auto keys = attention_mask.size(1);
  if (offset == keys - 1) {
    // One query, the last position (a decode step): it may see every real
    // key, and itself. Two operations instead of eight.
    at::Tensor allowed = attention_mask.to(at::kBool, /*non_blocking=*/false, /*copy=*/true);
    allowed.select(1, keys - 1).fill_(true);
    return allowed.unsqueeze(1).unsqueeze(1);  // [B, 1, 1, S]
  }
  const auto options = at::TensorOptions().dtype(at::kLong).device(attention_mask.device());
  const at::Tensor query_column = at::arange(offset, keys, options).unsqueeze(1);  // [Q, 1]
  const at::Tensor key_column = at::arange(0, keys, options).unsqueeze(0);         // [1, S]
  const at::Tensor causal = key_column.le(query_column);
  const at::Tensor self = key_column.eq(query_column);
  const at::Tensor real_keys = attention_mask.to(at::kBool).unsqueeze(1).unsqueeze(1);  // [B, 1, 1, S]
  return (causal & real_keys) | self;  // [B, 1, Q, S]
}

BackboneImpl::BackboneImpl(const TransformerOptions& o)
    : options_(o), rotary_(o.max_positions(), o.head_dim(), o.rope_theta()) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(o.vocab_size(), o.hidden_size()));
  layers = register_module("layers", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < o.num_layers(); ++i) layers->push_back(DecoderLayer(o));
  norm = register_module("norm", RMSNorm(o.hidden_size(), o.rms_norm_eps()));
}

at::Tensor BackboneImpl::run_layers(const at::Tensor& input_ids, const at::Tensor& attention_mask, KvCache* cache) {
  RSO_CHECK(input_ids.dim() == 2, "input_ids must be [batch, length]");
  const std::int64_t offset = cache ? cache->length : 0;
  const std::int64_t fresh = input_ids.size(1);
  const at::Tensor mask = attention_mask.defined() ? attention_mask : at::ones({input_ids.size(0), offset + fresh},
                                                                                input_ids.options());
  RSO_CHECK(mask.size(1) == offset + fresh, "attention_mask must cover the cached and the new positions");
  if (offset + fresh > options_.max_positions())
    RSO_THROW(DataError, "sequence of " + std::to_string(offset + fresh) + " tokens exceeds max_positions " +
                             std::to_string(options_.max_positions()));
  if (cache && offset + fresh > cache->capacity())
    RSO_THROW(InternalError, "KV cache of capacity " + std::to_string(cache->capacity()) + " cannot hold " +
                                 std::to_string(offset + fresh) + " positions");
  const at::Tensor positions = positions_from_mask(mask).narrow(1, offset, fresh);
  at::Tensor h = embed_tokens(input_ids);
  const RotaryTables rotary = rotary_.lookup(positions, h.options());
#if TORCH_VERSION_MAJOR >= 2
  // A full batch without a cache is plain causal attention: no mask tensor.
  const bool plain_causal = !cache && (!attention_mask.defined() || attention_mask.all().item<bool>());
  const at::Tensor allowed = plain_causal ? at::Tensor() : attention_allowed(mask, offset);
#else
  const at::Tensor allowed = attention_allowed(mask, offset);
#endif
  std::int64_t index = 0;
  for (const auto& layer : *layers) h = layer->as<DecoderLayer>()->forward(h, rotary, allowed, cache, index++);
  if (cache) cache->length += fresh;
  return h;
}

at::Tensor BackboneImpl::forward(const at::Tensor& input_ids, const at::Tensor& attention_mask, KvCache* cache) {
  return norm(run_layers(input_ids, attention_mask, cache));
}

at::Tensor BackboneImpl::layer_states(const at::Tensor& input_ids, const at::Tensor& attention_mask) {
  return run_layers(input_ids, attention_mask, nullptr);
}

at::Tensor BackboneImpl::decode_fixed(const at::Tensor& token, const at::Tensor& positions, const at::Tensor& allowed,
                                      KvCache& cache) {
  RSO_CHECK(cache.column.defined(), "decode_fixed needs cache.column");
  at::Tensor h = embed_tokens(token);
  const RotaryTables rotary = rotary_.lookup(positions, h.options());
  std::int64_t index = 0;
  for (const auto& layer : *layers) h = layer->as<DecoderLayer>()->forward(h, rotary, allowed, &cache, index++);
  return norm(h);
}

KvCache KvCache::allocate(const TransformerOptions& options, std::int64_t rows, std::int64_t capacity,
                          const at::TensorOptions& tensor_options) {
  KvCache cache;
  for (std::int64_t l = 0; l < options.num_layers(); ++l) {
    cache.keys.push_back(at::zeros({rows, options.num_kv_heads(), capacity, options.head_dim()}, tensor_options));
    cache.values.push_back(at::zeros_like(cache.keys.back()));
  }
  return cache;
}

void KvCache::repeat_rows(std::int64_t times) {
  for (auto* tensors : {&keys, &values})
    for (auto& t : *tensors) t = t.repeat_interleave(times, 0).contiguous();
}

TransformerImpl::TransformerImpl(TransformerOptions options) : options_(std::move(options)) {
  options_.validate();
  reset();
}

void TransformerImpl::reset() {
  model = register_module("model", Backbone(options_));
  if (!options_.tie_embeddings())
    lm_head = register_module("lm_head", linear(options_.hidden_size(), options_.vocab_size()));
  init_llama_weights(*this, options_.init_std());
}

FusedProjections::FusedProjections(TransformerImpl& model) : model_(model) {
  at::NoGradGuard no_grad;
  for (const auto& layer : *model_.model->layers) {
    auto& decoder = *layer->as<DecoderLayer>();
    auto& attention = *decoder.self_attn;
    attention.fused_qkv_weight =
        at::cat({attention.q_proj->weight, attention.k_proj->weight, attention.v_proj->weight}, 0);
    auto& mlp = *decoder.mlp;
    mlp.fused_gate_up_weight = at::cat({mlp.gate_proj->weight, mlp.up_proj->weight}, 0);
  }
}

FusedProjections::~FusedProjections() {
  for (const auto& layer : *model_.model->layers) {
    auto& decoder = *layer->as<DecoderLayer>();
    decoder.self_attn->fused_qkv_weight = at::Tensor();
    decoder.mlp->fused_gate_up_weight = at::Tensor();
  }
}

void init_llama_weights(torch::nn::Module& module, double std) {
  at::NoGradGuard no_grad;
  for (auto& parameter : module.named_parameters(/*recurse=*/true))
    if (parameter.key().find("norm") == std::string::npos) parameter.value().normal_(0.0, std);
}

at::Tensor TransformerImpl::forward(const at::Tensor& input_ids, const at::Tensor& attention_mask, KvCache* cache) {
  return read_out(model->forward(input_ids, attention_mask, cache));
}

at::Tensor TransformerImpl::read_out(const at::Tensor& hidden) {
  // Tied models read out through the input embedding matrix.
  return options_.tie_embeddings() ? at::linear(hidden, model->embed_tokens->weight) : lm_head(hidden);
}

}  // namespace rso::model
