// The typed configuration of a run: sections, fields, defaults, and loading
// from YAML plus `--set a.b=value` overrides.
//
// Defaults follow the paper (Liu et al., ICLR 2024, §5) where it gives one.
// Loading rejects unknown keys, wrong types and out-of-range values with a
// ConfigError naming the key and where it came from (file:line or --set).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "rso/core/config_schema.hpp"

namespace rso {

struct RunConfig {
  std::string dir = "runs/default";
  std::uint64_t seed = 1234;

  template <class V>
  void visit(V& v) {
    v.operational("dir", dir, "run directory: resolved config, data, checkpoints, reports");
    v.param("seed", seed, "master seed; every random stream is keyed by (seed, stage, global index)");
  }
};

enum class DeviceKind { automatic, cpu, cuda };
constexpr EnumNames<DeviceKind, 3> kDeviceKindNames{
    {{DeviceKind::automatic, "auto"}, {DeviceKind::cpu, "cpu"}, {DeviceKind::cuda, "cuda"}}};

enum class CollectiveBackend { automatic, mpi, nccl };
constexpr EnumNames<CollectiveBackend, 3> kCollectiveBackendNames{
    {{CollectiveBackend::automatic, "auto"}, {CollectiveBackend::mpi, "mpi"}, {CollectiveBackend::nccl, "nccl"}}};

enum class Precision { automatic, float32, bfloat16 };
constexpr EnumNames<Precision, 3> kPrecisionNames{
    {{Precision::automatic, "auto"}, {Precision::float32, "float32"}, {Precision::bfloat16, "bfloat16"}}};

enum class DecodeKind { automatic, dynamic, fixed, graph };
constexpr EnumNames<DecodeKind, 4> kDecodeKindNames{{{DecodeKind::automatic, "auto"},
                                                     {DecodeKind::dynamic, "dynamic"},
                                                     {DecodeKind::fixed, "fixed"},
                                                     {DecodeKind::graph, "graph"}}};

struct DistConfig {
  DeviceKind device = DeviceKind::automatic;
  DecodeKind decode = DecodeKind::automatic;
  Precision precision = Precision::automatic;
  CollectiveBackend backend = CollectiveBackend::automatic;
  std::int64_t threads = 0;
  double bucket_mb = 25.0;
  double peak_tflops = 0.0;
  double timeout_seconds = 300.0;

  template <class V>
  void visit(V& v) {
    v.operational("device", device, kDeviceKindNames,
                  "auto: one GPU per local rank when CUDA is available, else CPU");
    v.operational("precision", precision, kPrecisionNames,
                  "weights and activations of model forwards; auto: bfloat16 on CUDA, float32 on CPU "
                  "(norms, softmax statistics and sampling are float32 either way)");
    v.operational("decode", decode, kDecodeKindNames,
                  "how sampling issues its decode steps: dynamic (shapes grow with the text), fixed (fixed "
                  "shapes: attention over the whole cache under a mask), graph (fixed, captured once as a "
                  "CUDA graph and replayed; GPUs only); auto: dynamic. Draws agree up to rounding");
    v.operational("backend", backend, kCollectiveBackendNames,
                  "tensor collectives; auto: NCCL when every rank has its own GPU, else MPI");
    v.operational("threads", threads, "torch threads per rank; 0: the cores this rank may use",
                  non_negative());
    v.operational("bucket_mb", bucket_mb, "size of the flat buckets gradients are averaged in (MiB)", positive());
    v.operational("peak_tflops", peak_tflops,
                  "the device's peak dense TFLOP/s at the training dtype, for MFU; 0: known GPUs by name, else no MFU",
                  non_negative());
    v.operational("timeout_seconds", timeout_seconds,
                  "end the job when a rank has not answered for this long (stopped, its node gone), or has not "
                  "joined an MPI collective the others have waited in this long (stuck, e.g. on a dead file "
                  "system); must exceed the longest step or checkpoint write of one rank; 0: never",
                  non_negative());
  }
};

enum class LogLevel { trace, debug, info, warn, error };
constexpr EnumNames<LogLevel, 5> kLogLevelNames{{{LogLevel::trace, "trace"},
                                                 {LogLevel::debug, "debug"},
                                                 {LogLevel::info, "info"},
                                                 {LogLevel::warn, "warn"},
                                                 {LogLevel::error, "error"}}};

struct LogConfig {
  LogLevel level = LogLevel::info;
  double progress_seconds = 10.0;

