// A decoder-only transformer of the Llama family, in the LibTorch frontend's
// idiom (Options / Impl / TORCH_MODULE).
//
// RMSNorm, rotary position embeddings in the Hugging Face convention
// (rotate_half over the two halves of each head), SwiGLU MLP, grouped-query
// attention, optional tied input/output embeddings. Parameter names equal
// Hugging Face's LlamaForCausalLM ("model.layers.0.self_attn.q_proj.weight",
// "lm_head.weight"), so checkpoints map one to one.
//
// Batches may be left-padded: `attention_mask` marks real tokens (1) and
// padding (0); positions count real tokens only, so a prompt's logits do not
// depend on how much padding its batch needed.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

namespace rso::model {

struct TransformerOptions {
  std::int64_t head_dim() const { return hidden_size_ / num_heads_; }
  // Throws ConfigError naming the first inconsistent size.
  void validate() const;

  TORCH_ARG(std::int64_t, vocab_size) = 32000;
  TORCH_ARG(std::int64_t, hidden_size) = 768;
  TORCH_ARG(std::int64_t, num_layers) = 12;
  TORCH_ARG(std::int64_t, num_heads) = 12;
  // Key/value heads; fewer than num_heads is grouped-query attention.
  TORCH_ARG(std::int64_t, num_kv_heads) = 12;
  TORCH_ARG(std::int64_t, intermediate_size) = 2048;
  TORCH_ARG(std::int64_t, max_positions) = 2048;
  TORCH_ARG(double, rope_theta) = 10000.0;
  TORCH_ARG(double, rms_norm_eps) = 1e-5;
  TORCH_ARG(bool, tie_embeddings) = false;
  // Standard deviation of the normal initialisation (Hugging Face's
  // initializer_range).
  TORCH_ARG(double, init_std) = 0.02;
};

// x · rsqrt(mean(x²) + ε) · weight, computed in float32 (or wider) and
// returned in the input's dtype, as Hugging Face does.
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(std::int64_t size, double eps);
  at::Tensor forward(const at::Tensor& x);
  at::Tensor weight;

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

// Keys and values of every layer for a batch of sequences, preallocated to a
// fixed capacity so that decoding never reallocates. Rows are sequences;
// columns 0..length-1 hold the cached positions.
struct KvCache {
  std::vector<at::Tensor> keys;    // per layer [N, kv_heads, capacity, head_dim]
  std::vector<at::Tensor> values;  // same
  std::int64_t length = 0;
  // Fixed shapes (decode_fixed): int64 [1] on the device, the column the
  // step's keys and values go to. Attention then reads the whole capacity,
  // the mask saying which columns count, so that no shape or address in a
  // step depends on the step number and the step can be replayed as a
  // CUDA graph.
  at::Tensor column;

  static KvCache allocate(const TransformerOptions& options, std::int64_t rows, std::int64_t capacity,
                          const at::TensorOptions& tensor_options);
  std::int64_t capacity() const { return keys.empty() ? 0 : keys.front().size(2); }
  std::int64_t rows() const { return keys.empty() ? 0 : keys.front().size(0); }
  // Repeats every row `times` times in place (row r becomes rows r*times ..
  // r*times+times-1): one prefill serves all candidates of a prompt.
  void repeat_rows(std::int64_t times);
};

// cos and sin of the rotary angles of given positions, shaped to broadcast
// over heads: [B, T, 1, head_dim]. `sin` carries rotate_half's sign (its
// first half negated), so that rotating is one swap of halves and two
// products.
struct RotaryTables {
  at::Tensor cos;
  at::Tensor sin;
};

// The tables of every position 0..max_positions-1, computed once per device
// and dtype (in float32 or wider, stored in the model's dtype) and looked up
// per forward: one gather instead of a dozen small operations per step.
class RotaryCache {
 public:
  RotaryCache(std::int64_t max_positions, std::int64_t head_dim, double theta)
      : max_positions_(max_positions), head_dim_(head_dim), theta_(theta) {}
  // positions int64 [B, T] on `options`' device.
  RotaryTables lookup(const at::Tensor& positions, const at::TensorOptions& options);

 private:
  std::int64_t max_positions_, head_dim_;
  double theta_;
  at::Tensor table_;  // [max_positions, 2 (cos, signed sin), head_dim]
};

// x·cos + rotate_half(x)·sin for x of shape [B, T, heads, head_dim].
at::Tensor apply_rotary(const at::Tensor& x, const RotaryTables& tables);

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const TransformerOptions& options);
  // x [B, T, hidden] holds new positions; allowed [B, 1, T, S] (bool) says
  // which of the S = cached + T keys each may attend (undefined: plain
  // causal attention over x alone, LibTorch 2.x). With a cache, the new
  // keys and values are stored at columns cache.length .. cache.length+T-1.
  at::Tensor forward(const at::Tensor& x, const RotaryTables& rotary, const at::Tensor& allowed,
                     KvCache* cache = nullptr, std::int64_t layer = 0);

  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  // q|k|v weights concatenated, set by FusedProjections; used only with
  // gradients off.
  at::Tensor fused_qkv_weight;

 private:
  std::int64_t heads_, kv_heads_, head_dim_;
};
TORCH_MODULE(Attention);

