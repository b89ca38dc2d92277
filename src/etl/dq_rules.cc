#include "etl/dq_rules.h"

#include <cctype>
#include <optional>

#include "common/strings.h"
#include "etl/job_spec.h"
#include "fmt/format.h"

namespace loch::etl {
namespace {

constexpr size_t kMaxTextBytes = 4 << 10;
constexpr size_t kMaxNameBytes = 255;
constexpr size_t kMaxValues = 100;
constexpr size_t kMaxNumberBytes = 64;
constexpr int64_t kMaxFreshnessSeconds = int64_t{100} * 366 * 86400;

int64_t SecondsPer(const std::string& unit);

struct Token {
  enum class Kind { kWord, kText, kNumber, kOp, kOpen, kClose, kComma, kNewline, kEnd };
  Kind kind = Kind::kEnd;
  std::string value;  // the word, the unescaped text, the number or the operator
  int line = 1, column = 1;
};

std::string Describe(const Token& token) {
  switch (token.kind) {
    case Token::Kind::kWord:
      return fmt::format("\"{}\"", token.value);
    case Token::Kind::kText:
      return "a quoted text";
    case Token::Kind::kNumber:
      return fmt::format("the number {}", token.value);
    case Token::Kind::kOp:
      return fmt::format("\"{}\"", token.value);
    case Token::Kind::kOpen:
      return "\"[\"";
    case Token::Kind::kClose:
      return "\"]\"";
    case Token::Kind::kComma:
      return "\",\"";
    case Token::Kind::kNewline:
      return "the end of the line";
    case Token::Kind::kEnd:
      return "the end of the rules";
  }
  return "?";
}

// Splits the rules text into tokens, one at a time.
class Tokenizer {
 public:
  explicit Tokenizer(std::string_view text) : text_(text) {}

  absl::StatusOr<Token> Next() {
    SkipBlanksAndComments();
    Token token;
    token.line = line_;
    token.column = column_;
    if (position_ == text_.size()) return token;
    const char c = text_[position_];
    if (c == '\n') {
      Advance();
      token.kind = Token::Kind::kNewline;
      return token;
    }
    if (c == '[' || c == ']' || c == ',') {
      Advance();
      token.kind =
          c == '[' ? Token::Kind::kOpen : (c == ']' ? Token::Kind::kClose : Token::Kind::kComma);
      return token;
    }
    if (c == '"') return QuotedText(token);
    if (c == '=' || c == '!' || c == '<' || c == '>') {
      token.kind = Token::Kind::kOp;
      token.value = std::string(1, c);
      Advance();
      if (position_ < text_.size() && text_[position_] == '=') {
        token.value += '=';
        Advance();
      } else if (c == '!') {
        return Error(token, "\"!\" must be \"!=\"");
      }
      return token;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '+' || c == '.') {
      return Number(token);
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      token.kind = Token::Kind::kWord;
      while (
          position_ < text_.size() &&
          (std::isalnum(static_cast<unsigned char>(text_[position_])) || text_[position_] == '_')) {
        token.value += text_[position_];
        Advance();
        if (token.value.size() > kMaxNameBytes) return Error(token, "a word is too long");
      }
      return token;
    }
    return Error(token, fmt::format("unexpected character \"{}\"",
                                    std::isprint(static_cast<unsigned char>(c))
                                        ? std::string(1, c)
                                        : fmt::format("\\x{:02x}", static_cast<unsigned char>(c))));
  }

  static absl::Status Error(const Token& at, std::string_view what) {
    return absl::InvalidArgumentError(
        fmt::format("rules line {}, column {}: {}", at.line, at.column, what));
  }

 private:
  void Advance() {
    if (text_[position_] == '\n') {
      ++line_;
      column_ = 1;
    } else {
      ++column_;
    }
    ++position_;
  }

  void SkipBlanksAndComments() {
    while (position_ < text_.size()) {
      const char c = text_[position_];
      if (c == ' ' || c == '\t' || c == '\r') {
        Advance();
      } else if (c == '#') {
        while (position_ < text_.size() && text_[position_] != '\n') Advance();
      } else {
        return;
      }
    }
  }

