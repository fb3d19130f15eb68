"""Eval suites: turn a suite name and its data files into questions with gold, plus the corpus to
ask them over.

Suites (``citewire eval --list``):
    seed        the bundled demo article, questions in ``evals/suites/seed.jsonl``
    jsonl       any file in the seed schema, over the current store or a corpus it ingests
    realtimeqa  RealTimeQA 2024 weekly news quiz over the articles of the sampled weeks
    clapnq      CLAPNQ dev questions over their Wikipedia passages (sentence-level evidence)

The jsonl schema, one object a line::

    {"id": "q1", "question": "...", "answers": ["short gold", ...],
     "evidence": ["exact quote from the article", ...], "answerable": true,
     "article_id": "optional: only look for the evidence in this article"}
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from evals.metrics import normalize


@dataclass
class EvalItem:
    """One question with its gold. `evidence` holds exact quotes of the source text."""

    id: str
    question: str
    answers: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    answerable: bool = True
    article_id: str | None = None  # restrict evidence lookup to this article
    choices: list[str] = field(default_factory=list)  # multiple choice: all options
    multiple_choice: bool = False
    # "short": gold answers are short strings an answer must contain (scored by containment of its own
    # words); "long": long-form gold (CLAPNQ), scored by token F1 and by whether the cited evidence is gold
    answer_style: Literal["short", "long"] = "short"
    as_of: str = ""  # ISO date the question was asked on (relative dates resolve against it)
    meta: dict[str, Any] = field(default_factory=dict)

    def gold(self) -> dict[str, Any]:
        g: dict[str, Any] = {"answers": self.answers, "evidence": self.evidence, "answerable": self.answerable}
        if self.choices:
            g["choices"] = self.choices
        if self.article_id:
            g["article_id"] = self.article_id
        return g


@dataclass
class Corpus:
    """What to ingest into the eval store. kind: ``demo`` (bundled corpus), ``paths`` (files or
    folders), ``records`` (RawArticle-like objects built by `make_records`), ``current`` (the
    user's own store, nothing ingested)."""

    kind: Literal["demo", "paths", "records", "current"]
    paths: list[Path] = field(default_factory=list)
    make_records: Callable[[], list[Any]] | None = None
    fingerprint: str = ""  # content hash: same fingerprint + ingest settings -> reuse the store
    description: str = ""


@dataclass
class Suite:
    name: str
    items: list[EvalItem]
    corpus: Corpus
    params: dict[str, Any] = field(default_factory=dict)


SUITES: dict[str, str] = {
    "seed": "bundled demo article (AP, Kyiv drone attack): 37 questions, 10 unanswerable",
    "jsonl": "your own questions (--data FILE, seed schema) over the current store or --corpus PATH...",
    "realtimeqa": "RealTimeQA 2024 news quiz (--data DIR) over the articles of the sampled weeks; --multiple-choice",
    "clapnq": "CLAPNQ dev (--data FILE): Wikipedia passages, sentence-level evidence, half unanswerable",
}


def shared_data_dir() -> Path:
    """The conventional location of the eval data, beside the repository: ``<repo>/../shared/data``."""
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _sha(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode("utf-8"))
        h.update(b"\0")
    return h.hexdigest()


def sample(items: list[EvalItem], limit: int | None, seed: int) -> list[EvalItem]:
    """A deterministic sample of `limit` items (all when None), kept in their original order."""
    if limit is None or limit >= len(items):
        return list(items)
    keep = set(random.Random(seed).sample(range(len(items)), limit))
    return [it for i, it in enumerate(items) if i in keep]


Split = Literal["calib", "report", "all"]
SPLITS: tuple[str, ...] = ("calib", "report", "all")


def parse_split(value: str | None) -> Split:
    """``calib`` (fit the answer policy), ``report`` (the figures we publish) or ``all``."""
    v = (value or "all").strip().lower()
    if v not in SPLITS:
        raise ValueError(f"unknown split {value!r}: valid are {', '.join(SPLITS)}")
    return v  # type: ignore[return-value]


def id_half(item_id: str) -> Split:
    """The fixed half an id falls in, by hash: the same id is always in the same half."""
    return "calib" if int(hashlib.sha256(item_id.encode("utf-8")).hexdigest()[:8], 16) % 2 == 0 else "report"


def week_half(week: str) -> Split:
    """RealTimeQA weeks: odd ISO weeks calibrate, even ISO weeks report."""
    d = _day(week)
    if d is None:
        raise ValueError(f"not a week like 20240105: {week!r}")
    return "calib" if d.isocalendar()[1] % 2 == 1 else "report"


# --- jsonl / seed ---------------------------------------------------------------------------------


def parse_rows(lines: list[str], origin: str = "<jsonl>") -> list[EvalItem]:
    """Parse jsonl rows in the seed schema; raise ValueError naming the bad line."""
    items: list[EvalItem] = []
    seen: set[str] = set()
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise ValueError(f"{origin}:{n}: not JSON ({e.msg})") from None
        if not isinstance(row, dict) or not str(row.get("question", "")).strip():
            raise ValueError(f"{origin}:{n}: a row needs a non-empty 'question'")
        answers = row.get("answers", [])
        evidence = row.get("evidence", [])
        if isinstance(answers, str):
            answers = [answers]
        if isinstance(evidence, str):
            evidence = [evidence]
        if not all(isinstance(x, str) for x in [*answers, *evidence]):
            raise ValueError(f"{origin}:{n}: 'answers' and 'evidence' must be lists of strings")
        answerable = row.get("answerable", bool(answers or evidence))
        if not isinstance(answerable, bool):
            raise ValueError(f"{origin}:{n}: 'answerable' must be true or false")
        rid = str(row.get("id", n))
        if rid in seen:
            raise ValueError(f"{origin}:{n}: duplicate id {rid!r}")
        seen.add(rid)
        items.append(
            EvalItem(
                id=rid,
                question=str(row["question"]).strip(),
                answers=[a for a in answers if a.strip()],
                evidence=[e for e in evidence if e.strip()],
                answerable=answerable,
                article_id=row.get("article_id"),
            )
        )
    return items


def seed_path() -> Path:
    return Path(str(resources.files("evals") / "suites" / "seed.jsonl"))


def demo_corpus_files() -> list[Path]:
    root = Path(str(resources.files("citewire") / "data" / "corpus"))
    return sorted(p for p in root.iterdir() if p.is_file()) if root.is_dir() else []


def _paths_fingerprint(paths: list[Path]) -> str:
    parts: list[str | bytes] = []
    for p in paths:
        files = sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else [p]
        for f in files:
            parts += [str(f.relative_to(p) if p.is_dir() else f.name), hashlib.sha256(f.read_bytes()).hexdigest()]
    return _sha(*parts)


def load_seed(limit: int | None = None, seed: int = 0, **_: Any) -> Suite:
    items = parse_rows(seed_path().read_text(encoding="utf-8").splitlines(), "seed.jsonl")
    corpus = Corpus(kind="demo", fingerprint="demo:" + _paths_fingerprint(demo_corpus_files()), description="bundled demo corpus")
    return Suite("seed", sample(items, limit, seed), corpus, {"limit": limit, "seed": seed})


def load_jsonl(data: Path, corpus: list[Path] | None = None, limit: int | None = None, seed: int = 0, **_: Any) -> Suite:
    data = Path(data)
    if not data.is_file():
        raise FileNotFoundError(f"jsonl suite: no such file {data}")
    items = parse_rows(data.read_text(encoding="utf-8").splitlines(), str(data))
    if corpus:
        missing = [str(p) for p in corpus if not Path(p).exists()]
        if missing:
            raise FileNotFoundError(f"--corpus: no such path(s): {', '.join(missing)}")
        paths = [Path(p).resolve() for p in corpus]
        c = Corpus(kind="paths", paths=paths, fingerprint="paths:" + _paths_fingerprint(paths), description=", ".join(map(str, paths)))
    else:
        c = Corpus(kind="current", description="the current store")
    return Suite(data.stem, sample(items, limit, seed), c, {"data": str(data), "limit": limit, "seed": seed})


# --- clapnq ---------------------------------------------------------------------------------------


def load_clapnq(data: Path, limit: int | None = None, seed: int = 0, max_articles: int | None = None,
                split: str | None = None, **_: Any) -> Suite:
    """CLAPNQ: every passage of the file becomes an article (id ``clapnq-<question id>``), or at
    most `max_articles` of them (the sampled questions' own passages first); gold answers are all
    annotators' answers, gold evidence the first annotator's selected sentences."""
    from ingest import RawArticle

    data = Path(data)
    if data.is_dir():
        data = data / "dev-a.jsonl"
    rows = [json.loads(line) for line in data.read_text(encoding="utf-8").splitlines() if line.strip()]
    items: list[EvalItem] = []
    for r in rows:
        outs = r.get("output") or []
        answers = [o["answer"] for o in outs if o.get("answer")]
        evidence = list(outs[0].get("selected_sentences") or []) if answers else []
        items.append(
            EvalItem(
                id=str(r["id"]),
                question=r["input"],
                answers=answers,
                evidence=evidence,
                answerable=bool(answers),
                answer_style="long",
                meta={"gold_article": f"clapnq-{r['id']}"},
            )
        )

    half = parse_split(split)
    if half != "all":
        items = [it for it in items if id_half(it.id) == half]
    items = sample(items, limit, seed)
    passages = {f"clapnq-{r['id']}" + (f"-{j}" if j else ""): (r, p) for r in rows for j, p in enumerate(r["passages"])}
    keep = cap_articles(list(passages), [it.meta["gold_article"] for it in items], max_articles, seed)

    def make_records() -> list[Any]:
        return [RawArticle(text=passages[pid][1]["text"], title=passages[pid][1].get("title", ""), source="Wikipedia",
                           origin=f"{data.name}#{passages[pid][0]['id']}", id=pid) for pid in keep]

    fp = "clapnq:" + _sha(data.read_bytes(), *keep)
    corpus = Corpus(kind="records", make_records=make_records, fingerprint=fp, description=f"{len(keep)} CLAPNQ passages")
    note = ("gold answers are long-form sentences: answered_cited_rate counts an answer as right when it cites "
            "gold evidence; read it with answer_f1 and the sentence-level citation metrics")
    params = {"data": str(data), "limit": limit, "seed": seed, "max_articles": max_articles, "split": half, "note": note}
    return Suite("clapnq", items, corpus, params)


# --- realtimeqa -----------------------------------------------------------------------------------


def _day(s: str) -> date | None:
    digits = "".join(ch for ch in s if ch.isdigit())
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8])) if len(digits) >= 8 else None
    except ValueError:
        return None


