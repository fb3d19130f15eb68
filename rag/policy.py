"""The answer policy: answer, extract or refuse, decided once from named features.

Two logistic models estimate, for one question, the probability that each candidate answer is right
*and* cites supporting evidence: ``answer`` (the LLM's draft, verified or grounded to a phrase) and
``extract`` (the best extracted phrase, or the best evidence quoted). The policy shows the more
likely candidate when its probability reaches the threshold of the configured risk level, and
refuses otherwise. Under the CRAG score (+1 right and cited, 0 refused, -1 anything else answered)
answering pays exactly when that probability exceeds 1/2: that is `balanced`; `cautious` (2/3) and
`eager` (1/3) are where it pays when a wrong answer costs 2 or 0.5 (`evals.calibrate.threshold_for`;
each section stores its thresholds, its models and, when it has its own, the evidence weights its drafts were
made over: `evidence_params`).

The coefficients live in ``rag/data/policy.json`` (versioned, with what they were fitted on);
``python -m evals.calibrate`` refits them. Nothing here was tuned on a report split.

Example:
    >>> policy = AnswerPolicy.load(risk="balanced")
    >>> f = PolicyFeatures(best_score=0.71, coverage=1.0, verified=1.0, phrase_grounded=1.0, qtype="place")
    >>> policy.decide(f, has_answer=True, has_extract=True).action
    'answer'
"""

from __future__ import annotations

import copy
import functools
import json
import math
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from citewire.settings import RISKS, Risk

Action = Literal["answer", "extract", "refuse"]
QTYPES = ("number", "person", "date", "place", "reason", "quote", "entity", "other")
POLICY_VERSION = 1


def parse_risk(value: str) -> Risk:
    """``cautious`` | ``balanced`` | ``eager``; anything else is an error naming the valid options."""
    v = (value or "").strip().lower()
    if v not in RISKS:
        raise ValueError(f"unknown risk level {value!r}: valid are {', '.join(RISKS)}")
    return v


@dataclass(frozen=True)
class PolicyFeatures:
    """What the policy sees of one question. Every field is a number in a small range (flags are
    0/1); `qtype` is one-hot encoded by `vector()`.

    When to use: build one per question from the evidence, the draft and the candidates
    (`rag/engine.py` does), store it with the answer (`Answer.features`) so calibration can refit.
    """

    best_score: float = 0.0  # evidence score of the best statement
    best_semantic: float = 0.0
    best_lexical: float = 0.0
    coverage: float = 0.0  # share of asked terms matched by the best item (+-1 sentence)
    asked_names_missing: float = 0.0  # count, capped at 3
    framing_names_missing: float = 0.0  # count, capped at 3
    n_support: float = 0.0  # statements within 0.05 of the best, capped at 5
    type_cue: float = 0.0  # the best item holds what the question type asks for
    rank_agreement: float = 0.0  # share of the fused top chunks that dense and BM25 both found
    top_in_both: float = 0.0  # the best evidence's chunk was found by both retrievers
    llm_not_found: float = 0.0  # the LLM said the evidence lacks the answer
    verified: float = 0.0  # a verified claim of the draft cites the best evidence
    phrase_grounded: float = 0.0  # the LLM's answer phrase occurs in the evidence
    answers_type: float = 0.0  # the answer candidate holds what the question type asks for
    extract_score: float = 0.0  # score of the best extracted phrase (0 when none)
    extract_margin: float = 0.0  # its lead over the second candidate
    extract_in_draft: float = 0.0  # the LLM's draft contains the extracted phrase
    extract_recurs: float = 0.0  # share of the retrieved chunks that mention it
    extract_head_sim: float = 0.0  # how much it looks like what is asked for (head noun / answer type)
    extract_item_rank: float = 0.0  # 1/n of the statement it comes from (1 = the best evidence)
    # the LLM's own likelihood of replies to the draft prompt (`rag/likelihood.py`; in-process GGUF models,
    # 0 when not scored): exp(mean token log-probability), i.e. the geometric-mean token probability
    extract_lm_p: float = 0.0  # ... of the extracted phrase
    answer_lm_p: float = 0.0  # ... of the draft's own short answer phrase
    not_found_lm_p: float = 0.0  # ... of replying NOT FOUND
    qtype: str = "other"

    def vector(self) -> list[float]:
        d = asdict(self)
        return [float(d[k]) for k in NUMERIC_FEATURES] + [float(self.qtype == t) for t in QTYPES]

    def to_dict(self) -> dict[str, float | str]:
        return dict(asdict(self))


