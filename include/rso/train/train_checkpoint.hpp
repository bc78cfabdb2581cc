// Training checkpoints, two-phase (DESIGN.md): the state goes into
// <dir>/step_NNNNNNNN.tmp/, is synced, the directory is renamed to
// step_NNNNNNNN/ and only then does <dir>/latest name it (atomically). A
// crash at any point leaves the previous checkpoint usable; leftover .tmp
// directories are ignored and removed by the next writer.
//
// state.h5 (format "rso.train_state" v1): @step, @config_hash,
// /parameters/<name> (float32 master weights), /optimizer/<name>/<slot>.
// Written and read by parameter name, so any model (policy or reward model)
// checkpoints the same way.
// Data-parallel ranks hold identical state, so rank 0 writes it; the data
// cursor is the step itself (batches are a function of the step) and the
// random streams are keyed by step and epoch, so nothing else is needed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <vector>

#include "rso/train/optimizer.hpp"

namespace rso::train {

// Rank 0 only. Returns the committed directory.
std::string write_train_checkpoint(const std::string& directory, std::int64_t step,
                                   const std::vector<NamedParameter>& parameters, const Optimizer& optimizer,
                                   const std::string& config_hash);

// The newest committed checkpoint in `directory` (by its `latest` file), if any.
std::optional<std::string> latest_train_checkpoint(const std::string& directory);

// The committed checkpoint of `step` in `directory`, if there is one.
std::optional<std::string> train_checkpoint_at(const std::string& directory, std::int64_t step);

// The weights alone (no optimiser state, any config hash): a checkpoint read
// as a snapshot of the model at its step.
void load_train_checkpoint_weights(const std::string& checkpoint, const std::vector<NamedParameter>& parameters);

// Loads weights and optimiser state; returns the step. A checkpoint written
// for other parameters (config hash) is a ConfigError.
std::int64_t load_train_checkpoint(const std::string& checkpoint, const std::vector<NamedParameter>& parameters,
                                   Optimizer& optimizer, const std::string& config_hash);

}  // namespace rso::train