  absl::StatusOr<Token> QuotedText(Token& token) {
    token.kind = Token::Kind::kText;
    Advance();  // the opening quote
    while (true) {
      if (position_ == text_.size()) return Error(token, "a quoted text is not closed");
      const char c = text_[position_];
      Advance();
      if (c == '"') return token;
      if (c == '\\') {
        if (position_ == text_.size()) return Error(token, "a quoted text is not closed");
        const char escaped = text_[position_];
        if (escaped != '"' && escaped != '\\') {
          return Error(token, "in a quoted text, \\ escapes only \" and \\");
        }
        Advance();
        token.value += escaped;
      } else {
        token.value += c;
      }
      if (token.value.size() > kMaxTextBytes) {
        return Error(token, fmt::format("a quoted text is over {} bytes", kMaxTextBytes));
      }
    }
  }

  // [+-] digits [. digits] [(e|E) [+-] digits], or [+-] . digits ...
  absl::StatusOr<Token> Number(Token& token) {
    token.kind = Token::Kind::kNumber;
    auto take = [&](auto accept) {
      size_t taken = 0;
      while (position_ < text_.size() && accept(text_[position_])) {
        token.value += text_[position_];
        Advance();
        ++taken;
      }
      return taken;
    };
    auto digit = [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; };
    auto sign = [&] {
      if (position_ < text_.size() && (text_[position_] == '-' || text_[position_] == '+')) {
        token.value += text_[position_];
        Advance();
      }
    };
    sign();
    size_t digits = take(digit);
    if (position_ < text_.size() && text_[position_] == '.') {
      token.value += '.';
      Advance();
      digits += take(digit);
    }
    if (digits == 0) return Error(token, "a number needs digits");
    if (position_ < text_.size() && (text_[position_] == 'e' || text_[position_] == 'E')) {
      token.value += 'e';
      Advance();
      sign();
      if (take(digit) == 0) return Error(token, "a number's exponent needs digits");
    }
    if (position_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[position_])) ||
                                     text_[position_] == '_' || text_[position_] == '.')) {
      return Error(token, "a number runs into other characters");
    }
    if (token.value.size() > kMaxNumberBytes) return Error(token, "a number is too long");
    return token;
  }

  std::string_view text_;
  size_t position_ = 0;
  int line_ = 1, column_ = 1;
};

// A parser with one token of lookahead.
class Parser {
 public:
  explicit Parser(std::string_view text) : tokens_(text) {}

  absl::StatusOr<std::vector<DqRule>> Rules() {
    RETURN_IF_ERROR(Advance());
    RETURN_IF_ERROR(SkipSeparators(/*commas=*/false));
    bool bracketed = false;
    if (IsWord("rules")) {  // DQDL's Rules = [ ... ]
      RETURN_IF_ERROR(Advance());
      RETURN_IF_ERROR(ExpectOp("="));
      RETURN_IF_ERROR(SkipSeparators(false));
      if (current_.kind != Token::Kind::kOpen) return Expected("\"[\" after \"Rules =\"");
      RETURN_IF_ERROR(Advance());
      bracketed = true;
    }
    std::vector<DqRule> rules;
    while (true) {
      RETURN_IF_ERROR(SkipSeparators(/*commas=*/!rules.empty()));
      if (current_.kind == Token::Kind::kEnd) {
        if (bracketed) return Expected("\"]\" closing the rules");
        break;
      }
      if (bracketed && current_.kind == Token::Kind::kClose) {
        RETURN_IF_ERROR(Advance());
        RETURN_IF_ERROR(SkipSeparators(false));
        if (current_.kind != Token::Kind::kEnd) return Expected("nothing after \"]\"");
        break;
      }
      ASSIGN_OR_RETURN(DqRule rule, Rule());
      rules.push_back(std::move(rule));
      if (rules.size() > kMaxRules) {
        return Tokenizer::Error(current_, fmt::format("more than {} rules", kMaxRules));
      }
      if (current_.kind != Token::Kind::kNewline && current_.kind != Token::Kind::kComma &&
          current_.kind != Token::Kind::kEnd &&
          !(bracketed && current_.kind == Token::Kind::kClose)) {
        return Expected("the end of the rule");
      }
    }
    return rules;
  }