NUMERIC_FEATURES: tuple[str, ...] = tuple(k for k in PolicyFeatures.__dataclass_fields__ if k != "qtype")
FEATURE_NAMES: tuple[str, ...] = NUMERIC_FEATURES + tuple(f"qtype_{t}" for t in QTYPES)


def features_from_dict(d: dict[str, Any]) -> PolicyFeatures:
    """Rebuild features from `PolicyFeatures.to_dict()` (e.g. a results.json row)."""
    known = {k: d[k] for k in NUMERIC_FEATURES if k in d}
    return PolicyFeatures(**known, qtype=str(d.get("qtype", "other")))


@dataclass(frozen=True)
class Decision:
    action: Action
    p_answer: float
    p_extract: float
    threshold: float


@dataclass(frozen=True)
class _Logistic:
    coef: tuple[float, ...]
    intercept: float

    def prob(self, x: list[float]) -> float:
        z = self.intercept + sum(c * v for c, v in zip(self.coef, x))
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


# the features that only exist once the LLM has drafted (all in [0, 1]); the rest are known from the evidence
DRAFT_FEATURES = ("llm_not_found", "verified", "phrase_grounded", "answers_type", "extract_in_draft",
                  "extract_lm_p", "answer_lm_p", "not_found_lm_p")
# the draft features that need the LLM's likelihoods: a section with a non-zero coefficient on one of them
# has the engine score replies after every draft (`AnswerPolicy.uses_likelihood`)
LM_FEATURES = ("extract_lm_p", "answer_lm_p", "not_found_lm_p")
_LM_INDEX = tuple(FEATURE_NAMES.index(n) for n in LM_FEATURES)
_DRAFT_INDEX = tuple(FEATURE_NAMES.index(n) for n in DRAFT_FEATURES)


def default_path() -> Path:
    return Path(str(resources.files("rag") / "data" / "policy.json"))


@functools.lru_cache(maxsize=8)
def _read(path: str, mtime_ns: int) -> dict[str, Any]:
    return dict(json.loads(Path(path).read_text(encoding="utf-8")))


def load_params(path: str | Path | None = None) -> dict[str, Any]:
    """The fitted parameters (the packaged file unless `path` is given)."""
    p = Path(path) if path else default_path()
    if not p.is_file():
        from citewire.errors import CitewireError

        raise CitewireError(f"answer policy file not found: {p} (refit with `python -m evals.calibrate`)")
    data = _read(str(p), p.stat().st_mtime_ns)
    if int(data.get("version", 0)) != POLICY_VERSION:
        from citewire.errors import CitewireError

        raise CitewireError(f"{p} has policy version {data.get('version')}, this citewire reads {POLICY_VERSION}: "
                            "refit with `python -m evals.calibrate`")
    return data


def profile_params(params: dict[str, Any], profile: str, model: str | None = None) -> dict[str, Any]:
    """The fitted section for one LLM: the section fitted for `model` itself (`params["models"]`, keyed by
    `rag.llm.model_name`) when the file has one, else the one for its profile ("small" / "capable"), else
    the small one (the file was only calibrated with the bundled model).

    When to use: a policy fitted on one model's drafts is miscalibrated for a stronger one (it learnt how
    often *that* model is right), so `python -m evals.calibrate --llm NAME --per-model` adds a section
    for NAME without replacing the profile's."""
    by_model = params.get("models") or {}
    if model and model in by_model:
        return dict(by_model[model])
    profiles = params["profiles"]
    return dict(profiles.get(profile) or profiles["small"])


