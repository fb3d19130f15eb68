"""Public data types of the query engine: what `Engine.ask` returns and `Engine.stream` yields.

These are plain dataclasses so that the CLI (`--json`), the Gradio UI and the eval suites can all
serialise them with `to_dict()` without knowing about retrieval internals.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(frozen=True, kw_only=True)
class SourceSpan:
    """A span of one stored article with the article's metadata: what citations and related
    passages have in common. `quote == engine.article(article_id).text[start:end]` always holds."""

    article_id: str
    title: str
    source: str
    url: str
    published: str
    start: int
    end: int
    quote: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, kw_only=True)
class Citation(SourceSpan):
    """One cited span, shown as marker ``[n]`` in the answer text.

    Quotes are copied from the stored article text by code at these offsets; the LLM never types
    them.

    Example:
        >>> Citation(n=1, article_id="a1", title="T", source="AP", url="", published="", start=0, end=5,
        ...          quote="Hello").to_dict()["n"]
        1
    """

    n: int


@dataclass(frozen=True, kw_only=True)
class Passage(SourceSpan):
    """A retrieved passage: shown as *related* (not a citation) when the engine abstains, and kept
    in `Answer.retrieved` so evaluations score the retrieval the answer actually used."""

    score: float


@dataclass
class Answer:
    """The engine's final, verified answer.

    Example:
        >>> ans = engine.ask("How many drones did Russia launch?")
        >>> ans.text            # 'Russia launched 550 drones and missiles [1].'
        >>> ans.citations[0].quote
    """

    question: str
    text: str
    abstained: bool
    citations: list[Citation] = field(default_factory=list)
    related: list[Passage] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    standalone_question: str = ""
    mode: Literal["generated", "extractive", "abstained"] = "extractive"
    note: str = ""  # why the answer is degraded (e.g. "the LLM backend was unreachable: extractive answer")
    retrieved: list[Passage] = field(default_factory=list)  # the fused chunks this answer was built from
    features: dict[str, float | str] = field(default_factory=dict)  # the answer policy's inputs (rag/policy.py)

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "abstained": self.abstained,
            "citations": [c.to_dict() for c in self.citations],
            "related": [p.to_dict() for p in self.related],
            "timings": dict(self.timings),
            "standalone_question": self.standalone_question,
            "mode": self.mode,
            "note": self.note,
            "retrieved": [p.to_dict() for p in self.retrieved],
            "features": dict(self.features),
        }


@dataclass(frozen=True)
class TokenEvent:
    """A piece of generated text while the LLM streams (before verification)."""

    delta: str
    type: Literal["token"] = "token"


@dataclass(frozen=True)
class StatusEvent:
    """A progress step of the pipeline (``retrieving``, ``generating``, ``verifying``)."""

    stage: str
    type: Literal["status"] = "status"


@dataclass(frozen=True)
class AnswerEvent:
    """The last event of `Engine.stream`: the verified answer."""

    answer: Answer
    type: Literal["answer"] = "answer"


StreamEvent = TokenEvent | StatusEvent | AnswerEvent
