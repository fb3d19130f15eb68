"""Cleaning: raw article text -> the stored article text.

Everything downstream (sentences, chunks, citations) uses character offsets into the text this
returns, so cleaning happens exactly once, before anything is stored.

Example:
    >>> clean_text("The council  met.\\n\\nBe First to Comment\\n")
    'The council met.'
"""

from __future__ import annotations

import re
import unicodedata

# Whole lines that are site furniture, not article text (matched case-insensitively, trimmed).
_BOILERPLATE = [
    r"be (the )?first to comment",
    r"advertisement",
    r"(sponsored|paid) content",
    r"(share|tweet|email|print)( (this|on) (article|story|facebook|twitter|x))?",
    r"share (this|on) .{0,30}",
    r"(click|tap) here to .{0,60}",
    r"subscribe( now| today)?( to .{0,60})?",
    r"sign up (for|to) .{0,80}",
    r"(follow|like) us on .{0,40}",
    r"read more:?.{0,80}",
    r"related( articles| stories)?:?",
    r"(leave|post) a comment",
    r"\d+ comments?",
    r"copyright .{0,80}all rights reserved\.?",
    r"all rights reserved\.?",
    r"ai-assisted summary",
    r"story continues below advertisement",
    r"skip (to|ad).{0,30}",
]
_BOILER_RE = re.compile(r"^\W*(?:" + "|".join(_BOILERPLATE) + r")\W*$", re.I)
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200b\u202f\u205f\u3000]+")
_CONTROL = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufeff]")


def is_boilerplate(line: str) -> bool:
    return bool(_BOILER_RE.match(line.strip())) if len(line) < 160 else False


def clean_text(text: str) -> str:
    """Normalize unicode (NFC), whitespace and line breaks; drop boilerplate lines.

    Paragraphs are separated by one blank line; inner runs of spaces collapse to one.
    """
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text)
    paragraphs: list[str] = []
    for line in text.split("\n"):
        line = _SPACES.sub(" ", line).strip()
        if not line or is_boilerplate(line):
            continue
        paragraphs.append(line)
    return "\n\n".join(paragraphs)


def clean_meta(value: str) -> str:
    """One metadata field (title, source, author, url) on one line: NFC, control characters dropped,
    every run of whitespace (newlines, tabs, Unicode line separators included) one space.

    Use it on every field shown next to an answer: a newline in a title could end an HTML block."""
    value = _CONTROL.sub("", unicodedata.normalize("NFC", value))
    return " ".join(_SPACES.sub(" ", value).split())


def clean_title(title: str) -> str:
    return clean_meta(title)