def evidence_params(params: dict[str, Any], section: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fitted sentence-scoring weights (`rag.evidence.SENTENCE_FEATURES`), or {} for the defaults.

    A policy section (`profile_params`) may carry its own: its models were fitted on drafts made over the
    evidence those weights chose, so they belong together; otherwise the file-wide ones apply."""
    ev = (section or {}).get("evidence") or params.get("evidence") or {}
    return {"weights": ev.get("weights"), "bias": ev.get("bias")} if ev else {}


class AnswerPolicy:
    """Decides answer / extract / refuse for one question from its `PolicyFeatures`.

    When to use: once per question, after the draft and the candidates exist; `could_answer` tells
    beforehand whether any LLM outcome could reach the threshold (to skip a pointless LLM call).
    """

    def __init__(self, params: dict[str, Any], risk: Risk = "balanced", profile: str = "small",
                 model: str | None = None) -> None:
        names = list(params["features"])
        if names != list(FEATURE_NAMES):
            from citewire.errors import CitewireError

            raise CitewireError("the answer policy file lists other features than this citewire computes: "
                                "refit with `python -m evals.calibrate`")
        section = profile_params(params, profile, model)
        self.params = section
        self.risk = parse_risk(risk)
        self.threshold = float(section["thresholds"][self.risk])
        self.models = {m: _Logistic(tuple(section[m]["coef"]), float(section[m]["intercept"])) for m in ("answer", "extract")}

    @classmethod
    def load(cls, path: str | Path | None = None, risk: Risk = "balanced", profile: str = "small",
             model: str | None = None) -> AnswerPolicy:
        return cls(load_params(path), risk, profile, model)

    def at(self, risk: Risk | str) -> AnswerPolicy:
        """The same fitted models at another risk level (another threshold on the same curve).

        When to use: one question asked more cautiously or more eagerly than the configured level,
        e.g. ``engine.ask(q, risk="eager")``; nothing is refitted or reloaded.

        Example:
            >>> AnswerPolicy.load().at("eager").threshold
            0.3333
        """
        level = parse_risk(str(risk))
        if level == self.risk:
            return self
        other = copy.copy(self)
        other.risk, other.threshold = level, float(self.params["thresholds"][level])
        return other

    @property
    def uses_likelihood(self) -> bool:
        """Whether this section's models weigh the LLM's reply likelihoods (`LM_FEATURES`): then the engine
        scores them after each draft, even where the phrase re-ranking is off."""
        return any(m.coef[i] != 0.0 for m in self.models.values() for i in _LM_INDEX)

    def probabilities(self, f: PolicyFeatures) -> tuple[float, float]:
        x = f.vector()
        return self.models["answer"].prob(x), self.models["extract"].prob(x)

    def decide(self, f: PolicyFeatures, has_answer: bool, has_extract: bool) -> Decision:
        pa, pe = self.probabilities(f)
        pa, pe = (pa if has_answer else 0.0), (pe if has_extract else 0.0)
        best: Action = "answer" if pa >= pe and has_answer else "extract"
        p = max(pa, pe)
        return Decision(best if p >= self.threshold and (has_answer or has_extract) else "refuse", pa, pe, self.threshold)

    def could_answer(self, f: PolicyFeatures) -> bool:
        """Could any draft make answering or extracting reach the threshold? (Evidence-only check.)

        An exact upper bound: the draft-dependent features (`DRAFT_FEATURES`, each in [0, 1]) enter each
        logistic model linearly, so its best case sets every one with a positive coefficient to 1 and the
        rest to 0. (A fitted coefficient can be negative, e.g. when two draft features move together, so
        "all of them 1" is not the best case.)"""
        base = f.vector()
        for m in self.models.values():
            best = list(base)
            for i in _DRAFT_INDEX:
                best[i] = 1.0 if m.coef[i] > 0 else 0.0
            if m.prob(best) >= self.threshold:
                return True
        return False
