#pragma once
// Small text helpers shared by the parsers (ASCII only: the formats they read are ASCII).

#include <string>
#include <string_view>
#include <vector>

namespace swarm {

/// True for a non-empty run of 0-9.
bool all_digits(std::string_view s);

/// `s` with A-Z turned into a-z; every other byte unchanged.
std::string ascii_lower(std::string_view s);

/// The words of `s`, split on ASCII white space (space, tab, newline, CR, VT, FF); no empty words.
std::vector<std::string> split_words(std::string_view s);

}  // namespace swarm