 private:
  absl::Status Advance() {
    ASSIGN_OR_RETURN(current_, tokens_.Next());
    return absl::OkStatus();
  }
  absl::Status SkipSeparators(bool commas) {
    while (current_.kind == Token::Kind::kNewline ||
           (commas && current_.kind == Token::Kind::kComma)) {
      RETURN_IF_ERROR(Advance());
    }
    return absl::OkStatus();
  }
  bool IsWord(std::string_view lower) const {
    return current_.kind == Token::Kind::kWord && AsciiLower(current_.value) == lower;
  }
  absl::Status Expected(std::string_view what) const {
    return Tokenizer::Error(current_,
                            fmt::format("expected {}, found {}", what, Describe(current_)));
  }
  absl::Status ExpectOp(std::string_view op) {
    if (current_.kind != Token::Kind::kOp || current_.value != op) {
      return Expected(fmt::format("\"{}\"", op));
    }
    return Advance();
  }
  absl::StatusOr<std::string> Column() {
    if (current_.kind != Token::Kind::kText) return Expected("a column name in double quotes");
    if (current_.value.empty() || current_.value.size() > kMaxNameBytes) {
      return Tokenizer::Error(current_, "a column name is empty or too long");
    }
    std::string name = current_.value;
    RETURN_IF_ERROR(Advance());
    return name;
  }
  absl::StatusOr<std::string> Text(std::string_view what) {
    if (current_.kind != Token::Kind::kText) return Expected(what);
    std::string text = current_.value;
    RETURN_IF_ERROR(Advance());
    return text;
  }
  absl::StatusOr<DqLiteral> Literal(bool numbers_only) {
    if (current_.kind == Token::Kind::kNumber ||
        (!numbers_only && current_.kind == Token::Kind::kText)) {
      DqLiteral literal{current_.kind == Token::Kind::kText, current_.value};
      RETURN_IF_ERROR(Advance());
      return literal;
    }
    return Expected(numbers_only ? "a number" : "a number or a quoted text");
  }
  absl::StatusOr<std::string> CompareOp() {
    if (current_.kind != Token::Kind::kOp) return Expected("one of = != < <= > >=");
    std::string op = current_.value;
    RETURN_IF_ERROR(Advance());
    return op;
  }

  // between A and B | in [..] | matches "re" | op A; `full` allows in and matches, and texts.
  absl::Status Condition(DqRule& rule, bool full) {
    const bool numbers_only = !full;
    if (IsWord("between")) {
      RETURN_IF_ERROR(Advance());
      rule.condition = DqRule::Condition::kBetween;
      ASSIGN_OR_RETURN(DqLiteral low, Literal(numbers_only));
      if (!IsWord("and")) return Expected("\"and\"");
      RETURN_IF_ERROR(Advance());
      ASSIGN_OR_RETURN(DqLiteral high, Literal(numbers_only));
      rule.values = {std::move(low), std::move(high)};
      return absl::OkStatus();
    }
    if (full && IsWord("in")) {
      RETURN_IF_ERROR(Advance());
      rule.condition = DqRule::Condition::kIn;
      if (current_.kind != Token::Kind::kOpen) return Expected("\"[\"");
      RETURN_IF_ERROR(Advance());
      while (true) {
        ASSIGN_OR_RETURN(DqLiteral value, Literal(false));
        rule.values.push_back(std::move(value));
        if (rule.values.size() > kMaxValues) {
          return Tokenizer::Error(current_, fmt::format("more than {} values", kMaxValues));
        }
        if (current_.kind == Token::Kind::kClose) return Advance();
        if (current_.kind != Token::Kind::kComma) return Expected("\",\" or \"]\"");
        RETURN_IF_ERROR(Advance());
      }
    }
    if (full && IsWord("matches")) {
      RETURN_IF_ERROR(Advance());
      rule.condition = DqRule::Condition::kMatches;
      ASSIGN_OR_RETURN(rule.text, Text("a regular expression in double quotes"));
      return absl::OkStatus();
    }
    if (current_.kind == Token::Kind::kOp) {
      rule.condition = DqRule::Condition::kCompare;
      ASSIGN_OR_RETURN(rule.op, CompareOp());
      ASSIGN_OR_RETURN(DqLiteral value, Literal(numbers_only));
      rule.values = {std::move(value)};
      return absl::OkStatus();
    }
    return Expected(full ? "between, in, matches or a comparison" : "between or a comparison");
  }

