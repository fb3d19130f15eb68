"""citewire: local-first question answering over news articles with cited spans."""
__version__ = "0.1.0"
