"""Tests for dotlightning.data.records: every source format, field names, and every kind of bad input."""

import json

import pytest

from dotlightning.data.records import SKIP_REASONS, Record, RecordError, load_records, read_jsonl

GOOD = [
    {"prompt": "two nodes a and b, a points to b", "completion": "digraph { a -> b }", "kind": "simple", "id": "r1"},
    {"prompt": "an undirected edge x-y", "completion": "graph { x -- y }", "source": "handmade"},
]


def write_jsonl(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows),
                    encoding="utf-8")
    return path


def test_jsonl_roundtrip_and_optional_fields(tmp_path):
    records, counts = load_records(write_jsonl(tmp_path / "d.jsonl", GOOD))
    assert records[0] == Record("two nodes a and b, a points to b", "digraph { a -> b }", "simple", None, "r1")
    assert records[1].source == "handmade" and records[1].kind is None
    assert records[1].id == "d.jsonl:2"  # generated, so predictions can be traced back to the line
    assert counts == dict.fromkeys(SKIP_REASONS, 0)


def test_jsonl_strings_holding_unicode_line_separators_stay_one_record(tmp_path):
    # json.dumps(..., ensure_ascii=False) writes U+2028, U+0085 and \x1c-\x1e raw; only "\n" may end a line.
    odd = "a\u2028b\u2029c\x85d\x1ce\x1df\x1eg\x0bh\x0ci\rj"
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps({"prompt": odd, "prediction": p}, ensure_ascii=False) + "\n"
                            for p in ("digraph { a -> b }", odd)), encoding="utf-8")
    rows = read_jsonl(path)
    assert [r["prompt"] for r in rows] == [odd, odd] and rows[1]["prediction"] == odd
    records, _ = load_records(write_jsonl(tmp_path / "d.jsonl", [{"prompt": odd, "completion": "digraph { a -> b }"}]))
    assert [r.prompt for r in records] == [odd]


def test_custom_field_names_csv_parquet_json_and_datasets_dir(tmp_path):
    rows = [{"q": r["prompt"], "a": r["completion"]} for r in GOOD]
    expect = [(r["prompt"], r["completion"]) for r in GOOD]

    def got(src, **kw):
        recs, _ = load_records(str(src), prompt_field="q", completion_field="a", **kw)
        return [(r.prompt, r.completion) for r in recs]

    import csv

    with open(tmp_path / "d.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["q", "a"])
        w.writeheader()
        w.writerows(rows)
    assert got(tmp_path / "d.csv") == expect

    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "d.parquet")
    assert got(tmp_path / "d.parquet") == expect

    (tmp_path / "d.json").write_text(json.dumps(rows))
    assert got(tmp_path / "d.json") == expect
    (tmp_path / "s.json").write_text(json.dumps({"train": rows, "test": rows[:1]}))
    assert got(tmp_path / "s.json", split="test") == expect[:1]

    import datasets

    datasets.DatasetDict({"train": datasets.Dataset.from_list(rows),
                          "validation": datasets.Dataset.from_list(rows[1:])}).save_to_disk(str(tmp_path / "dd"))
    assert got(tmp_path / "dd") == expect
    assert got(tmp_path / "dd", split="validation") == expect[1:]
    with pytest.raises(RecordError, match=r"no split 'test'.*Fix"):
        got(tmp_path / "dd", split="test")


def test_malformed_json_line_names_file_and_line(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [GOOD[0], '{"prompt": "x", "completion": ', GOOD[1]])
    with pytest.raises(RecordError, match=rf"^{path}:2: malformed JSON .*Fix: .*skip_invalid=True") as e:
        load_records(str(path))
    assert "column" in str(e.value)


def test_malformed_lines_skipped_and_counted_with_skip_invalid(tmp_path):
    path = write_jsonl(tmp_path / "bad.jsonl", [GOOD[0], "{not json", "[1, 2]", {"text": "x"}, GOOD[1]])
    records, counts = load_records(str(path), skip_invalid=True)
    assert len(records) == 2
    assert counts["malformed"] == 2 and counts["missing_field"] == 1


def test_invalid_missing_field_names_it_and_lists_fields_present(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"instruction": "x", "completion": "digraph {}"}])
    with pytest.raises(RecordError) as e:
        load_records(str(path))
    msg = str(e.value)
    assert msg.startswith(f"{path}:1: field 'prompt' is missing")
    assert "['completion', 'instruction']" in msg and "prompt_field=" in msg and "Fix:" in msg