  absl::StatusOr<DqRule> Rule() {
    DqRule rule;
    rule.line = current_.line;
    if (current_.kind != Token::Kind::kWord) return Expected("a rule");
    const std::string keyword = AsciiLower(current_.value);
    const Token at = current_;
    RETURN_IF_ERROR(Advance());
    if (keyword == "iscomplete") {
      rule.kind = DqRule::Kind::kIsComplete;
      ASSIGN_OR_RETURN(std::string column, Column());
      rule.columns.push_back(std::move(column));
    } else if (keyword == "isunique") {
      rule.kind = DqRule::Kind::kIsUnique;
      do {
        ASSIGN_OR_RETURN(std::string column, Column());
        rule.columns.push_back(std::move(column));
        if (rule.columns.size() > 64) return Tokenizer::Error(current_, "at most 64 columns");
      } while (current_.kind == Token::Kind::kText);
    } else if (keyword == "columnvalues") {
      rule.kind = DqRule::Kind::kColumnValues;
      ASSIGN_OR_RETURN(std::string column, Column());
      rule.columns.push_back(std::move(column));
      RETURN_IF_ERROR(Condition(rule, /*full=*/true));
    } else if (keyword == "rowcount") {
      rule.kind = DqRule::Kind::kRowCount;
      RETURN_IF_ERROR(Condition(rule, /*full=*/false));
    } else if (keyword == "freshness") {
      rule.kind = DqRule::Kind::kFreshness;
      ASSIGN_OR_RETURN(std::string column, Column());
      rule.columns.push_back(std::move(column));
      if (current_.kind != Token::Kind::kOp || (current_.value != "<=" && current_.value != "<")) {
        return Expected("\"<=\" or \"<\"");
      }
      ASSIGN_OR_RETURN(rule.op, CompareOp());
      const std::optional<int64_t> amount = current_.kind == Token::Kind::kNumber
                                                ? ParseInteger(current_.value, 1, 1000000000)
                                                : std::nullopt;
      if (!amount) return Expected("a whole number from 1");
      rule.amount = *amount;
      RETURN_IF_ERROR(Advance());
      std::string unit = current_.kind == Token::Kind::kWord ? AsciiLower(current_.value) : "";
      if (unit.ends_with('s')) unit.pop_back();
      if (unit != "second" && unit != "minute" && unit != "hour" && unit != "day") {
        return Expected("seconds, minutes, hours or days");
      }
      rule.unit = unit;
      if (rule.amount > kMaxFreshnessSeconds / SecondsPer(unit)) {
        return Tokenizer::Error(current_, "a freshness of more than 100 years");
      }
      RETURN_IF_ERROR(Advance());
    } else if (keyword == "referentialintegrity") {
      rule.kind = DqRule::Kind::kReferentialIntegrity;
      ASSIGN_OR_RETURN(std::string column, Column());
      rule.columns.push_back(std::move(column));
      const Token reference = current_;
      ASSIGN_OR_RETURN(rule.text, Text("\"db.table.column\""));
      const std::vector<std::string_view> parts = Split(rule.text, '.');
      if (parts.size() != 3 || parts[0].empty() || parts[1].empty() || parts[2].empty()) {
        return Tokenizer::Error(reference, "the reference must be \"db.table.column\"");
      }
    } else if (keyword == "customsql") {
      rule.kind = DqRule::Kind::kCustomSql;
      ASSIGN_OR_RETURN(rule.text, Text("the SQL in double quotes"));
      if (rule.text.find_first_not_of(" \t\r\n") == std::string::npos) {
        return Tokenizer::Error(at, "CustomSql needs a query");
      }
      rule.condition = DqRule::Condition::kCompare;
      ASSIGN_OR_RETURN(rule.op, CompareOp());
      ASSIGN_OR_RETURN(DqLiteral value, Literal(/*numbers_only=*/true));
      rule.values = {std::move(value)};
    } else {
      return Tokenizer::Error(
          at, fmt::format("unknown rule \"{}\"; the rules are IsComplete, IsUnique, ColumnValues, "
                          "RowCount, Freshness, ReferentialIntegrity and CustomSql",
                          at.value));
    }
    if (IsWord("severity")) {
      RETURN_IF_ERROR(Advance());
      if (IsWord("warn")) {
        rule.warn = true;
      } else if (!IsWord("error")) {
        return Expected("error or warn");
      }
      RETURN_IF_ERROR(Advance());
    }
    return rule;
  }