  template <class V>
  void visit(V& v) {
    v.operational("level", level, kLogLevelNames, "messages below this level are dropped");
    v.operational("progress_seconds", progress_seconds, "seconds between progress lines",
                  positive());
  }
};

enum class PairStrategy { first_round, tournament };
constexpr EnumNames<PairStrategy, 2> kPairStrategyNames{
    {{PairStrategy::first_round, "first-round"}, {PairStrategy::tournament, "tournament"}}};

enum class PairSource { direct, sft_sample_rank, rso_sample_rank };
constexpr EnumNames<PairSource, 3> kPairSourceNames{{{PairSource::direct, "direct"},
                                                     {PairSource::sft_sample_rank, "sft-sample-rank"},
                                                     {PairSource::rso_sample_rank, "rso-sample-rank"}}};

enum class LabelRule { argmax, bernoulli };
constexpr EnumNames<LabelRule, 2> kLabelRuleNames{{{LabelRule::argmax, "argmax"}, {LabelRule::bernoulli, "bernoulli"}}};

struct SampleConfig {
  std::string prompts, policy, reward_model, human_pairs, output;
  std::string scorer = "model";
  std::int64_t block_size = 4;
  LabelRule label = LabelRule::argmax;
  std::int64_t num_candidates = 64;
  std::int64_t num_samples = 8;
  double beta = 0.5;
  double temperature = 0.7;
  std::int64_t top_k = 40;
  double top_p = 1.0;
  std::int64_t max_new_tokens = 64;
  PairStrategy pairs = PairStrategy::first_round;
  PairSource source = PairSource::rso_sample_rank;

