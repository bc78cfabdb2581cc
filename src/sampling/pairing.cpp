#include "rso/sampling/pairing.hpp"

#include <cmath>

#include "rso/core/error.hpp"

namespace rso::sampling {

namespace {

std::vector<LabelledPair> label(const std::vector<std::pair<std::size_t, std::size_t>>& games, const Labeller& labeller) {
  std::vector<LabelledPair> pairs;
  if (games.empty()) return pairs;
  const std::vector<bool> first_wins = labeller(games);
  if (first_wins.size() != games.size())
    RSO_THROW(InternalError, "labeller returned " + std::to_string(first_wins.size()) + " labels for " +
                                 std::to_string(games.size()) + " games");
  for (std::size_t g = 0; g < games.size(); ++g)
    pairs.push_back(first_wins[g] ? LabelledPair{games[g].first, games[g].second}
                                  : LabelledPair{games[g].second, games[g].first});
  return pairs;
}

std::vector<LabelledPair> first_round(const std::vector<std::size_t>& accepted,
                                      const std::vector<std::string>& responses, const Labeller& labeller,
                                      RandomStream& stream) {
  const std::vector<std::size_t> order = stream.permutation(accepted.size());
  std::vector<std::size_t> waiting;
  for (std::size_t k : order) waiting.push_back(accepted[k]);
  std::vector<std::pair<std::size_t, std::size_t>> games;
  std::vector<bool> used(waiting.size(), false);
  for (std::size_t i = 0; i < waiting.size(); ++i) {
    if (used[i]) continue;
    // The next unused candidate with a different response.
    for (std::size_t j = i + 1; j < waiting.size(); ++j) {
      if (used[j] || responses[waiting[j]] == responses[waiting[i]]) continue;
      games.emplace_back(waiting[i], waiting[j]);
      used[i] = used[j] = true;
      break;
    }
  }
  return label(games, labeller);
}

std::vector<LabelledPair> tournament(const std::vector<std::size_t>& accepted,
                                     const std::vector<std::string>& responses, const Labeller& labeller) {
  std::vector<LabelledPair> pairs;
  std::vector<std::size_t> level = accepted;
  while (level.size() > 1) {
    std::vector<std::pair<std::size_t, std::size_t>> games;
    std::vector<std::size_t> next;
    for (std::size_t i = 0; i + 1 < level.size(); i += 2) {
      if (responses[level[i]] == responses[level[i + 1]])
        next.push_back(level[i]);  // identical: no game, the first advances
      else
        games.emplace_back(level[i], level[i + 1]);
    }
    const std::vector<LabelledPair> played = label(games, labeller);
    // Winners advance in bracket order: rebuild the level in game order.
    std::vector<std::size_t> winners;
    std::size_t game = 0;
    for (std::size_t i = 0; i + 1 < level.size(); i += 2) {
      if (responses[level[i]] == responses[level[i + 1]]) {
        winners.push_back(level[i]);
      } else {
        winners.push_back(played[game].chosen);
        pairs.push_back(played[game]);
        ++game;
      }
    }
    if (level.size() % 2 == 1) winners.push_back(level.back());  // bye
    level = std::move(winners);
  }
  return pairs;
}

}  // namespace

std::vector<LabelledPair> make_pairs(const std::vector<std::size_t>& accepted, const std::vector<std::string>& responses,
                                     PairStrategy strategy, const Labeller& labeller, RandomStream& stream) {
  for (std::size_t index : accepted)
    if (index >= responses.size()) RSO_THROW(InternalError, "accepted index beyond the candidates");
  return strategy == PairStrategy::tournament ? tournament(accepted, responses, labeller)
                                              : first_round(accepted, responses, labeller, stream);
}

Labeller label_by_reward(const std::vector<double>& rewards, RandomStream& stream) {
  return [&rewards, &stream](const std::vector<std::pair<std::size_t, std::size_t>>& games) {
    std::vector<bool> first_wins;
    for (const auto& [a, b] : games)
      first_wins.push_back(rewards[a] != rewards[b] ? rewards[a] > rewards[b] : stream.uniform() < 0.5);
    return first_wins;
  };
}

Labeller label_by_bradley_terry(const std::vector<double>& rewards, bool sample, RandomStream& stream) {
  return [&rewards, sample, &stream](const std::vector<std::pair<std::size_t, std::size_t>>& games) {
    std::vector<bool> first_wins;
    for (const auto& [a, b] : games) {
      const double p = 1.0 / (1.0 + std::exp(rewards[b] - rewards[a]));  // sigma(r_a - r_b)
      first_wins.push_back(sample ? stream.uniform() < p : (p != 0.5 ? p > 0.5 : stream.uniform() < 0.5));
    }
    return first_wins;
  };
}

}  // namespace rso::sampling