  Tokenizer tokens_;
  Token current_;
};

std::string Quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string LiteralText(const DqLiteral& literal) {
  return literal.is_text ? Quoted(literal.value) : literal.value;
}

std::string LiteralSql(const DqLiteral& literal) {
  return literal.is_text ? QuoteLiteral(literal.value) : literal.value;
}

std::string ConditionText(const DqRule& rule) {
  switch (rule.condition) {
    case DqRule::Condition::kBetween:
      return fmt::format("between {} and {}", LiteralText(rule.values[0]),
                         LiteralText(rule.values[1]));
    case DqRule::Condition::kIn: {
      std::vector<std::string> values;
      for (const DqLiteral& value : rule.values) values.push_back(LiteralText(value));
      return fmt::format("in [{}]", Join(values, ", "));
    }
    case DqRule::Condition::kMatches:
      return "matches " + Quoted(rule.text);
    case DqRule::Condition::kCompare:
      return rule.op + " " + LiteralText(rule.values[0]);
    case DqRule::Condition::kNone:
      return "";
  }
  return "";
}

// SQL true when `value_sql` satisfies the rule's condition.
std::string ConditionSql(const DqRule& rule, const std::string& value_sql) {
  switch (rule.condition) {
    case DqRule::Condition::kBetween:
      return fmt::format("{} BETWEEN {} AND {}", value_sql, LiteralSql(rule.values[0]),
                         LiteralSql(rule.values[1]));
    case DqRule::Condition::kIn: {
      std::vector<std::string> values;
      for (const DqLiteral& value : rule.values) values.push_back(LiteralSql(value));
      return fmt::format("{} IN ({})", value_sql, Join(values, ", "));
    }
    case DqRule::Condition::kMatches:
      return fmt::format("regexp_full_match(CAST({} AS VARCHAR), {})", value_sql,
                         QuoteLiteral(rule.text));
    case DqRule::Condition::kCompare:
      return fmt::format("{} {} {}", value_sql, rule.op == "!=" ? "<>" : rule.op,
                         LiteralSql(rule.values[0]));
    case DqRule::Condition::kNone:
      return "true";
  }
  return "true";
}

// The offset of the first byte that is not part of well-formed UTF-8, if any.
std::optional<size_t> InvalidUtf8At(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto byte = static_cast<unsigned char>(text[i]);
    size_t length = 1;
    unsigned char low = 0x80, high = 0xBF;  // the second byte's range
    if (byte < 0x80) {
      ++i;
      continue;
    } else if (byte >= 0xC2 && byte <= 0xDF) {
      length = 2;
    } else if (byte >= 0xE0 && byte <= 0xEF) {
      length = 3;
      if (byte == 0xE0) low = 0xA0;
      if (byte == 0xED) high = 0x9F;  // no surrogates
    } else if (byte >= 0xF0 && byte <= 0xF4) {
      length = 4;
      if (byte == 0xF0) low = 0x90;
      if (byte == 0xF4) high = 0x8F;
    } else {
      return i;
    }
    if (i + length > text.size()) return i;
    for (size_t k = 1; k < length; ++k) {
      const auto next = static_cast<unsigned char>(text[i + k]);
      if (next < (k == 1 ? low : 0x80) || next > (k == 1 ? high : 0xBF)) return i;
    }
    i += length;
  }
  return std::nullopt;
}

int64_t SecondsPer(const std::string& unit) {
  if (unit == "minute") return 60;
  if (unit == "hour") return 3600;
  if (unit == "day") return 86400;
  return 1;
}

}  // namespace

std::string DqRule::ToText() const {
  std::vector<std::string> columns_text;
  for (const std::string& column : columns) columns_text.push_back(Quoted(column));
  std::string text;
  switch (kind) {
    case Kind::kIsComplete:
      text = "IsComplete " + columns_text[0];
      break;
    case Kind::kIsUnique:
      text = "IsUnique " + Join(columns_text, " ");
      break;
    case Kind::kColumnValues:
      text = "ColumnValues " + columns_text[0] + " " + ConditionText(*this);
      break;
    case Kind::kRowCount:
      text = "RowCount " + ConditionText(*this);
      break;
    case Kind::kFreshness:
      text = fmt::format("Freshness {} {} {} {}s", columns_text[0], op, amount, unit);
      break;
    case Kind::kReferentialIntegrity:
      text = fmt::format("ReferentialIntegrity {} {}", columns_text[0], Quoted(this->text));
      break;
    case Kind::kCustomSql:
      text = "CustomSql " + Quoted(this->text) + " " + ConditionText(*this);
      break;
  }
  return warn ? text + " severity warn" : text;
}