  template <class V>
  void visit(V& v) {
    v.param("num_candidates", num_candidates, "n_c: SFT candidates drawn per prompt", at_least(1));
    v.param("num_samples", num_samples, "n_d: candidates accepted per prompt by rejection sampling",
            at_least(1));
    v.param("beta", beta, "β of π*(y|x) ∝ π_sft(y|x)·exp(r(x,y)/β); small β: best-of-n", positive());
    v.param("temperature", temperature, "sampling temperature of the SFT policy", positive());
    v.param("top_k", top_k, "keep the k most likely tokens; 0 keeps all", non_negative());
    v.param("top_p", top_p, "nucleus sampling mass; 1 keeps all", unit_open_closed());
    v.param("max_new_tokens", max_new_tokens, "response length limit in tokens", at_least(1));
    v.param("pairs", pairs, kPairStrategyNames,
            "first-round: n_d/2 disjoint pairs; tournament: n_d-1 games, winners advance");
    v.param("source", source, kPairSourceNames, "where preference pairs come from");
    v.param("label", label, kLabelRuleNames,
            "pair labels from the reward model's P(y1 ≻ y2): argmax, or a Bernoulli draw");
    v.operational("prompts", prompts,
                  "prompts JSONL ({\"id\", \"prompt\"} or {\"id\", \"prompt_ids\"}); empty: <run.dir>/data/prompts.jsonl");
    v.operational("policy", policy, "SFT policy checkpoint; empty: <run.dir>/sft/model.h5");
    v.param("scorer", scorer,
            "what scores candidates (and judges as the proxy in rso eval): model (sample.reward_model), gold (the "
            "built-in task's gold reward, VADER of the response: the oracle proxy), or exec:COMMAND (a program "
            "started once per rank that reads JSONL {\"prompt\", \"response\"} lines and writes one number per line)");
    v.operational("reward_model", reward_model, "reward or ranking model checkpoint; empty: <run.dir>/reward/model.h5");
    v.operational("human_pairs", human_pairs,
                  "given pairs for source=direct ({\"prompt\", \"chosen\", \"rejected\"}); empty: "
                  "<run.dir>/data/pairs.jsonl");
    v.operational("output", output, "sample shards and manifest; empty: <run.dir>/sample");
    v.operational("block_size", block_size, "prompts per shard file (the unit of work and of restart)", at_least(1));
  }
};

enum class LossKind { sigmoid_norm, hinge_norm, hinge, sigmoid };
constexpr EnumNames<LossKind, 4> kLossKindNames{{{LossKind::sigmoid_norm, "sigmoid-norm"},
                                                 {LossKind::hinge_norm, "hinge-norm"},
                                                 {LossKind::hinge, "hinge"},
                                                 {LossKind::sigmoid, "sigmoid"}}};

enum class OptimizerKind { adamw, adafactor };
constexpr EnumNames<OptimizerKind, 2> kOptimizerKindNames{
    {{OptimizerKind::adamw, "adamw"}, {OptimizerKind::adafactor, "adafactor"}}};

enum class ScheduleKind { constant, cosine };
constexpr EnumNames<ScheduleKind, 2> kScheduleKindNames{
    {{ScheduleKind::constant, "constant"}, {ScheduleKind::cosine, "cosine"}}};

// Where the simulated human pairs D_hf take their responses from.
enum class HumanResponses { corpus, sft_policy };
constexpr EnumNames<HumanResponses, 2> kHumanResponsesNames{
    {{HumanResponses::corpus, "corpus"}, {HumanResponses::sft_policy, "sft-policy"}}};

// The built-in task "positive continuation" (task/builtin_task.hpp): data
// from Debian's fortunes, a gold reward from the VADER lexicon.
struct TaskConfig {
  std::string fortunes = "/usr/share/games/fortunes";
  std::string lexicon = "data/npm/vader-sentiment-1.1.3/vader_lexicon.txt";
  std::string labelled = "data/npm/sentiment-5.0.2/test/fixtures";
  std::int64_t min_words = 6, max_words = 30, max_quotes = 0;
  std::int64_t prompt_words = 4;
  double holdout = 0.1;
  std::int64_t eval_prompts = 64, pair_prompts = 2048, sample_prompts = 256, validation_prompts = 64;
  double rater_temperature = 0.1;
  bool rater_skips_ties = true;
  HumanResponses human_responses = HumanResponses::corpus;
  double own_continuation_share = 0.5;
  std::int64_t pairs_per_prompt = 1;
  std::int64_t check_prompts = 256, check_pairs_per_prompt = 1;
  std::int64_t early_policy_step = 0, early_pair_prompts = 4096, early_pairs_per_prompt = 1;
  std::int64_t vocab_size = 2000;

