#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "rso/io/jsonl.hpp"
#include "test_helpers.hpp"

namespace rso {
namespace {

using testing::error_message;
using testing::TempDir;
using testing::write_text;

// Reads every record of `path`, calling `visit` on each.
template <class Visit>
void read_all(const std::string& path, Visit&& visit) {
  JsonlReader reader(path);
  while (reader.next()) visit(reader.record());
}

TEST(Jsonl, ReadsTypedFieldsAndSkipsBlankLines) {
  TempDir dir;
  write_text(dir / "c.jsonl",
             "{\"id\": 3, \"prompt\": \"caf\xc3\xa9\", \"responses\": [\"a\", \"b\"], \"rewards\": [1, -2.5]}\r\n"
             "\n   \n"
             "{\"id\": 4, \"prompt\": \"x\", \"responses\": [], \"rewards\": [], \"ok\": true}\n");
  std::vector<std::int64_t> ids;
  std::vector<std::size_t> lines;
  JsonlReader reader((dir / "c.jsonl").string());
  while (reader.next()) {
    const JsonlRecord record = reader.record();
    ids.push_back(record.integer("id"));
    lines.push_back(reader.line_number());
    if (ids.size() == 1) {
      EXPECT_EQ(record.string("prompt"), "caf\xc3\xa9");
      EXPECT_EQ(record.strings("responses"), (std::vector<std::string>{"a", "b"}));
      EXPECT_EQ(record.numbers("rewards"), (std::vector<double>{1.0, -2.5}));
      EXPECT_FALSE(record.has("ok"));
    } else {
      EXPECT_TRUE(record.boolean("ok"));
      EXPECT_TRUE(record.strings("responses").empty());
    }
  }
  EXPECT_EQ(ids, (std::vector<std::int64_t>{3, 4}));
  EXPECT_EQ(lines, (std::vector<std::size_t>{1, 4}));
  EXPECT_EQ(reader.records_read(), 2u);
}

TEST(Jsonl, BadJsonNamesFileAndLine) {
  TempDir dir;
  const std::string path = (dir / "bad.jsonl").string();
  write_text(path, "{\"a\": 1}\n{\"a\": 2,}\n");
  const std::string message = error_message([&] { read_all(path, [](const JsonlRecord&) {}); }, ErrorKind::data);
  EXPECT_NE(message.find(path + ":2: invalid JSON at byte"), std::string::npos) << message;
}

TEST(Jsonl, NumbersBeyondDoubleNameFileAndLine) {
  TempDir dir;
  const std::string path = (dir / "big.jsonl").string();
  write_text(path, "{\"reward\": 1}\n{\"reward\": 1e999}\n");
  const std::string message = error_message([&] { read_all(path, [](const JsonlRecord&) {}); }, ErrorKind::data);
  EXPECT_NE(message.find(path + ":2: number overflow parsing '1e999'"), std::string::npos) << message;
}

TEST(Jsonl, NonObjectLinesAreRejected) {
  TempDir dir;
  const std::string path = (dir / "arr.jsonl").string();
  write_text(path, "[1, 2]\n");
  const std::string message = error_message([&] { read_all(path, [](const JsonlRecord&) {}); }, ErrorKind::data);
  EXPECT_NE(message.find(path + ":1: expected a JSON object, got array"), std::string::npos) << message;
}

TEST(Jsonl, MissingFieldAndWrongTypeNameTheField) {
  TempDir dir;
  const std::string path = (dir / "f.jsonl").string();
  write_text(path, "{\"prompt\": \"p\", \"chosen\": \"c\"}\n");
  std::string message = error_message(
      [&] { read_all(path, [](const JsonlRecord& r) { r.string("rejected"); }); }, ErrorKind::data);
  EXPECT_EQ(message, path + ":1: field \"rejected\": missing");

  write_text(path, "{\"id\": \"seven\"}\n{\"id\": 1.5}\n{\"rewards\": [1, \"x\"]}\n");
  message = error_message([&] { read_all(path, [](const JsonlRecord& r) { r.integer("id"); }); }, ErrorKind::data);
  EXPECT_EQ(message, path + ":1: field \"id\": expected an integer, got string");
  message = error_message(
      [&] {
        JsonlReader reader(path);
        reader.next();
        reader.next();
        reader.record().integer("id");
      },
      ErrorKind::data);
  EXPECT_EQ(message, path + ":2: field \"id\": expected an integer, got number");
  message = error_message(
      [&] {
        JsonlReader reader(path);
        for (int i = 0; i < 3; ++i) reader.next();
        reader.record().numbers("rewards");
      },
      ErrorKind::data);
  EXPECT_EQ(message, path + ":3: field \"rewards\": element 1: expected a number, got string");
}

TEST(Jsonl, InvalidUtf8NamesLineAndByte) {
  TempDir dir;
  const std::string path = (dir / "u.jsonl").string();
  write_text(path, "{\"a\": \"ok\"}\n{\"a\": \"b\xff\"}\n");
  const std::string message = error_message([&] { read_all(path, [](const JsonlRecord&) {}); }, ErrorKind::data);
  EXPECT_EQ(message, path + ":2: invalid UTF-8 at byte 9 of the line");
}

TEST(Jsonl, EmptyAndBlankFilesAreErrors) {
  TempDir dir;
  write_text(dir / "empty.jsonl", "");
  std::string message = error_message([&] { JsonlReader reader((dir / "empty.jsonl").string()); }, ErrorKind::data);
  EXPECT_EQ(message, (dir / "empty.jsonl").string() + ": file is empty");
  write_text(dir / "blank.jsonl", "\n  \n");
  message = error_message([&] { read_all((dir / "blank.jsonl").string(), [](const JsonlRecord&) {}); },
                          ErrorKind::data);
  EXPECT_NE(message.find("no records"), std::string::npos) << message;
  message = error_message([&] { JsonlReader reader((dir / "absent.jsonl").string()); }, ErrorKind::io);
  EXPECT_NE(message.find("cannot open"), std::string::npos) << message;
}

TEST(Jsonl, ReadsLargeFilesOneLineAtATime) {
  TempDir dir;
  const std::string path = (dir / "big.jsonl").string();
  {
    std::ofstream out(path);
    for (int i = 0; i < 20000; ++i) out << "{\"id\": " << i << ", \"prompt\": \"" << std::string(100, 'p') << "\"}\n";
  }
  std::int64_t sum = 0;
  read_all(path, [&](const JsonlRecord& r) { sum += r.integer("id"); });
  EXPECT_EQ(sum, 20000LL * 19999 / 2);
}

TEST(Jsonl, LinesKeepKeyOrderAndUtf8) {
  nlohmann::ordered_json record;
  record["id"] = 1;
  record["prompt"] = "caf\xc3\xa9";
  record["accepted"] = {2, 0};
  EXPECT_EQ(to_jsonl_line(record), "{\"id\":1,\"prompt\":\"caf\xc3\xa9\",\"accepted\":[2,0]}");
}

}  // namespace
}  // namespace rso
