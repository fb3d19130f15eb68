"""The verifier as a unit: scripted drafts against hand-made evidence."""

from ingest.types import Article
from rag.evidence import Evidence
from rag.verify import Verifier, split_claims

TEXT = ("Ukraine’s air force said Russia launched 550 drones and missiles nationwide during the night. "
        "At least 14 people were hospitalized, according to Kyiv Mayor Vitali Klitschko.")
ART = Article(id="a1", text=TEXT, title="t")
S1 = TEXT.index(".") + 1
EV = [Evidence(1, ART, 0, S1, 0.9, 0.8, 0.9), Evidence(2, ART, S1 + 1, len(TEXT), 0.7, 0.6, 0.5)]


def test_split_claims_reads_markers():
    assert split_claims("Russia launched 550 drones [1]. Klitschko said 14 were hurt. [2]") == [
        ("Russia launched 550 drones.", [1]), ("Klitschko said 14 were hurt.", [2])]


def test_supported_claim_is_kept_with_its_citation():
    v = Verifier().verify("Russia launched 550 drones and missiles [1].", EV)
    assert [(c.text, c.evidence) for c in v.claims] == [("Russia launched 550 drones and missiles.", (1,))]


def test_unsupported_number_is_dropped():
    v = Verifier().verify("Russia launched 500 drones and missiles [1].", EV)
    assert v.claims == [] and v.dropped == ["Russia launched 500 drones and missiles."]


def test_unknown_name_is_dropped():
    v = Verifier().verify("Mayor Boris Johnson said 14 people were hospitalized [2].", EV)
    assert v.claims == []


def test_wrong_or_missing_citation_is_reattributed():
    v = Verifier().verify("At least 14 people were hospitalized [1]. Russia launched 550 drones.", EV)
    assert [(c.evidence, c.reattributed) for c in v.claims] == [((2,), True), ((1,), True)]


def test_nonexistent_marker_is_not_trusted():
    v = Verifier().verify("Russia launched 550 drones and missiles [7].", EV)
    assert v.claims[0].evidence == (1,) and v.claims[0].reattributed


def test_not_found_is_recognised():
    v = Verifier().verify("NOT FOUND", EV)
    assert v.says_not_found and v.claims == []


def test_asserted_words_must_keep_the_evidence_phrasing():
    text = "He insisted that any peace deal must include Ukraine abandoning its NATO bid and recognizing Russia’s territorial gains."
    art = Article(id="a2", text=text, title="t")
    ev = [Evidence(1, art, 0, len(text), 0.9, 0.8, 0.9)]
    q = "What must any peace deal include?"
    assert Verifier().verify("Any peace deal must include Ukraine’s territorial gains [1].", ev, q).claims == []
    kept = Verifier().verify("It must include recognizing Russia’s territorial gains [1].", ev, q).claims
    assert [c.evidence for c in kept] == [(1,)]
