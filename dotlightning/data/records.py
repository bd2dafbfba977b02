"""Records: one (description -> DOT) training example, and loading them from any common format.

A record is a `prompt` (the natural-language description) and a `completion` (the Graphviz DOT the model should
write), with optional `kind`, `source` and `id` used to break metrics down by group. Sources we read:

- ``.jsonl`` (one JSON object per line; the project's own format), ``.json`` (a list of objects, or an object holding
  such a list under the split name), ``.csv`` (header row), ``.parquet``;
- a local ``datasets`` directory written by ``Dataset.save_to_disk`` / ``DatasetDict.save_to_disk``;
- anything else is treated as a Hugging Face hub dataset id and loaded with ``datasets.load_dataset``.

Rows may also be in TRL's conversational form: ``{"messages": [{"role": "system", ...}, {"role": "user", ...},
{"role": "assistant", ...}]}`` (the system turn optional), or ``prompt`` / ``completion`` given as lists of such
messages. Each becomes one record (the user turn is the prompt, the assistant turn the completion); a system turn is
accepted but the data module's ``system_prompt`` is what training uses, so one prompt format serves every record.

Bad input never passes silently: an error (``RecordError``) names the file, the line and the field, and says how to fix
it. Rows that are legitimately unusable (empty prompt/completion, DOT that Graphviz rejects) are dropped and *counted*,
so the caller can report exactly what was lost.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Every reason a row can be skipped or dropped; load_records always returns all of them (zeros included) so callers
# can log a stable table.
SKIP_REASONS = (
    "malformed",  # line/row is not a JSON object (only skipped with skip_invalid=True, otherwise an error)
    "missing_field",  # prompt/completion field absent (only skipped with skip_invalid=True)
    "not_a_string",  # prompt/completion is a number, list, ... (only skipped with skip_invalid=True)
    "empty_prompt",  # always skipped: nothing to condition on
    "empty_completion",  # always skipped: nothing to learn
    "invalid_dot",  # completion Graphviz rejects (check_dot=True): training on it would teach broken DOT
)


@dataclass(frozen=True)
class Record:
    """One example: the model sees ``prompt`` (a description) and must write ``completion`` (DOT)."""

    prompt: str
    completion: str
    kind: str | None = None
    source: str | None = None
    id: str | None = None


class RecordError(ValueError):
    """Bad input data. The message starts with ``FILE:LINE: `` (or ``FILE: ``) and ends with how to fix it."""


# ---------------------------------------------------------------------------------------------------------------------
# Reading raw rows: every reader yields (line_or_row_number, row) where row is whatever the format decoded (normally a
# dict). Malformed rows are yielded as an Exception instance so one place decides between "raise" and "skip + count".


def _read_text(path: Path) -> str:
    """Whole file as UTF-8 text (``.gz`` decompressed); a non-UTF-8 file is an error naming the byte offset and line,
    not mojibake."""
    data = path.read_bytes()
    if path.suffix == ".gz":  # committed results are gzipped
        import gzip

        data = gzip.decompress(data)
    try:
        return data.decode("utf-8-sig")  # -sig: tolerate a BOM written by Windows editors
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        bad = data[e.start : e.start + 4]
        raise RecordError(
            f"{path}:{line}: file is not valid UTF-8 (byte offset {e.start}, bytes {bad!r}: {e.reason}). "
            f"Fix: re-encode the file as UTF-8, e.g. `iconv -f latin1 -t utf-8 {path} > fixed.jsonl` "
            f"(use the encoding the file was actually written in)."
        ) from None


def iter_jsonl(path: str | Path) -> Iterator[tuple[int, Any]]:
    """``(line number, object)`` for each non-blank line of a JSONL file (``.gz`` read as gzip); a line that is not JSON
    comes as a ``ValueError`` in place of the object, so the caller decides between raising and counting. The one
    line reader: ``read_jsonl`` and ``load_records`` are built on it."""
    # Only "\n" ends a line: str.splitlines would also split inside a JSON string holding a raw U+2028, U+0085 or
    # \x1c-\x1e (json.dumps(..., ensure_ascii=False) writes them unescaped), so a model's output could break the file.
    for lineno, line in enumerate(_read_text(Path(path)).split("\n"), start=1):
        if not line.strip():
            continue  # blank lines (e.g. a trailing newline) are not records
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as e:
            yield lineno, ValueError(f"malformed JSON ({e.msg} at column {e.colno})")


def read_jsonl(path: str | Path, example: str = '{"prompt": "...", "completion": "digraph { ... }"}',
               fields: tuple[str, ...] = (), field_option: str = "") -> list[dict]:
    """The objects of a JSONL file (``.gz`` read as gzip), blank lines skipped: the one JSONL reader of the package
    (``load_records`` reads its ``.jsonl`` files line by line the same way).

    A missing file, a line that is not JSON or not an object, or one without a string in each of ``fields`` raises
    ``RecordError`` (a ``ValueError``) naming ``FILE:LINE`` and how to fix it; ``example`` is the line shown in that
    fix, ``field_option`` the option that renames the field.

    >>> import tempfile; f = Path(tempfile.mkdtemp()) / "x.jsonl"; _ = f.write_text('{"a": 1}\\n\\n[2]\\n')
    >>> try: read_jsonl(f)
    ... except RecordError as e: print(str(e).split(": ", 1)[1])
    expected a JSON object, got list. Fix: write one JSON object per line, e.g. {"prompt": "...", "completion": "digraph { ... }"}.
    """
    path = Path(path)
    if not path.is_file():
        raise RecordError(f"{path}: no such file. Fix: check the path (relative paths are resolved from {Path.cwd()}).")
    records = []
    for lineno, row in iter_jsonl(path):
        where = f"{path}:{lineno}: "
        if not isinstance(row, dict):
            problem = str(row) if isinstance(row, Exception) else f"expected a JSON object, got {type(row).__name__}"
            raise RecordError(f"{where}{problem}. Fix: write one JSON object per line, e.g. {example}.")
        for field in fields:
            if not isinstance(row.get(field), str):
                rename = f", or pass {field_option} NAME" if field_option else ""
                raise RecordError(f"{where}needs a string field {field!r} (fields present: {sorted(row)}). "
                                  f"Fix: add {field!r} to every record{rename}.")
        records.append(row)
    return records


def _iter_json(path: Path, split: str | None) -> Iterator[tuple[int, Any]]:
    text = _read_text(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise RecordError(
            f"{path}:{e.lineno}: malformed JSON ({e.msg} at column {e.colno}). "
            f"Fix: repair the file (e.g. check it with `python -m json.tool {path}`), or convert it to JSONL "
            f"(one object per line) and pass skip_invalid=True to skip bad lines."
        ) from None
    if isinstance(data, dict):  # {"train": [...], "validation": [...]} or {"data": [...]}
        lists = {k: v for k, v in data.items() if isinstance(v, list)}
        key = split if split in lists else ("data" if "data" in lists else None)
        if key is None and len(lists) == 1:
            key = next(iter(lists))
        if key is None:
            raise RecordError(
                f"{path}: top-level JSON object has no list of records for split {split!r} "
                f"(lists found under: {sorted(lists)}). Fix: pass split=<one of those keys>, or make the file a "
                f"JSON list of objects."
            )
        data = data[key]
    if not isinstance(data, list):
        raise RecordError(
            f"{path}: expected a JSON list of objects, got {type(data).__name__}. "
            f"Fix: write the records as a list `[{{...}}, ...]` or as JSONL (one object per line)."
        )
    # JSON files have no per-record line numbers after parsing; report the 1-based record index instead.
    yield from enumerate(data, start=1)


def _iter_csv(path: Path) -> Iterator[tuple[int, Any]]:
    reader = csv.DictReader(io.StringIO(_read_text(path), newline=""))
    for row in reader:
        yield reader.line_num, row  # line_num: physical line where the row ended (rows may span lines)


def _iter_rows(rows: list[dict]) -> Iterator[tuple[int, Any]]:
    # Parquet / datasets have rows, not lines: report the 1-based row number.
    yield from enumerate(rows, start=1)


def _load_datasets_rows(source: str, split: str | None, local: bool) -> list[dict]:
    import datasets  # lazy: heavy import, only needed for these sources

    try:
        ds = datasets.load_from_disk(source) if local else datasets.load_dataset(source, split=split or "train")
    except Exception as e:  # noqa: BLE001 - any failure here means "cannot read this source"; say which and why
        hint = (
            "check the directory was written by Dataset.save_to_disk"
            if local
            else "check the id and split, that you are online (or the dataset is in the HF cache), "
            "or pass a path to a local .jsonl/.csv/.parquet/.json file or save_to_disk directory"
        )
        raise RecordError(f"{source}: could not load as a datasets {'directory' if local else 'hub id'} "
                          f"({type(e).__name__}: {e}). Fix: {hint}.") from e
    if isinstance(ds, datasets.DatasetDict):
        name = split or "train"
        if name not in ds:
            raise RecordError(
                f"{source}: has no split {name!r} (splits: {sorted(ds)}). Fix: pass split=<one of those>."
            )
        ds = ds[name]
    return ds.to_list()


def _raw_rows(source: str, split: str | None) -> Iterator[tuple[int, Any]]:
    path = Path(source)
    if path.is_dir():
        return _iter_rows(_load_datasets_rows(source, split, local=True))
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix == ".jsonl":
            return iter_jsonl(path)
        if suffix == ".json":
            return _iter_json(path, split)
        if suffix == ".csv":
            return _iter_csv(path)
        if suffix == ".parquet":
            import pyarrow.parquet as pq  # lazy: only for parquet

            return _iter_rows(pq.read_table(path).to_pylist())
        raise RecordError(
            f"{path}: unknown file type {suffix!r}. Fix: use .jsonl, .json, .csv or .parquet "
            f"(or a `datasets` save_to_disk directory / hub dataset id)."
        )
    if path.suffix.lower() in (".jsonl", ".json", ".csv", ".parquet") or source.startswith((".", "/", "~")):
        raise RecordError(f"{source}: file not found. Fix: check the path (relative paths are resolved from "
                          f"{Path.cwd()}).")
    return _iter_rows(_load_datasets_rows(source, split, local=False))


# ---------------------------------------------------------------------------------------------------------------------


def _optional_str(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


_MESSAGES_FIX = ('write one optional system turn, one user turn and one assistant turn, each '
                 '{"role": "user", "content": "..."}')


def _message_problem(messages: Any, field: str) -> str | None:
    """Why ``messages`` is not a list of ``{"role": str, "content": str}`` turns (None when it is)."""
    if not isinstance(messages, list) or not messages:
        return f"field {field!r} must be a non-empty list of messages, got {type(messages).__name__}"
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str) \
                or not isinstance(message.get("content"), str):
            return f"field {field!r}: message {index} must be an object with string 'role' and 'content' (got {message!r:.80})"
        if message["role"] not in ("system", "user", "assistant"):
            return f"field {field!r}: message {index} has role {message['role']!r}; expected system, user or assistant"
    return None


def _from_conversation(row: dict, prompt_field: str, completion_field: str) -> tuple[dict, str | None]:
    """TRL's conversational row as plain prompt/completion strings: ``(row, None)``, or ``(row, problem)``.

    >>> _from_conversation({"messages": [{"role": "user", "content": "a to b"},
    ...                                  {"role": "assistant", "content": "digraph { a -> b }"}]}, "prompt", "completion")[0]["completion"]
    'digraph { a -> b }'
    >>> _from_conversation({"prompt": [{"role": "user", "content": "a"}], "completion": "graph {}"}, "prompt", "completion")[0]["prompt"]
    'a'
    """
    if prompt_field not in row and completion_field not in row and "messages" in row:
        messages = row["messages"]
        problem = _message_problem(messages, "messages")
        if problem:
            return row, problem
        roles = [m["role"] for m in messages]
        if roles not in (["user", "assistant"], ["system", "user", "assistant"]):
            return row, f"field 'messages' must be a single exchange (optional system, user, assistant), got roles {roles}"
        return {**row, prompt_field: messages[-2]["content"], completion_field: messages[-1]["content"]}, None
    converted = dict(row)
    for field, role in ((prompt_field, "user"), (completion_field, "assistant")):
        value = row.get(field)
        if not isinstance(value, list):
            continue
        problem = _message_problem(value, field)
        if problem:
            return row, problem
        turns = [m for m in value if m["role"] != "system"]
        if [m["role"] for m in turns] != [role]:
            return row, f"field {field!r} as messages must hold one {role} turn, got roles {[m['role'] for m in value]}"
        converted[field] = turns[0]["content"]
    return converted, None


def load_records(
    source: str,
    *,
    prompt_field: str = "prompt",
    completion_field: str = "completion",
    skip_invalid: bool = False,
    check_dot: bool = True,
    split: str | None = None,
) -> tuple[list[Record], dict[str, int]]:
    """Read records from ``source``; return them with the number skipped/dropped per reason (see ``SKIP_REASONS``).

    ``split`` picks a split of a ``datasets`` dict / hub dataset / JSON object of lists (default ``"train"``).
    Malformed rows, missing fields and non-string fields raise ``RecordError`` unless ``skip_invalid`` (then they are
    counted). Empty prompts/completions, and completions Graphviz rejects (``check_dot``), are always dropped and
    counted.
    """
    source = str(source)
    counts = dict.fromkeys(SKIP_REASONS, 0)
    records: list[Record] = []
    first_problem: str | None = None  # shown when skip_invalid dropped *everything*
    parse_dot = None
    if check_dot:
        from dotlightning.metrics.dot import parse_dot  # lazy: pygraphviz is only needed when checking DOT

    def invalid(where: str, reason: str, problem: str, fix: str) -> None:
        nonlocal first_problem
        if not skip_invalid:
            raise RecordError(f"{where}{problem}. Fix: {fix}, or pass skip_invalid=True to skip and count such rows.")
        counts[reason] += 1
        first_problem = first_problem or f"{where}{problem}"

    for lineno, row in _raw_rows(source, split):
        where = f"{source}:{lineno}: "
        if isinstance(row, Exception) or not isinstance(row, dict):
            problem = str(row) if isinstance(row, Exception) else f"malformed record: expected a JSON object, got " \
                                                                  f"{type(row).__name__}"
            invalid(where, "malformed", problem, "make every line one JSON object like "
                    '{"prompt": "...", "completion": "digraph { ... }"}')
            continue
        row, problem = _from_conversation(row, prompt_field, completion_field)
        if problem:
            invalid(where, "malformed", problem, _MESSAGES_FIX)
            continue
        bad = False
        values = {}
        for field in (prompt_field, completion_field):
            if field not in row:
                option = "prompt_field" if field == prompt_field else "completion_field"
                invalid(where, "missing_field", f"field {field!r} is missing (fields present: {sorted(row)})",
                        f"add {field!r} to every record, or set {option}= to the name your data uses")
                bad = True
                break
            value = row[field]
            if value is None:
                value = ""  # null is treated as empty (counted below), e.g. CSV/parquet missing cells
            if not isinstance(value, str):
                invalid(where, "not_a_string", f"field {field!r} must be a string, got {type(value).__name__}",
                        f"store {field!r} as a JSON string")
                bad = True
                break
            values[field] = value
        if bad:
            continue
        prompt, completion = values[prompt_field], values[completion_field]
        if not prompt.strip():
            counts["empty_prompt"] += 1
            continue
        if not completion.strip():
            counts["empty_completion"] += 1
            continue
        if parse_dot is not None and parse_dot(completion) is None:
            counts["invalid_dot"] += 1
            continue
        records.append(
            Record(
                prompt=prompt,
                completion=completion,
                kind=_optional_str(row.get("kind")),
                source=_optional_str(row.get("source")),
                # A stable id lets predictions be traced back to their input line even if the data has none.
                id=_optional_str(row.get("id")) or f"{Path(source).name}:{lineno}",
            )
        )

    if not records and first_problem is not None:
        raise RecordError(
            f"{source}: no usable records; every row was skipped (first problem: {first_problem}; counts: "
            f"{ {k: v for k, v in counts.items() if v} }). Fix: check prompt_field/completion_field match the data."
        )
    return records, counts
