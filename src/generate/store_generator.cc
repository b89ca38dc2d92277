#include "generate/store_generator.h"

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <vector>

#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace loch {
namespace {

// splitmix64: tiny, fast, and identical on every platform (unlike std:: distributions).
class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  int64_t Uniform(int64_t n) { return static_cast<int64_t>(Next() % static_cast<uint64_t>(n)); }
  double Unit() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Chance(double p) { return Unit() < p; }

 private:
  uint64_t state_;
};

// Days since 1970-01-01 for a civil date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::string DateOf(int64_t days) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(days - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return fmt::format("{:04}-{:02}-{:02}", static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d);
}

// "YYYY-MM-DD HH:MM:SS.mmm" (UTC): the form DuckDB's JSON reader types as TIMESTAMP.
std::string TimestampOf(int64_t day, int64_t millis_of_day) {
  const int64_t s = millis_of_day / 1000;
  return fmt::format("{} {:02}:{:02}:{:02}.{:03}", DateOf(day), s / 3600, (s / 60) % 60, s % 60,
                     millis_of_day % 1000);
}

class Output {
 public:
  static absl::StatusOr<std::unique_ptr<Output>> Create(const std::filesystem::path& path) {
    std::error_code error;
    std::filesystem::create_directories(path.parent_path(), error);
    FILE* file = std::fopen(path.c_str(), "wb");
    if (file == nullptr)
      return absl::InternalError(fmt::format("cannot write \"{}\"", path.string()));
    return std::unique_ptr<Output>(new Output(file, path.string()));
  }
  ~Output() {
    if (file_ != nullptr) std::fclose(file_);
  }
  void Line(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), file_);
    std::fputc('\n', file_);
    bytes_ += static_cast<int64_t>(text.size()) + 1;
  }
  absl::Status Close() {
    const bool failed = std::ferror(file_) != 0;
    const bool close_failed = std::fclose(file_) != 0;
    file_ = nullptr;
    if (failed || close_failed)
      return absl::InternalError(fmt::format("error writing \"{}\"", path_));
    return absl::OkStatus();
  }
  int64_t bytes() const { return bytes_; }

 private:
  Output(FILE* file, std::string path) : file_(file), path_(std::move(path)) {}
  FILE* file_;
  std::string path_;
  int64_t bytes_ = 0;
};

constexpr const char* kCategories[] = {"electronics", "home",    "outdoor",
                                       "toys",        "fashion", "kitchen"};
constexpr const char* kDevices[] = {"mobile", "desktop", "tablet"};
constexpr const char* kReferrers[] = {"direct", "newsletter", "search", "social", "partner"};
constexpr const char* kAdjectives[] = {"Smart", "Compact", "Deluxe", "Wireless", "Classic", "Pro"};
constexpr const char* kProducts[] = {"Blender",  "Headphones", "Tent",  "Lamp",
                                     "Backpack", "Drone",      "Kettle"};

struct Deal {
  int64_t id;
  int64_t day;
  std::string title;
  int64_t price_cents;
  double click_rate, cart_rate, buy_rate;  // per-deal attractiveness: conversion differs by deal
};

std::string Money(int64_t cents) { return fmt::format("{}.{:02}", cents / 100, cents % 100); }

}  // namespace