def test_invalid_field_type_is_an_error(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"prompt": 3, "completion": "digraph {}"}])
    with pytest.raises(RecordError, match=r":1: field 'prompt' must be a string, got int. Fix:"):
        load_records(str(path))


def test_skip_invalid_that_skips_everything_still_errors(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [{"q": "x", "a": "digraph {}"}] * 3)
    with pytest.raises(RecordError, match=r"no usable records.*field 'prompt' is missing.*missing_field': 3"):
        load_records(str(path), skip_invalid=True)


def test_empty_prompt_or_completion_skipped_and_counted(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [GOOD[0], {"prompt": "  ", "completion": "digraph {}"},
                                              {"prompt": "x", "completion": ""}, {"prompt": "x", "completion": None}])
    records, counts = load_records(str(path))
    assert len(records) == 1 and counts["empty_prompt"] == 1 and counts["empty_completion"] == 2


def test_invalid_dot_completion_dropped_and_counted(tmp_path):
    path = write_jsonl(tmp_path / "d.jsonl", [GOOD[0], {"prompt": "x", "completion": "digraph { a -> "},
                                              {"prompt": "y", "completion": "not dot at all"}])
    records, counts = load_records(str(path))
    assert [r.id for r in records] == ["r1"] and counts["invalid_dot"] == 2
    records, counts = load_records(str(path), check_dot=False)
    assert len(records) == 3 and counts["invalid_dot"] == 0


def test_invalid_utf8_names_file_line_and_byte_offset(tmp_path):
    path = tmp_path / "latin1.jsonl"
    good = (json.dumps(GOOD[0]) + "\n").encode()
    path.write_bytes(good + '{"prompt": "caf\u00e9", "completion": "digraph {}"}\n'.encode("latin-1"))
    offset = len(good) + len('{"prompt": "caf')
    expected = rf"^{path}:2: file is not valid UTF-8 \(byte offset {offset}.*Fix: re-encode"
    with pytest.raises(RecordError, match=expected):
        load_records(str(path))


def test_missing_file_and_unknown_type(tmp_path):
    with pytest.raises(RecordError, match="file not found. Fix"):
        load_records(str(tmp_path / "nope.jsonl"))
    (tmp_path / "d.txt").write_text("x")
    with pytest.raises(RecordError, match=r"unknown file type '.txt'. Fix"):
        load_records(str(tmp_path / "d.txt"))


def test_trl_conversational_messages_and_message_list_fields_become_records(tmp_path):
    system = {"role": "system", "content": "You are a DOT graph generator."}
    rows = [
        {"messages": [system, {"role": "user", "content": GOOD[0]["prompt"]},
                      {"role": "assistant", "content": GOOD[0]["completion"]}], "kind": "simple", "id": "r1"},
        {"prompt": [{"role": "user", "content": GOOD[1]["prompt"]}],
         "completion": [{"role": "assistant", "content": GOOD[1]["completion"]}], "source": "handmade"},
    ]
    records, _ = load_records(str(write_jsonl(tmp_path / "trl.jsonl", rows)))
    assert [(r.prompt, r.completion) for r in records] == [(g["prompt"], g["completion"]) for g in GOOD]
    assert records[0].kind == "simple" and records[1].source == "handmade"


@pytest.mark.parametrize("row, problem", [
    ({"messages": [{"role": "user", "content": "a"}]}, r"single exchange .*\['user'\]"),
    ({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "graph {}"},
                   {"role": "user", "content": "more"}, {"role": "assistant", "content": "graph {}"}]},
     "single exchange"),
    ({"messages": [{"role": "user", "content": 3}, {"role": "assistant", "content": "graph {}"}]},
     "message 0 must be an object with string 'role' and 'content'"),
    ({"messages": [{"role": "tool", "content": "a"}, {"role": "assistant", "content": "graph {}"}]}, "role 'tool'"),
    ({"prompt": [{"role": "assistant", "content": "a"}], "completion": "graph {}"}, "one user turn"),
])
def test_bad_conversational_rows_name_file_line_and_the_fix(tmp_path, row, problem):
    path = write_jsonl(tmp_path / "trl.jsonl", [GOOD[0], row])
    with pytest.raises(RecordError, match=rf"^{path}:2: .*{problem}.*Fix: write one optional system turn"):
        load_records(str(path))
    records, counts = load_records(str(path), skip_invalid=True)
    assert len(records) == 1 and counts["malformed"] == 1
