#include "engine/value_decoder.h"

#include <cmath>

#include "fmt/format.h"

namespace loch {
namespace {

// Howard Hinnant's days_from_civil inverse: days since 1970-01-01 -> (year, month, day).
void CivilFromDays(int64_t z, int64_t& year, unsigned& month, unsigned& day) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  day = doy - (153 * mp + 2) / 5 + 1;
  month = mp < 10 ? mp + 3 : mp - 9;
  year = y + (month <= 2);
}

std::string FormatDouble(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return fmt::format("{}", value);  // shortest representation that round-trips
}

template <typename T>
const T* Data(duckdb_vector vector) {
  return static_cast<const T*>(duckdb_vector_get_data(vector));
}

}  // namespace

std::string FormatDate(int32_t days_since_epoch) {
  int64_t year;
  unsigned month, day;
  CivilFromDays(days_since_epoch, year, month, day);
  return fmt::format("{:04}-{:02}-{:02}", year, month, day);
}

std::string FormatTimestampMicros(int64_t micros) {
  int64_t days = micros / 86400000000LL;
  int64_t rest = micros % 86400000000LL;
  if (rest < 0) {
    rest += 86400000000LL;
    --days;
  }
  const int64_t seconds = rest / 1000000, fraction = rest % 1000000;
  std::string out = fmt::format("{} {:02}:{:02}:{:02}", FormatDate(static_cast<int32_t>(days)),
                                seconds / 3600, (seconds / 60) % 60, seconds % 60);
  if (fraction != 0) {
    std::string digits = fmt::format("{:06}", fraction);
    while (digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return out;
}

bool IsDirectlyDecodable(duckdb_type type) {
  switch (type) {
    case DUCKDB_TYPE_BOOLEAN:
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_VARCHAR:
    case DUCKDB_TYPE_DATE:
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
      return true;
    default:
      return false;
  }
}

ValueKind KindOf(duckdb_type type) {
  switch (type) {
    case DUCKDB_TYPE_BOOLEAN:
      return ValueKind::kBoolean;
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT:
    case DUCKDB_TYPE_USMALLINT:
    case DUCKDB_TYPE_UINTEGER:
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
    case DUCKDB_TYPE_FLOAT:
    case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_DECIMAL:
      return ValueKind::kNumber;
    case DUCKDB_TYPE_STRUCT:
    case DUCKDB_TYPE_LIST:
    case DUCKDB_TYPE_ARRAY:
    case DUCKDB_TYPE_MAP:
    case DUCKDB_TYPE_UNION:
      return ValueKind::kJson;
    default:
      return ValueKind::kString;
  }
}

void DecodeVector(duckdb_vector vector, duckdb_type type, size_t rows,
                  std::vector<std::optional<std::string>>& out) {
  const uint64_t* validity = duckdb_vector_get_validity(vector);
  out.reserve(out.size() + rows);
  for (size_t row = 0; row < rows; ++row) {
    if (validity != nullptr &&
        !duckdb_validity_row_is_valid(const_cast<uint64_t*>(validity), row)) {
      out.emplace_back();
      continue;
    }
    switch (type) {
      case DUCKDB_TYPE_BOOLEAN:
        out.emplace_back(Data<bool>(vector)[row] ? "true" : "false");
        break;
      case DUCKDB_TYPE_TINYINT:
        out.emplace_back(fmt::format("{}", Data<int8_t>(vector)[row]));
        break;
      case DUCKDB_TYPE_SMALLINT:
        out.emplace_back(fmt::format("{}", Data<int16_t>(vector)[row]));
        break;
      case DUCKDB_TYPE_INTEGER:
        out.emplace_back(fmt::format("{}", Data<int32_t>(vector)[row]));
        break;
      case DUCKDB_TYPE_BIGINT:
        out.emplace_back(fmt::format("{}", Data<int64_t>(vector)[row]));
        break;
      case DUCKDB_TYPE_UTINYINT:
        out.emplace_back(fmt::format("{}", Data<uint8_t>(vector)[row]));
        break;
      case DUCKDB_TYPE_USMALLINT:
        out.emplace_back(fmt::format("{}", Data<uint16_t>(vector)[row]));
        break;
      case DUCKDB_TYPE_UINTEGER:
        out.emplace_back(fmt::format("{}", Data<uint32_t>(vector)[row]));
        break;
      case DUCKDB_TYPE_UBIGINT:
        out.emplace_back(fmt::format("{}", Data<uint64_t>(vector)[row]));
        break;
      case DUCKDB_TYPE_FLOAT:
        out.emplace_back(FormatDouble(Data<float>(vector)[row]));
        break;
      case DUCKDB_TYPE_DOUBLE:
        out.emplace_back(FormatDouble(Data<double>(vector)[row]));
        break;
      case DUCKDB_TYPE_DATE:
        out.emplace_back(FormatDate(Data<int32_t>(vector)[row]));
        break;
      case DUCKDB_TYPE_TIMESTAMP:
        out.emplace_back(FormatTimestampMicros(Data<int64_t>(vector)[row]));
        break;
      case DUCKDB_TYPE_TIMESTAMP_TZ:
        out.emplace_back(FormatTimestampMicros(Data<int64_t>(vector)[row]) + "+00");
        break;
      case DUCKDB_TYPE_VARCHAR: {
        duckdb_string_t value = Data<duckdb_string_t>(vector)[row];
        out.emplace_back(std::string(duckdb_string_t_data(&value), duckdb_string_t_length(value)));
        break;
      }
      default:
        out.emplace_back("?");  // unreachable: callers cast other types in SQL first
    }
  }
}

}  // namespace loch
