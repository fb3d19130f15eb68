"""The baseline: stock LlamaIndex RAG over the same articles, embedder and LLM.

`VectorStoreIndex` over Chroma (``ChromaVectorStore`` on a ``chromadb.PersistentClient`` inside the
eval store) with LlamaIndex's default chunking (``SentenceSplitter``, 1024 tokens, 200 overlap), and
a ``CitationQueryEngine`` with its default arguments (top 2 chunks, 512-token citation sources).
The only changes from the tutorial are the ones that keep it local: the same MiniLM embedder as
citewire (`llamaindex_embedding`) and the same LLM (`build_llm`, ChatML template) with LlamaCPP's
default context window (3900 tokens).

Its answer cites ``[n]`` = "Source n"; each cited source node is mapped back to a character span of
the stored article (node ``start_char_idx``/``end_char_idx`` plus the position of the citation
chunk inside it), so citewire's metrics apply unchanged. It abstains when the answer is empty or
says it does not know.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

from evals import metrics as M
from evals.loaders import EvalItem
from evals.scoring import Prediction
from evals.stores import EvalStore

BASELINE_FORMAT = 1
_CITED = re.compile(r"\[(\d+)\]|\bSources? (\d+)\b")  # "[2]", and the looser "Source 2" small models write
_SOURCE_HEAD = re.compile(r"^\s*Source \d+:\s*\n?")
_IDK = re.compile(
    r"\b(?:i (?:do not|don'?t|dont) know|not (?:enough|sufficient) (?:information|context)|no (?:relevant )?information"
    r"|(?:cannot|can'?t|can not|unable to) (?:answer|find|determine|provide|be determined)"
    r"|(?:does|do|did) ?n[o']?t (?:contain|mention|provide|say|specify|include)|not (?:mentioned|provided|specified|stated)"
    r"|empty response)\b",
    re.I,
)


def says_dont_know(text: str) -> bool:
    """The baseline's abstention: an empty answer, or one that says it does not know."""
    t = (text or "").strip().replace("\u2019", "'")
    return not t or bool(_IDK.search(t))


def _chroma_client(path: Path) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    return chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))


