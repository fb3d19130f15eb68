"""citewire query engine: answers with verified, character-exact cited spans.

Example:
    >>> from rag import Engine
    >>> ans = Engine.open().ask("How many drones and missiles did Russia launch?")
    >>> print(ans.text, ans.citations[0].quote)
"""

from .engine import Engine
from .errors import BadQuestionError, CitewireError, EmptyStoreError, LLMUnavailableError
from .filters import Filters
from .types import Answer, AnswerEvent, Citation, Passage, StatusEvent, TokenEvent

__all__ = ["Answer", "AnswerEvent", "BadQuestionError", "Citation", "CitewireError", "EmptyStoreError", "Engine",
           "Filters", "LLMUnavailableError", "Passage", "StatusEvent", "TokenEvent"]
