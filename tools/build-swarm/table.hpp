#pragma once
// Table: aligned text columns for the CLI's human output.

#include <ostream>
#include <string>
#include <vector>

namespace swarm::cli {

class Table {
 public:
  explicit Table(std::vector<std::string> headers);

  /// Adds one row; missing cells print empty, extra cells are dropped.
  void add_row(std::vector<std::string> cells);
  size_t rows() const { return m_rows.size(); }

  /// Writes the header and the rows, columns padded to their widest cell, two spaces apart,
  /// no trailing blanks; each line starts with `indent`.
  void print(std::ostream& out, const std::string& indent = "") const;

 private:
  std::vector<std::string> m_headers;
  std::vector<std::vector<std::string>> m_rows;
};

/// The number of terminal columns `s` takes: UTF-8 code points (continuation bytes not counted).
size_t display_width(const std::string& s);

}  // namespace swarm::cli