class BaselineSystem:
    name = "baseline"

    def __init__(self, store: EvalStore, k: int, show_progress: bool = True) -> None:
        from llama_index.core import Settings as LISettings
        from llama_index.core import StorageContext, VectorStoreIndex
        from llama_index.vector_stores.chroma import ChromaVectorStore

        from evals.stores import ArticleTexts
        from ingest.embed import llamaindex_embedding
        from rag.llm import build_llm

        settings = store.settings
        llm_cfg = settings.llm
        if llm_cfg.backend == "llamacpp":
            # LlamaCPP's own default window (3900), as a stock user gets it: citewire's 2048 is sized for
            # its short evidence prompts and would push CitationQueryEngine's ~2,500-token prompts into
            # a second (refine) LLM call per question.
            from llama_index.core.constants import DEFAULT_CONTEXT_WINDOW

            llm_cfg = llm_cfg.model_copy(update={"context_window": max(llm_cfg.context_window, DEFAULT_CONTEXT_WINDOW)})
        llm = build_llm(llm_cfg)
        if llm is None:
            raise ValueError("the baseline needs an LLM; llm.backend is 'none' (use --engine citewire, or an LLM backend)")
        embed = llamaindex_embedding(settings)
        # never fall back to LlamaIndex's defaults (OpenAI: the network)
        LISettings.llm = llm
        LISettings.embed_model = embed
        self.k = k
        self.texts = ArticleTexts(store)
        hashes = self.texts.ids_and_hashes()
        key = hashlib.sha256(
            json.dumps({"v": BASELINE_FORMAT, "embed": settings.embed_model, "docs": sorted(hashes.items())}).encode()
        ).hexdigest()[:16]
        root = store.path if store.path is not None else settings.home / "eval-stores" / "current"
        self.path = root / f"baseline-{key}"
        self.client = _chroma_client(self.path / "chroma")
        collection = self.client.get_or_create_collection("baseline")
        vector_store = ChromaVectorStore(chroma_collection=collection)
        marker = self.path / "baseline.json"
        if marker.is_file() and collection.count() > 0:
            self.index = VectorStoreIndex.from_vector_store(vector_store, embed_model=embed)
        else:
            if collection.count():
                self.client.delete_collection("baseline")
                collection = self.client.get_or_create_collection("baseline")
                vector_store = ChromaVectorStore(chroma_collection=collection)
            t0 = time.perf_counter()
            docs = self._documents(list(hashes))
            ctx = StorageContext.from_defaults(vector_store=vector_store)
            self.index = VectorStoreIndex.from_documents(docs, storage_context=ctx, embed_model=embed, show_progress=show_progress)
            marker.write_text(json.dumps({"key": key, "documents": len(docs), "vectors": collection.count(),
                                          "build_s": round(time.perf_counter() - t0, 1)}), encoding="utf-8")
        self.retriever = self.index.as_retriever(similarity_top_k=k)
        self.engine = _timed_citation_engine(self.index, llm)

    def _documents(self, ids: list[str]) -> list[Any]:
        from llama_index.core import Document

        docs = []
        for aid in sorted(ids):
            art = self.texts.article(aid)
            if art is None or not art.text:
                continue
            docs.append(Document(
                text=art.text, id_=aid,
                metadata={"title": art.title, "source": art.source, "published": art.published, "article_id": aid},
                excluded_embed_metadata_keys=["article_id", "published"],
                excluded_llm_metadata_keys=["article_id", "published"],
            ))
        return docs

    # -- spans --------------------------------------------------------------------------------------
    def _span(self, node: Any, text: str) -> dict[str, Any] | None:
        """Map a (citation) node to a span of the stored article text."""
        aid = node.ref_doc_id or node.metadata.get("article_id")
        art_text = self.texts(aid) if aid else None
        if not art_text:
            return None
        body = _SOURCE_HEAD.sub("", text).strip()
        s0, e0 = node.start_char_idx, node.end_char_idx
        if body:
            if s0 is not None and e0 is not None:
                lo = max(0, s0 - 5)
                hits = M.locate(art_text[lo : e0 + 5], body, limit=1)
                if hits:
                    return {"article_id": aid, "start": lo + hits[0][0], "end": lo + hits[0][1]}
            hits = M.locate(art_text, body, limit=1)
            if hits:
                return {"article_id": aid, "start": hits[0][0], "end": hits[0][1]}
        if s0 is not None and e0 is not None and 0 <= s0 < e0 <= len(art_text):
            return {"article_id": aid, "start": s0, "end": e0}
        return None

    def _passage(self, nws: Any) -> dict[str, Any] | None:
        from llama_index.core.schema import MetadataMode

        sp = self._span(nws.node, nws.node.get_content(metadata_mode=MetadataMode.NONE))
        if sp is None:
            return None
        sp["quote"] = self.texts(sp["article_id"])[sp["start"] : sp["end"]]  # type: ignore[index]
        sp["score"] = float(nws.score or 0.0)
        return sp

    # -- asking -------------------------------------------------------------------------------------
    def predict(self, item: EvalItem) -> Prediction:
        from llama_index.core.schema import MetadataMode

        try:
            retrieved = [p for p in (self._passage(n) for n in self.retriever.retrieve(item.question)) if p]
            self.engine.last_retrieval_s = None
            t0 = time.perf_counter()
            resp = self.engine.query(item.question)
            first = None
            gen = getattr(resp, "response_gen", None)
            if gen is not None:
                parts = []
                for delta in gen:
                    if first is None and delta:
                        first = time.perf_counter() - t0
                    parts.append(delta)
                text = "".join(parts)
            else:
                text = str(getattr(resp, "response", "") or "")
            total = time.perf_counter() - t0
        except Exception as e:
            return Prediction(answer="", abstained=False, error=f"{type(e).__name__}: {e}")
        text = text.strip()
        if text == "Empty Response":
            text = ""
        abstained = says_dont_know(text)
        citations = []
        if not abstained:
            cited = sorted({int(a or b) for a, b in _CITED.findall(text)})
            for n in cited:
                if not 1 <= n <= len(resp.source_nodes):
                    continue
                node = resp.source_nodes[n - 1].node
                sp = self._span(node, node.get_content(metadata_mode=MetadataMode.NONE))
                if sp is None:
                    continue
                art = self.texts(sp["article_id"]) or ""
                citations.append({"n": n, **sp, "title": node.metadata.get("title", ""), "quote": art[sp["start"] : sp["end"]]})
        timings = {"retrieval_s": self.engine.last_retrieval_s or 0.0, "first_token_s": first if first is not None else total,
                   "total_s": total}
        return Prediction(answer=text, abstained=abstained, citations=citations, retrieved=retrieved, timings=timings,
                          mode="llamaindex")

    def close(self) -> None:
        self.texts.close()


def _timed_citation_engine(index: Any, llm: Any) -> Any:
    """`CitationQueryEngine.from_args(index, llm=llm, streaming=True)` that also times retrieval."""
    from llama_index.core.query_engine import CitationQueryEngine

    class TimedCitationQueryEngine(CitationQueryEngine):
        last_retrieval_s: float | None = None

        def retrieve(self, query_bundle: Any) -> Any:
            t = time.perf_counter()
            nodes = super().retrieve(query_bundle)
            self.last_retrieval_s = time.perf_counter() - t
            return nodes

    return TimedCitationQueryEngine.from_args(index, llm=llm, streaming=True)