  template <class V>
  void visit(V& v) {
    v.param("min_words", min_words, "quotes shorter than this are not used", at_least(2));
    v.param("max_words", max_words, "quotes longer than this are not used", at_least(2));
    v.param("max_quotes", max_quotes, "use at most this many quotes (seeded choice); 0: all", non_negative());
    v.param("prompt_words", prompt_words, "a prompt is the first words of a quote; the rest is its SFT response",
            at_least(1));
    v.param("holdout", holdout, "share of quotes kept out of SFT; the sampling and eval prompts come from them",
            between(0.01, 0.9));
    v.param("eval_prompts", eval_prompts, "held-out prompts rso eval judges", at_least(1));
    v.param("pair_prompts", pair_prompts, "prompts of the simulated human pairs D_hf (from the SFT quotes)", at_least(1));
    v.param("sample_prompts", sample_prompts, "prompts of the sampling stage (held out, after the eval prompts)", at_least(1));
    v.param("validation_prompts", validation_prompts,
            "held-out prompts after the sampling ones (data/validation_prompts.jsonl) to tune settings on, so that "
            "the eval prompts only report",
            non_negative());
    v.param("rater_temperature", rater_temperature,
            "simulated raters prefer y1 with probability sigmoid((gold(y1) - gold(y2)) / this)", positive());
    v.param("rater_skips_ties", rater_skips_ties,
            "raters decline pairs whose two responses have the same gold reward (with VADER: mostly neither has a "
            "sentiment word), as annotators may answer 'no preference'; false: a coin flip labels them");
    v.param("human_responses", human_responses, kHumanResponsesNames,
            "responses of D_hf: corpus (people's text: a quote's own continuation or another quote's, as the paper's "
            "D_hf holds other policies' responses) or sft-policy (two samples of the SFT policy: on-policy pairs)");
    v.param("own_continuation_share", own_continuation_share,
            "corpus D_hf: chance that a pair's first response is its prompt's own continuation (else another "
            "quote's); the second is always another quote's",
            between(0.0, 1.0));
    v.param("pairs_per_prompt", pairs_per_prompt,
            "corpus D_hf: pairs drawn per pair prompt (people's text is plentiful; each pair draws anew)", at_least(1));
    v.param("check_prompts", check_prompts,
            "sampling prompts whose two SFT samples, judged by the gold reward, check the proxy on the pairs rso "
            "sample ranks (data/policy_pairs.jsonl; ties dropped); 0: none",
            non_negative());
    v.param("check_pairs_per_prompt", check_pairs_per_prompt,
            "pairs of SFT samples per check prompt (more pairs: a tighter estimate of the proxy's agreement)",
            at_least(1));
    v.param("early_policy_step", early_policy_step,
            "corpus D_hf also holds pairs of two samples of the SFT checkpoint at this step (a weaker policy whose "
            "text resembles the SFT policy's, as the paper's D_hf holds other models' responses); must be a step "
            "sft checkpoints at (sft.checkpoint_every); 0: none",
            non_negative());
    v.param("early_pair_prompts", early_pair_prompts,
            "with early_policy_step: the first this many pair prompts get early_pairs_per_prompt such pairs each "
            "(temperature 1)",
            at_least(1));
    v.param("early_pairs_per_prompt", early_pairs_per_prompt,
            "with early_policy_step: pairs per prompt, each of two fresh samples", at_least(1));
    v.param("vocab_size", vocab_size, "SentencePiece vocabulary trained on the corpus (256 byte pieces included)", at_least(300));
    v.operational("fortunes", fortunes, "directory of fortune files (Debian package 'fortunes')");
    v.operational("lexicon", lexicon, "VADER lexicon (npm package vader-sentiment, fetched by setup.sh)");
    v.operational("labelled", labelled,
                  "human-labelled sentences (imdb, yelp, amazon .json of the npm package sentiment) the judges are "
                  "scored on; empty or missing: not scored");
  }
};

// The architecture of a policy trained from scratch (the built-in task's).
struct ModelConfig {
  std::int64_t hidden_size = 256, num_layers = 4, num_heads = 4, num_kv_heads = 4, intermediate_size = 688;
  std::int64_t max_positions = 256;

  template <class V>
  void visit(V& v) {
    v.param("hidden_size", hidden_size, "width", at_least(8));
    v.param("num_layers", num_layers, "transformer blocks", at_least(1));
    v.param("num_heads", num_heads, "attention heads", at_least(1));
    v.param("num_kv_heads", num_kv_heads, "key/value heads (fewer: grouped-query attention)", at_least(1));
    v.param("intermediate_size", intermediate_size, "SwiGLU width", at_least(1));
    v.param("max_positions", max_positions, "longest sequence (prompt + response)", at_least(8));
  }
};

// How a training command optimises: batch, optimiser, schedule, clipping,
// checkpoints. Shared by the `train`, `sft` and `reward` sections; each has
// its own values. An "example" is a pair for train and reward, a (prompt,
// response) for sft.
struct OptimizationConfig {
  double learning_rate = 1e-5;
  std::int64_t micro_batch = 8;
  std::int64_t grad_accumulation = 1;
  std::int64_t global_batch = 0;
  std::int64_t steps = 1000;
  OptimizerKind optimizer = OptimizerKind::adamw;
  ScheduleKind schedule = ScheduleKind::constant;
  std::int64_t warmup_steps = 0;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;
  std::int64_t checkpoint_every = 100;