class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(const TransformerOptions& options);
  at::Tensor forward(const at::Tensor& x);
  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
  // gate|up weights concatenated, as fused_qkv_weight.
  at::Tensor fused_gate_up_weight;
};
TORCH_MODULE(Mlp);

class DecoderLayerImpl : public torch::nn::Module {
 public:
  explicit DecoderLayerImpl(const TransformerOptions& options);
  at::Tensor forward(const at::Tensor& x, const RotaryTables& rotary, const at::Tensor& allowed,
                     KvCache* cache = nullptr, std::int64_t layer = 0);
  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  Attention self_attn{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(DecoderLayer);

// The stack without the output head ("model." in Hugging Face names).
class BackboneImpl : public torch::nn::Module {
 public:
  explicit BackboneImpl(const TransformerOptions& options);
  // Final hidden states [B, T, hidden] of the T new tokens. With a cache,
  // `attention_mask` covers the cached columns too ([B, cache.length + T])
  // and the cache advances by T.
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask, KvCache* cache = nullptr);
  // The last layer's states before the final norm [B, T, hidden], no cache:
  // forward() is norm(layer_states()). Where every layer is frozen they are
  // a fixed function of the tokens, computed once (train/frozen_states.hpp).
  at::Tensor layer_states(const at::Tensor& input_ids, const at::Tensor& attention_mask);
  // One new token per row in fixed shapes: token and positions int64
  // [R, 1], allowed bool [R, 1, 1, capacity] (the keys each row may see,
  // its own column included), the keys and values written at
  // cache.column. Moves nothing forward: the caller advances cache.column
  // and the positions. -> final hidden states [R, 1, hidden].
  at::Tensor decode_fixed(const at::Tensor& token, const at::Tensor& positions, const at::Tensor& allowed,
                          KvCache& cache);
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};

 private:
  at::Tensor run_layers(const at::Tensor& input_ids, const at::Tensor& attention_mask, KvCache* cache);
  TransformerOptions options_;
  RotaryCache rotary_;
};
TORCH_MODULE(Backbone);

class TransformerImpl : public torch::nn::Module {
 public:
  explicit TransformerImpl(TransformerOptions options);
  void reset();
  // Logits [B, T, vocab] for token ids [B, T] (int64). `attention_mask`
  // [B, T] marks real tokens; undefined means no padding.
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& attention_mask = {}, KvCache* cache = nullptr);
  // Logits of final hidden states [..., hidden] (the LM head, or the input
  // embedding when tied): forward() is read_out(model->forward(...)).
  at::Tensor read_out(const at::Tensor& hidden);
  const TransformerOptions& options() const { return options_; }

  Backbone model{nullptr};
  torch::nn::Linear lm_head{nullptr};

 private:
  TransformerOptions options_;
};
TORCH_MODULE(Transformer);

// While it lives, each layer of `model` computes q, k and v with one matrix
// product, and the MLP's gate and up with another, from concatenated copies
// of their weights: fewer and larger kernels, which is what a decode step of
// a few tokens per row is bound by. The copies take the memory of those
// weights again and go stale when the weights change, so hold one only
// where they do not (sampling); with gradients on, the layers use their own
// parameters regardless.
class FusedProjections {
 public:
  explicit FusedProjections(TransformerImpl& model);
  ~FusedProjections();
  FusedProjections(const FusedProjections&) = delete;
  FusedProjections& operator=(const FusedProjections&) = delete;

 private:
  TransformerImpl& model_;
};

// Hugging Face's Llama initialisation: N(0, std) for every matrix, norms at one.
void init_llama_weights(torch::nn::Module& module, double std);

// Which keys the queries at columns offset.. of `attention_mask` [B, S] may
// see: causal, never padding, and always itself (so that padding rows stay
// finite). -> bool [B, 1, S - offset, S].
at::Tensor attention_allowed(const at::Tensor& attention_mask, std::int64_t offset = 0);

// Positions of a left- (or right-) padded batch: the running count of real
// tokens minus one, 0 on padding. mask [B, T] -> int64 [B, T].
at::Tensor positions_from_mask(const at::Tensor& attention_mask);

}  // namespace rso::model