absl::StatusOr<std::vector<DqRule>> ParseRules(std::string_view text) {
  if (text.size() > kMaxRulesBytes) {
    return absl::InvalidArgumentError(
        fmt::format("the rules are {} bytes; the limit is {}", text.size(), kMaxRulesBytes));
  }
  if (const std::optional<size_t> bad = InvalidUtf8At(text)) {
    return absl::InvalidArgumentError(
        fmt::format("the rules are not UTF-8 text (byte {})", *bad + 1));
  }
  return Parser(text).Rules();
}

std::string RulesText(const std::vector<DqRule>& rules) {
  std::string text;
  for (const DqRule& rule : rules) text += rule.ToText() + "\n";
  return text;
}

std::string RuleSql(const DqRule& rule, std::string_view output, int64_t now_micros) {
  std::vector<std::string> columns;
  for (const std::string& column : rule.columns) columns.push_back(QuoteIdentifier(column));
  // Rows that break a row-level rule: the rule passes when there are none.
  auto failing_rows = [&](const std::string& where) {
    return fmt::format(
        "SELECT count(*) = 0 AS passed, CAST(count(*) AS VARCHAR) AS observed FROM {} AS o "
        "WHERE {}",
        output, where);
  };
  switch (rule.kind) {
    case DqRule::Kind::kIsComplete:
      return failing_rows(fmt::format("o.{} IS NULL", columns[0]));
    case DqRule::Kind::kIsUnique: {
      std::vector<std::string> present;
      for (const std::string& column : columns) present.push_back(column + " IS NOT NULL");
      return fmt::format(
          "SELECT count(*) = 0 AS passed, CAST(count(*) AS VARCHAR) AS observed FROM (SELECT 1 "
          "FROM {} WHERE {} GROUP BY {} HAVING count(*) > 1)",
          output, Join(present, " AND "), Join(columns, ", "));
    }
    case DqRule::Kind::kColumnValues:
      return failing_rows(fmt::format("o.{0} IS NOT NULL AND ({1}) IS NOT TRUE", columns[0],
                                      ConditionSql(rule, "o." + columns[0])));
    case DqRule::Kind::kRowCount:
      return fmt::format(
          "SELECT coalesce({}, false) AS passed, CAST(count(*) AS VARCHAR) AS observed FROM {}",
          ConditionSql(rule, "count(*)"), output);
    case DqRule::Kind::kFreshness:
      return fmt::format(
          "SELECT coalesce(max(CAST({0} AS TIMESTAMP)) {1} make_timestamp(CAST({2} AS BIGINT)) - "
          "to_seconds(CAST({3} AS BIGINT)), false) AS passed, CAST(max({0}) AS VARCHAR) AS "
          "observed FROM {4}",
          columns[0], rule.op == "<" ? ">" : ">=", now_micros, rule.amount * SecondsPer(rule.unit),
          output);
    case DqRule::Kind::kReferentialIntegrity: {
      const std::vector<std::string_view> parts = Split(rule.text, '.');
      return failing_rows(fmt::format(
          "o.{0} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {1}.{2} AS r WHERE r.{3} = o.{0})",
          columns[0], QuoteIdentifier(parts[0]), QuoteIdentifier(parts[1]),
          QuoteIdentifier(parts[2])));
    }
    case DqRule::Kind::kCustomSql:
      return fmt::format(
          "WITH output AS (SELECT * FROM {}) SELECT coalesce({}, false) AS passed, CAST(v AS "
          "VARCHAR) AS observed FROM (SELECT (\n{}\n) AS v)",
          output, ConditionSql(rule, "v"), WithoutFinalSemicolons(rule.text));
  }
  return "SELECT false, 'unknown rule'";
}

}  // namespace loch::etl
