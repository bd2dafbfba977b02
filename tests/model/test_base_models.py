"""Embedded base models: part packages joined in order, checked, cached; clear errors when something is missing."""

from __future__ import annotations

import hashlib
import sys

import pytest

from dotlightning.model import base_models
from dotlightning.model.base_models import EMBEDDED, BaseModelError, EmbeddedModel, hub_id, join_parts, resolve_gguf


def _fake_parts(tmp_path, monkeypatch, contents: list[bytes], *, sha256: str | None = None, names=None):
    """Installs importable part packages ``fakepartN`` (each with one data/partNN.bin) and an embedded entry."""
    site = tmp_path / "site"
    names = names or [f"fakepart{index}" for index in range(1, len(contents) + 1)]
    for index, (name, content) in enumerate(zip(names, contents), start=1):
        (site / name / "data").mkdir(parents=True)
        (site / name / "__init__.py").write_text("raise RuntimeError('part packages must not be imported')\n")
        (site / name / "data" / f"part{index:02d}.bin").write_bytes(content)
    monkeypatch.syspath_prepend(str(site))
    entry = EmbeddedModel(hub_id="org/fake", gguf_name="fake.gguf", env_var="DOTLIGHTNING_FAKE_GGUF",
                          install="pip install 'dotlightning[fake]'", parts=tuple(names),
                          sha256=sha256 or hashlib.sha256(b"".join(contents)).hexdigest())
    monkeypatch.setitem(EMBEDDED, "embedded:fake", entry)
    monkeypatch.setenv("DOTLIGHTNING_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("DOTLIGHTNING_FAKE_GGUF", raising=False)
    return entry


def test_parts_are_joined_in_order_without_importing_them_and_cached(tmp_path, monkeypatch):
    _fake_parts(tmp_path, monkeypatch, [b"GGUF-head-", b"middle-", b"tail"])
    joined = join_parts("embedded:fake")
    assert joined.read_bytes() == b"GGUF-head-middle-tail"
    assert not any(name.startswith("fakepart") for name in sys.modules)  # found by spec, never executed
    assert join_parts("embedded:fake") == joined  # second call: the cached file
    assert not list(joined.parent.glob(".joining-*"))


def test_a_missing_part_names_the_install_command_and_the_environment_variable(tmp_path, monkeypatch):
    entry = _fake_parts(tmp_path, monkeypatch, [b"a", b"b"])
    monkeypatch.setitem(EMBEDDED, "embedded:fake", EmbeddedModel(**{**entry.__dict__, "parts": entry.parts + ("fakepart3",)}))
    with pytest.raises(BaseModelError, match=r"1 are not installed \(fakepart3\).*pip install 'dotlightning\[fake\]'.*DOTLIGHTNING_FAKE_GGUF"):
        join_parts("embedded:fake")


def test_a_wrong_checksum_is_refused_and_leaves_no_file(tmp_path, monkeypatch):
    _fake_parts(tmp_path, monkeypatch, [b"a", b"b"], sha256="0" * 64)
    with pytest.raises(BaseModelError, match="sha256.*--force-reinstall"):
        join_parts("embedded:fake")
    assert not list((tmp_path / "cache").rglob("*fake*"))
    assert not list((tmp_path / "cache").rglob(".joining-*"))


def test_the_environment_variable_points_at_an_already_joined_file(tmp_path, monkeypatch):
    _fake_parts(tmp_path, monkeypatch, [b"a"])
    ready = tmp_path / "ready.gguf"
    ready.write_bytes(b"joined elsewhere")
    monkeypatch.setenv("DOTLIGHTNING_FAKE_GGUF", str(ready))
    assert resolve_gguf("embedded:fake") == ready
    monkeypatch.setenv("DOTLIGHTNING_FAKE_GGUF", str(tmp_path / "absent.gguf"))
    with pytest.raises(BaseModelError, match="DOTLIGHTNING_FAKE_GGUF=.*is not a file"):
        resolve_gguf("embedded:fake")


def test_unknown_embedded_names_list_the_known_ones():
    with pytest.raises(BaseModelError, match="qwen2.5-coder-1.5b-instruct"):
        base_models.resolve_base_model("embedded:nonesuch")


def test_each_embedded_model_maps_to_its_hub_twin_and_declares_its_checksum():
    assert hub_id("embedded:gemma3-270m") == "google/gemma-3-270m"
    assert hub_id("embedded:qwen2.5-coder-0.5b-instruct") == "Qwen/Qwen2.5-Coder-0.5B-Instruct"
    for spec, entry in EMBEDDED.items():
        assert entry.env_var.startswith("DOTLIGHTNING_") and entry.install.startswith("pip install")
        assert not entry.parts or len(entry.sha256) == 64, spec
    assert len(EMBEDDED["embedded:qwen2.5-coder-1.5b-instruct"].parts) == 22
    assert len(EMBEDDED["embedded:qwen2.5-coder-0.5b-instruct"].parts) == 6
