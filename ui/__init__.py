"""citewire's Gradio chat UI: ask questions, see every claim's cited span, manage the library.

Modules: `ui.app` (layout, `build_app`, `launch`), `ui.chat` (chat/citation/API handlers),
`ui.library` (uploads and the Library tab), `ui.render` (escaped HTML), `ui.screenshot` (docs image).
Gradio is imported lazily, so ``import ui`` is cheap.

Example:
    >>> import ui
    >>> ui.launch(port=7860)          # same as `citewire ui`
"""

from __future__ import annotations

from typing import Any

__all__ = ["build_app", "launch"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from . import app

        return getattr(app, name)
    raise AttributeError(f"module 'ui' has no attribute {name!r}")