absl::StatusOr<GeneratorSummary> GenerateStore(const GeneratorOptions& options,
                                               const std::function<void(double)>& progress) {
  if (options.out_dir.empty()) return absl::InvalidArgumentError("--out is required");
  if (options.events < 1) return absl::InvalidArgumentError("--events must be at least 1");
  if (options.dirty_fraction < 0 || options.dirty_fraction > 1) {
    return absl::InvalidArgumentError(
        fmt::format("--dirty must be between 0 and 1, not {}", options.dirty_fraction));
  }
  if (options.days < 1) return absl::InvalidArgumentError("days must be at least 1");
  int y = 0;
  unsigned m = 0, d = 0;
  if (std::sscanf(options.first_day.c_str(), "%d-%u-%u", &y, &m, &d) != 3 || m < 1 || m > 12 ||
      d < 1 || d > 31) {
    return absl::InvalidArgumentError(
        fmt::format("first day \"{}\" is not YYYY-MM-DD", options.first_day));
  }
  const int64_t first_day = DaysFromCivil(y, m, d);
  const std::filesystem::path out(options.out_dir);
  Random random(options.seed);
  GeneratorSummary summary;

  // Deals: one per day.
  std::vector<Deal> deals;
  ASSIGN_OR_RETURN(auto deals_out, Output::Create(out / "deals.json"));
  for (int i = 0; i < options.days; ++i) {
    Deal deal{1000 + i,
              first_day + i,
              fmt::format("{} {}", kAdjectives[random.Uniform(6)], kProducts[random.Uniform(7)]),
              1999 + random.Uniform(30000),
              0.35 + 0.4 * random.Unit(),
              0.25 + 0.35 * random.Unit(),
              0.2 + 0.5 * random.Unit()};
    deals.push_back(deal);
    nlohmann::json row = {{"deal_id", deal.id},
                          {"day", DateOf(deal.day)},
                          {"title", deal.title},
                          {"category", kCategories[random.Uniform(6)]},
                          {"price", nlohmann::json::parse(Money(deal.price_cents))},
                          {"list_price", nlohmann::json::parse(Money(deal.price_cents * 2))},
                          {"stock", 500 + random.Uniform(5000)}};
    deals_out->Line(row.dump());
  }
  RETURN_IF_ERROR(deals_out->Close());
  summary.deals = static_cast<int64_t>(deals.size());
  summary.bytes += deals_out->bytes();

  // Sessions: each views the day's deal and may click, add to cart and buy.
  ASSIGN_OR_RETURN(auto orders_out, Output::Create(out / "orders.json"));
  std::map<int64_t, std::unique_ptr<Output>> events_out;  // by day
  std::map<std::string, int64_t> revenue_cents, orders_per_day;
  int64_t funnel[4] = {0, 0, 0, 0};
  std::map<int64_t, std::pair<int64_t, int64_t>> deal_sessions;  // deal -> (viewed, bought)
  const char* kStages[] = {"view", "click", "add_to_cart", "purchase"};
  int64_t next_event_id = 1, next_order_id = 1;
  double dirty_credit = 0;

  auto dirty_event = [&](Output& output, int64_t day) {
    switch (random.Uniform(3)) {
      case 0:  // unparseable timestamp
        output.Line(fmt::format(
            R"({{"event_id":{},"session_id":"s-dirty-{}","user_id":{},"deal_id":{},"event_type":"view","ts":"{}","device":"mobile","referrer":"direct","dirty":true}})",
            next_event_id++, random.Uniform(1 << 30), random.Uniform(100000),
            deals[day - first_day].id, random.Chance(0.5) ? "not a time" : "31/02/2026 25:61"));
        break;
      case 1:  // missing fields
        output.Line(
            fmt::format(R"({{"event_id":{},"event_type":"click","dirty":true}})", next_event_id++));
        break;
      default:  // wrong types
        output.Line(fmt::format(
            R"({{"event_id":"E{}","session_id":{},"user_id":"user-{}","deal_id":"{}","event_type":"view","ts":"{}","device":7,"referrer":null,"dirty":true}})",
            next_event_id++, random.Uniform(1000), random.Uniform(1000), deals[day - first_day].id,
            TimestampOf(day, random.Uniform(86400000))));
    }
    ++summary.dirty_records;
  };

  while (summary.events < options.events) {
    const int64_t day = first_day + random.Uniform(options.days);
    const Deal& deal = deals[day - first_day];
    auto& output = events_out[day];
    if (!output) {
      ASSIGN_OR_RETURN(output, Output::Create(out / "events" / fmt::format("day={}", DateOf(day)) /
                                              "events.json"));
    }
    const std::string session = fmt::format("s-{:016x}", random.Next());
    const int64_t user = 1 + random.Uniform(200000);
    const char* device = kDevices[random.Uniform(3)];
    const char* referrer = kReferrers[random.Uniform(5)];
    int64_t millis = random.Uniform(86400000 - 3600000);
    int stages = 1;
    if (random.Chance(deal.click_rate)) {
      ++stages;
      if (random.Chance(deal.cart_rate)) {
        ++stages;
        if (random.Chance(deal.buy_rate)) ++stages;
      }
    }
    for (int stage = 0; stage < stages; ++stage) {
      millis += 1000 + random.Uniform(120000);
      output->Line(fmt::format(
          R"({{"event_id":{},"session_id":"{}","user_id":{},"deal_id":{},"event_type":"{}","ts":"{}","device":"{}","referrer":"{}"}})",
          next_event_id++, session, user, deal.id, kStages[stage], TimestampOf(day, millis), device,
          referrer));
      ++funnel[stage];
      ++summary.events;
    }
    ++deal_sessions[deal.id].first;
    if (stages == 4) {
      ++deal_sessions[deal.id].second;
      const int64_t quantity = 1 + (random.Chance(0.2) ? random.Uniform(3) : 0);
      const int64_t amount = quantity * deal.price_cents;
      orders_out->Line(fmt::format(
          R"({{"order_id":{},"deal_id":{},"user_id":{},"session_id":"{}","quantity":{},"unit_price":{},"amount":{},"ordered_at":"{}"}})",
          next_order_id++, deal.id, user, session, quantity, Money(deal.price_cents), Money(amount),
          TimestampOf(day, millis + 500)));
      revenue_cents[DateOf(day)] += amount;
      ++orders_per_day[DateOf(day)];
      ++summary.orders;
    }
    ++summary.sessions;
    // Dirty records, spread evenly through the data.
    dirty_credit += options.dirty_fraction * stages;
    while (dirty_credit >= 1) {
      dirty_credit -= 1;
      if (random.Chance(0.8)) {
        dirty_event(*output, day);
      } else {
        orders_out->Line(fmt::format(
            R"({{"order_id":{},"deal_id":{},"quantity":"two","amount":"n/a","ordered_at":"yesterday","dirty":true}})",
            next_order_id++, deal.id));
        ++summary.dirty_records;
      }
    }
    if (progress && summary.sessions % 50000 == 0) {
      progress(static_cast<double>(summary.events) / static_cast<double>(options.events));
    }
  }
  RETURN_IF_ERROR(orders_out->Close());
  summary.bytes += orders_out->bytes();
  for (auto& [day, output] : events_out) {
    RETURN_IF_ERROR(output->Close());
    summary.bytes += output->bytes();
  }

  nlohmann::json expected;
  expected["revenue_per_day"] = nlohmann::json::array();
  for (const auto& [day, cents] : revenue_cents) {
    expected["revenue_per_day"].push_back(
        {{"day", day}, {"revenue_cents", cents}, {"orders", orders_per_day[day]}});
  }
  expected["funnel"] = {{"view", funnel[0]},
                        {"click", funnel[1]},
                        {"add_to_cart", funnel[2]},
                        {"purchase", funnel[3]}};
  expected["deals"] = nlohmann::json::array();
  for (const auto& [deal, counts] : deal_sessions) {
    expected["deals"].push_back({{"deal_id", deal},
                                 {"viewed_sessions", counts.first},
                                 {"purchased_sessions", counts.second}});
  }
  expected["summary"] = {{"deals", summary.deals},
                         {"sessions", summary.sessions},
                         {"events", summary.events},
                         {"orders", summary.orders},
                         {"dirty_records", summary.dirty_records}};
  ASSIGN_OR_RETURN(auto expected_out, Output::Create(out / "expected.json"));
  expected_out->Line(expected.dump(2));
  RETURN_IF_ERROR(expected_out->Close());
  if (progress) progress(1.0);
  return summary;
}

}  // namespace loch