def question_week(q: dict[str, Any], article_week: dict[str, str], weeks: list[str]) -> str | None:
    """A question's week: the most common week of its articles, else the week nearest its date."""
    ws = Counter(article_week[a] for a in q.get("article_ids", []) if a in article_week)
    if ws:
        return ws.most_common(1)[0][0]
    d = _day(q.get("date", ""))
    if d is None or not weeks:
        return None
    return min(weeks, key=lambda w: abs((_day(w) - d).days))  # type: ignore[operator]


def parse_weeks(spec: str | None, all_weeks: list[str], seed: int) -> list[str]:
    """``None`` -> all weeks; ``"6"`` -> 6 weeks sampled with `seed`; ``"20240105,20240112"`` -> those."""
    if not spec:
        return list(all_weeks)
    spec = spec.strip()
    if spec.isdigit() and len(spec) < 8:
        n = min(int(spec), len(all_weeks))
        return sorted(random.Random(seed).sample(all_weeks, n))
    wanted = [w.strip().replace("-", "").replace("/", "") for w in spec.split(",") if w.strip()]
    unknown = [w for w in wanted if w not in all_weeks]
    if unknown:
        raise ValueError(f"--weeks: unknown week(s) {', '.join(unknown)}; weeks look like {all_weeks[0]}")
    return sorted(wanted)