  template <class V>
  void visit_optimization(V& v) {
    v.param("learning_rate", learning_rate, "peak learning rate", positive());
    // How a global batch is cut is operational: a run may resume on another
    // rank count with the same global batch (the trainer hashes the global batch).
    v.operational("micro_batch", micro_batch, "examples per rank per forward/backward", at_least(1));
    v.operational("grad_accumulation", grad_accumulation, "micro-batches per optimiser step", at_least(1));
    v.param("global_batch", global_batch,
            "examples per optimiser step; must equal micro_batch x grad_accumulation x ranks; 0: that product",
            non_negative());
    v.param("steps", steps, "optimiser steps", at_least(1));
    v.param("optimizer", optimizer, kOptimizerKindNames, "adamw, or adafactor (the paper's; relative step off)");
    v.param("schedule", schedule, kScheduleKindNames, "after warm-up: constant, or cosine decay to 0 at the last step");
    v.param("warmup_steps", warmup_steps, "linear warm-up from 0 to learning_rate", non_negative());
    v.param("weight_decay", weight_decay, "decoupled weight decay (adamw)", non_negative());
    v.param("max_grad_norm", max_grad_norm, "clip the global gradient norm to this; 0: no clipping", non_negative());
    v.operational("checkpoint_every", checkpoint_every, "steps between checkpoints; 0: only at the end",
                  non_negative());
  }
};

struct TrainConfig : OptimizationConfig {
  LossKind loss = LossKind::sigmoid_norm;
  std::string pairs, policy, output;
  double gamma = 0.05;
  double sft_weight = 0.0;

  template <class V>
  void visit(V& v) {
    v.param("loss", loss, kLossKindNames,
            "sigmoid-norm (DPO), hinge-norm (RSO), hinge (SLiC), sigmoid");
    v.param("gamma", gamma, "γ scaling the log-ratio margin inside the loss", positive());
    v.param("sft_weight", sft_weight, "λ of the SLiC term -λ·log πθ(y_ref); 0 disables",
            non_negative());
    visit_optimization(v);
    v.operational("pairs", pairs,
                  "training pairs: a sample directory (manifest.json) or JSONL {prompt, chosen, rejected}; empty: "
                  "<run.dir>/sample");
    v.operational("policy", policy, "initial policy, also the reference pi_sft; empty: <run.dir>/sft/model.h5");
    v.operational("output", output, "metrics and the trained policy; empty: <run.dir>/train");
  }
};

struct SftConfig : OptimizationConfig {
  std::string data, eval_data, init, output;
  double eval_fraction = 0.05;
  std::int64_t eval_every = 0;

  SftConfig() {
    learning_rate = 1e-4;
    steps = 500;
  }

  template <class V>
  void visit(V& v) {
    visit_optimization(v);
    v.param("eval_fraction", eval_fraction,
            "share of the data held out for evaluation (seeded split) when sft.eval_data is empty", between(0.0, 0.5));
    v.operational("eval_every", eval_every, "steps between held-out evaluations; 0: only at the end", non_negative());
    v.operational("data", data, "SFT examples JSONL {prompt, response} (text or *_ids); empty: <run.dir>/data/sft.jsonl");
    v.operational("eval_data", eval_data, "held-out examples JSONL; empty: hold out sft.eval_fraction of the data");
    v.operational("init", init, "model to fine-tune; empty: <run.dir>/init/model.h5");
    v.operational("output", output, "metrics and the SFT policy (model.h5); empty: <run.dir>/sft");
  }
};

enum class RewardKind { pointwise, ranking };
constexpr EnumNames<RewardKind, 2> kRewardKindNames{{{RewardKind::pointwise, "pointwise"}, {RewardKind::ranking, "ranking"}}};

enum class RewardPooling { last, mean, sum, lexicon, contextual_lexicon, lexicon_modifiers };
constexpr EnumNames<RewardPooling, 6> kRewardPoolingNames{
    {{RewardPooling::last, "last"}, {RewardPooling::mean, "mean"}, {RewardPooling::sum, "sum"},
     {RewardPooling::lexicon, "lexicon"}, {RewardPooling::contextual_lexicon, "contextual-lexicon"},
     {RewardPooling::lexicon_modifiers, "lexicon-modifiers"}}};
// The poolings that learn a valence per token id.
constexpr bool learns_token_valences(RewardPooling pooling) {
  return pooling == RewardPooling::lexicon || pooling == RewardPooling::contextual_lexicon ||
         pooling == RewardPooling::lexicon_modifiers;
}

struct RewardConfig : OptimizationConfig {
  RewardKind kind = RewardKind::ranking;
  RewardPooling pooling = RewardPooling::last;
  std::string first_marker = "\n[A] ", second_marker = "\n[B] ";
  std::string pairs, eval_pairs, check_pairs, init, output;
  double eval_fraction = 0.1;
  std::int64_t eval_every = 0;
  std::int64_t frozen_layers = 0;
  std::int64_t frozen_state_cache_mib = 4096;
  double valence_l2 = 0;
  std::int64_t modifier_window = 3;
  double modifier_l2 = 0;

