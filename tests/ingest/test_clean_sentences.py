from pathlib import Path

from ingest.clean import clean_text, is_boilerplate
from ingest.sentences import split_sentences


def sents(text: str) -> list[str]:
    return [text[s.start:s.end] for s in split_sentences(text)]


def test_clean_drops_boilerplate_and_normalizes_whitespace():
    raw = "Kyiv  was\thit overnight.\r\n\r\nBe First to Comment\nAdvertisement\n  Share this article \nMore text here.\n"
    assert clean_text(raw) == "Kyiv was hit overnight.\n\nMore text here."


def test_boilerplate_is_not_matched_inside_real_sentences():
    assert is_boilerplate("Be First to Comment")
    assert not is_boilerplate("Readers were asked to be first to comment on the plan, officials said.")


def test_sentences_abbreviations_and_numbers():
    text = "U.S. President Donald Trump spoke to Gov. Smith on Friday. The front line is 1,000 km long and 3.8 million fled."
    assert sents(text) == [
        "U.S. President Donald Trump spoke to Gov. Smith on Friday.",
        "The front line is 1,000 km long and 3.8 million fled.",
    ]


def test_sentences_quotes_stay_whole():
    text = "“It was a harsh, sleepless night,” Zelenskyy said. He called it terror."
    assert sents(text) == ["“It was a harsh, sleepless night,” Zelenskyy said.", "He called it terror."]


def test_headline_without_full_stop_is_its_own_sentence():
    text = "Russia pounds Kyiv\n\nWaves of drones hit the capital. Mr. Klitschko said 14 were hospitalized."
    assert sents(text) == ["Russia pounds Kyiv", "Waves of drones hit the capital.", "Mr. Klitschko said 14 were hospitalized."]


def test_sentence_offsets_are_exact():
    demo = Path(__file__).resolve().parents[2] / "citewire" / "data" / "corpus" / "ap-kyiv-drone-attack.md"
    text = clean_text(demo.read_text(encoding="utf-8").split("---", 2)[2])
    spans = split_sentences(text)
    assert len(spans) > 25
    for a, b in zip(spans, spans[1:]):
        assert a.end <= b.start
    for s in spans:
        piece = text[s.start:s.end]
        assert piece == piece.strip() and piece