def format_choices(question: str, choices: list[str]) -> str:
    return question.rstrip() + " (one of: " + "; ".join(choices) + ")"


def cap_articles(ids: list[str], priority: list[str], max_articles: int | None, seed: int) -> list[str]:
    """At most `max_articles` of `ids`: those in `priority` first (in order), then a seeded sample of
    the rest. None keeps all."""
    if max_articles is None or max_articles >= len(ids):
        return list(ids)
    known = set(ids)
    keep = list(dict.fromkeys(a for a in priority if a in known))[:max_articles]
    rest = sorted(set(ids) - set(keep))
    random.Random(seed).shuffle(rest)
    chosen = set(keep + rest[: max_articles - len(keep)])
    return [a for a in ids if a in chosen]


def load_realtimeqa(
    data: Path,
    limit: int | None = None,
    seed: int = 0,
    weeks: str | None = None,
    multiple_choice: bool = False,
    max_articles: int | None = None,
    split: str | None = None,
    **_: Any,
) -> Suite:
    """RealTimeQA: the store holds the articles of the chosen weeks (capped at `max_articles`, the
    sampled questions' own articles first); a question is answerable when a gold choice string
    occurs (normalized) in one of the stored articles."""
    from ingest import RawArticle

    data = Path(data)
    qpath, apath = data / "questions.jsonl", data / "articles.jsonl.gz"
    for p in (qpath, apath):
        if not p.is_file():
            raise FileNotFoundError(f"realtimeqa: missing {p}")
    with gzip.open(apath, "rt", encoding="utf-8") as f:
        articles = [json.loads(line) for line in f if line.strip()]
    article_week = {a["id"]: str(a["week"]) for a in articles}
    all_weeks = sorted(set(article_week.values()))
    half = parse_split(split)
    split_weeks = [w for w in all_weeks if half == "all" or week_half(w) == half]
    chosen = parse_weeks(weeks, split_weeks, seed)
    chosen_set = set(chosen)

    questions = [json.loads(line) for line in qpath.read_text(encoding="utf-8").splitlines() if line.strip()]
    items: list[EvalItem] = []
    for q in questions:
        if question_week(q, article_week, all_weeks) not in chosen_set:
            continue
        choices = list(q.get("choices", []))
        items.append(
            EvalItem(
                id=str(q["id"]),
                question=format_choices(q["question"], choices) if multiple_choice else q["question"],
                answers=[a for a in q.get("answer", []) if a.strip()],
                choices=choices,
                multiple_choice=multiple_choice,
                as_of=_iso(q.get("date", "")),
                meta={"date": q.get("date"), "source": q.get("source"), "article_ids": list(q.get("article_ids", []))},
            )
        )
    items = sample(items, limit, seed)

    arts = sorted((a for a in articles if str(a["week"]) in chosen_set), key=lambda a: a["id"])
    if max_articles is not None:
        keep = set(cap_articles([a["id"] for a in arts], [x for it in items for x in it.meta["article_ids"]], max_articles, seed))
        arts = [a for a in arts if a["id"] in keep]
    haystack = " " + " ".join(normalize(a.get("title", "") + " . " + a["text"]) for a in arts) + " "
    for it in items:
        it.answerable = any(normalize(g) and f" {normalize(g)} " in haystack for g in it.answers)

    def make_records() -> list[Any]:
        return [
            RawArticle(
                text=a["text"],
                title=a.get("title", ""),
                url=a.get("url", ""),
                published=_iso(a.get("publish_date", "")),
                source=_source_of(a.get("url", "")),
                authors=tuple(a.get("authors") or ()),
                origin=f"realtimeqa:{a['id']}",
                id=a["id"],
            )
            for a in arts
        ]

    fp = "realtimeqa:" + _sha(*(f"{a['id']}:{_sha(a['text'])}" for a in arts))
    desc = f"{len(arts)} RealTimeQA articles, weeks {','.join(chosen)}"
    corpus = Corpus(kind="records", make_records=make_records, fingerprint=fp, description=desc)
    note = ("a question counts as answerable when a gold choice string occurs in a stored article "
            "(noisy: the string may occur in an unrelated article); the others should be abstained on")
    params = {"data": str(data), "limit": limit, "seed": seed, "split": half, "weeks": chosen,
              "multiple_choice": multiple_choice,
              "max_articles": max_articles, "note": note}
    return Suite("realtimeqa", items, corpus, params)


def _iso(s: str) -> str:
    d = _day(s or "")
    return d.isoformat() if d else ""


def _source_of(url: str) -> str:
    host = url.split("//", 1)[-1].split("/", 1)[0]
    return host.removeprefix("www.")


def load_suite(name: str, **kw: Any) -> Suite:
    """Load a suite by name; keyword arguments are the CLI options (data, corpus, limit, seed,
    weeks, multiple_choice)."""
    if name == "seed":
        return load_seed(**kw)
    data = kw.pop("data", None)
    if name == "jsonl":
        if not data:
            raise ValueError("the jsonl suite needs --data FILE")
        return load_jsonl(Path(data), **kw)
    if name == "realtimeqa":
        return load_realtimeqa(Path(data or shared_data_dir() / "realtimeqa-2024"), **kw)
    if name == "clapnq":
        return load_clapnq(Path(data or shared_data_dir() / "clapnq" / "dev-a.jsonl"), **kw)
    raise ValueError(f"unknown suite {name!r}; choose one of {', '.join(SUITES)}")