  RewardConfig() {
    learning_rate = 1e-4;
    steps = 500;
  }

  template <class V>
  void visit(V& v) {
    v.param("kind", kind, kRewardKindNames,
            "pointwise: Bradley-Terry r(x, y); ranking: the paper's rho(x, y1, y2), trained with random order flips");
    v.param("pooling", pooling, kRewardPoolingNames,
            "pointwise score read at the last token (Hugging Face's), or the mean or the sum of per-token scores (a "
            "learned lexicon: fits sentiment-like rewards from few pairs; with sum, the prompt's tokens add the same "
            "to both responses of a prompt, so pairs compare their responses only), or lexicon: sum with a learned "
            "valence per token id added to each token's score (word valences learnt as parameters, context from the "
            "backbone), or contextual-lexicon: lexicon with each valence scaled by a learned function of its context "
            "(the shape in which negation flips a word, as VADER's rules do; on the built-in task it ordered pi_sft's "
            "pairs as lexicon does, perf/RESULTS.md), or lexicon-modifiers: lexicon with each valence scaled by 1 + "
            "the sum of learned per-token modifiers of the reward.modifier_window tokens before it (VADER's shape: "
            "'not' flips a valence, 'very' raises it; learnt from the pairs, not listed); ranking models read the "
            "last token");
    visit_optimization(v);
    v.param("frozen_layers", frozen_layers,
            "the token embeddings and this many of the lowest layers keep reward.init's weights: backward stops "
            "above them, so a step costs less (a reward is a shallower function than language); 0: all train",
            non_negative());
    v.param("frozen_state_cache_mib", frozen_state_cache_mib,
            "pointwise models with every layer frozen: the backbone's states of each D_hf row are computed once and "
            "kept, in up to this many MiB per rank, so that a step runs only the final norm and the head (the demo's "
            "reward stage: 2.5 times faster); when the pairs need more, each step recomputes them; 0: never kept",
            non_negative());
    v.param("valence_l2", valence_l2,
            "the lexicon poolings: an L2 penalty (valence_l2 / 2) * sum of squared token valences added to the mean pair "
            "loss, a prior that a token carries no sentiment until the pairs show it does: without it, valences of "
            "words the noisy labels say little about fit the noise; 0: none",
            non_negative());
    v.param("modifier_window", modifier_window,
            "pooling lexicon-modifiers: how many tokens before a word its modifiers reach (VADER's negation looks "
            "three words back; a contraction such as \"don't\" can be three pieces)",
            between(1, 64));
    v.param("modifier_l2", modifier_l2,
            "pooling lexicon-modifiers: an L2 penalty (modifier_l2 / 2) * sum of squared token modifiers added to "
            "the mean pair loss, the prior that a token modifies nothing until the pairs show it does (without it, "
            "rare tokens' modifiers fit the labels' noise); 0: none",
            non_negative());
    v.param("first_marker", first_marker,
            "ranking input 'x <first_marker> y1 <second_marker> y2': text, or 'ids:' and comma-separated token ids");
    v.param("second_marker", second_marker, "see first_marker");
    v.param("eval_fraction", eval_fraction,
            "share of the pairs held out for evaluation (seeded split) when reward.eval_pairs is empty",
            between(0.0, 0.5));
    v.operational("eval_every", eval_every, "steps between held-out evaluations; 0: only at the end", non_negative());
    v.operational("pairs", pairs, "human preference pairs JSONL {prompt, chosen, rejected}; empty: <run.dir>/data/pairs.jsonl");
    v.operational("eval_pairs", eval_pairs, "held-out pairs JSONL; empty: hold out reward.eval_fraction of the pairs");
    v.operational("check_pairs", check_pairs,
                  "pairs of the policy's own samples labelled by a trusted judge (JSONL {prompt, chosen, rejected}), "
                  "on which the trained model's agreement is reported: how well it ranks what rso sample will give "
                  "it; empty: <run.dir>/data/policy_pairs.jsonl when it exists");
    v.operational("init", init,
                  "starting point: a policy (its backbone; the score head is initialised) or a reward model; empty: "
                  "<run.dir>/sft/model.h5");
    v.operational("output", output, "metrics and the reward model (model.h5); empty: <run.dir>/reward");
  }
};

struct EvalConfig {
  std::string policy, reference, reward_model, prompts, output;
  std::string dictionary = "/usr/share/dict/words";
  std::int64_t samples_per_prompt = 4;

