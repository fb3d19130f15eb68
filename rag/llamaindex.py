"""citewire as a llama-index query engine: span citations for llama-index apps.

`CitewireQueryEngine` is a `BaseQueryEngine`; its `Response.source_nodes` are one `TextNode` per
citation whose `start_char_idx`/`end_char_idx` are the exact span in the stored article and whose
text is the quote, so any llama-index UI or evaluator that shows source nodes shows exact spans.

Example:
    >>> from rag import Engine
    >>> from rag.llamaindex import CitewireQueryEngine
    >>> qe = CitewireQueryEngine(Engine.open())
    >>> resp = qe.query("How many drones did Russia launch?")
    >>> resp.source_nodes[0].node.start_char_idx, resp.metadata["abstained"]
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.base_query_engine import BaseQueryEngine
from llama_index.core.base.response.schema import Response
from llama_index.core.callbacks import CallbackManager
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from .engine import Engine
from .types import Answer


def answer_to_response(ans: Answer) -> Response:
    nodes = [
        NodeWithScore(node=TextNode(
            id_=f"{c.article_id}:{c.start}-{c.end}", text=c.quote, start_char_idx=c.start, end_char_idx=c.end,
            metadata={"n": c.n, "article_id": c.article_id, "title": c.title, "source": c.source, "url": c.url,
                      "published": c.published},
        ), score=1.0)
        for c in ans.citations
    ]
    return Response(response=ans.text, source_nodes=nodes,
                    metadata={"abstained": ans.abstained, "timings": ans.timings,
                              "related": [p.to_dict() for p in ans.related]})


class CitewireQueryEngine(BaseQueryEngine):
    """A llama-index query engine backed by citewire's verified span citations."""

    def __init__(self, engine: Engine, filters: dict[str, Any] | None = None,
                 callback_manager: CallbackManager | None = None) -> None:
        self.engine = engine
        self.filters = filters
        super().__init__(callback_manager=callback_manager or CallbackManager([]))

    def _get_prompt_modules(self) -> dict[str, Any]:
        return {}

    def _query(self, query_bundle: QueryBundle) -> Response:
        return answer_to_response(self.engine.ask(query_bundle.query_str, filters=self.filters))

    async def _aquery(self, query_bundle: QueryBundle) -> Response:
        return self._query(query_bundle)