  template <class V>
  void visit(V& v) {
    v.param("samples_per_prompt", samples_per_prompt,
            "responses per prompt from each policy (sampled with the sample section's temperature, top-k, top-p)",
            at_least(1));
    v.operational("policy", policy, "the trained policy; empty: <run.dir>/train/model.h5");
    v.operational("reference", reference, "the policy it is compared with; empty: <run.dir>/sft/model.h5");
    v.operational("reward_model", reward_model, "the proxy reward or ranking model; empty: <run.dir>/reward/model.h5");
    v.operational("prompts", prompts, "eval prompts JSONL {id, prompt}; empty: <run.dir>/data/eval_prompts.jsonl");
    v.operational("output", output, "report.json, report.md, samples.jsonl; empty: <run.dir>/eval");
    v.operational("dictionary", dictionary,
                  "word list (Debian package wamerican) for the share of the policies' words that are English words; "
                  "empty or missing: not reported");
  }
};

struct Config {
  RunConfig run;
  DistConfig dist;
  LogConfig log;
  TaskConfig task;
  ModelConfig model;
  SftConfig sft;
  RewardConfig reward;
  SampleConfig sample;
  TrainConfig train;
  EvalConfig eval;

  template <class V>
  void visit(V& v) {
    v.section("run", run, "where outputs go and how randomness is seeded");
    v.section("dist", dist, "devices and collectives");
    v.section("log", log, "logging and progress");
    v.section("task", task, "the built-in task: fortunes quotes, VADER gold reward");
    v.section("model", model, "architecture of the policy trained from scratch");
    v.section("sft", sft, "supervised fine-tuning of the policy");
    v.section("reward", reward, "reward or ranking model training");
    v.section("sample", sample, "candidate generation, rejection sampling, pairing");
    v.section("train", train, "preference optimisation");
    v.section("eval", eval, "win rates and KL of the trained policy against the SFT policy");
  }
};

// Load `path` (empty: defaults only) and apply `overrides` ("a.b=value",
// value parsed as YAML) in order. Throws ConfigError.
Config load_config(const std::string& path, const std::vector<std::string>& overrides = {});

// The fully resolved config as YAML; with `documented`, each field carries its
// description as a comment.
std::string to_yaml(const Config& config, bool documented = true);

// 16 hex digits over every `param` field (not operational ones): two runs with
// the same hash compute the same thing, whatever their paths or log levels.
std::string config_hash(const Config& config);

// Every `param` field as "section.key" -> its value as YAML writes it: what
// config_hash covers, readable, so that a changed result can name its cause.
std::map<std::string, std::string> config_params(const Config& config);

// config_params with the operational fields too (paths, logging): all a rank
// was told.
std::map<std::string, std::string> config_fields(const Config& config);

// The hash of the seed and the sections `keep(relevant, config)` copies into
// an otherwise default Config: what one stage's results depend on.
template <class Keep>
std::string stage_hash(const Config& config, Keep keep) {
  Config relevant;
  relevant.run.seed = config.run.seed;
  keep(relevant, config);
  return config_hash(relevant);
}

}  // namespace rso
