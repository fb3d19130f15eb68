"""The chat UI in a real headless Chromium (Debian's, driven by Playwright) on a live app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ui.render import parse_cite_ref
from ui.screenshot import FINAL_ANSWER, SEED_QUESTION, ask, open_citation

pytestmark = [pytest.mark.slow, pytest.mark.integration]

NEW_ARTICLE_TITLE = "Gdansk Harbor Lights jazz festival breaks attendance record"
NEW_ARTICLE = f"""{NEW_ARTICLE_TITLE}
The Harbor Lights jazz festival in Gdansk drew 48,000 visitors over its three days, organisers said on Sunday.
The festival's closing concert was played by the Baltic Brass Orchestra on a floating stage.
"""


def toast_text(page: Any) -> str:
    page.wait_for_selector(".toast-body", timeout=15_000)
    return " ".join(page.locator(".toast-body").all_inner_texts())


def cite_ref(marker: Any) -> dict:
    ref = parse_cite_ref(marker.get_attribute("href"))
    assert ref is not None, marker.get_attribute("href")
    return ref


def cited_article_ids(answer: Any) -> set[str]:
    return {cite_ref(m)["article_id"] for m in answer.locator("a.cw-cite").all()}


def test_answer_marker_opens_article_with_exact_highlight(page: Any, live_app: Any, tmp_path: Path) -> None:
    answer = ask(page, SEED_QUESTION)
    marker = answer.locator(".cw-text a.cw-cite").first
    assert marker.count() == 1, answer.inner_html()
    payload = cite_ref(marker)
    n = payload["n"]

    expected = {c.n: c for c in live_app.engine.ask(SEED_QUESTION).citations}
    assert n in expected, (n, expected)
    c = expected[n]
    assert (payload["article_id"], payload["start"], payload["end"]) == (c.article_id, c.start, c.end)
    assert marker.get_attribute("title") == " ".join(c.quote.split())[:300]  # hover shows the quote

    highlighted = open_citation(page, marker)
    art = live_app.engine.article(c.article_id)
    assert highlighted == c.quote == art.text[c.start : c.end]
    head = page.locator("#cw-panel .cw-article-head").inner_text()
    assert art.title in head and art.source in head
    assert page.locator("#cw-panel mark#cw-mark").is_visible()
    in_view = page.evaluate(
        "() => { const m = document.getElementById('cw-mark').getBoundingClientRect();"
        " const box = document.querySelector('#cw-panel .cw-article-text').getBoundingClientRect();"
        " return m.top >= box.top - 1 && m.bottom <= box.bottom + 1; }")
    assert in_view
    assert answer.locator(".cw-sources li").count() == len(expected)
    assert any("550" in q for q in answer.locator(".cw-sources .cw-quote").all_inner_texts())
    page.screenshot(path=str(tmp_path / "citation.png"), full_page=True)


def test_follow_up_question_keeps_the_conversation(page: Any) -> None:
    first = ask(page, SEED_QUESTION)
    assert first.locator("a.cw-cite").count() > 0
    follow = ask(page, "How many of them did air defenses shoot down?")
    assert follow.inner_text().strip()
    users = page.locator("#cw-chat .cw-user").all_inner_texts()
    assert users == [SEED_QUESTION, "How many of them did air defenses shoot down?"]
    assert page.locator(FINAL_ANSWER).count() == 2
    page.locator("#cw-clear").click()
    page.wait_for_function("() => document.querySelectorAll('#cw-chat .cw-user').length === 0")


def test_sessions_have_separate_histories(browser: Any, live_app: Any) -> None:
    pages = []
    questions = [SEED_QUESTION, "Who said it was a harsh, sleepless night?"]
    contexts = [browser.new_context() for _ in questions]
    try:
        for ctx in contexts:
            pg = ctx.new_page()
            pg.goto(live_app.url)
            pages.append(pg)
        for pg, q in zip(pages, questions, strict=True):  # submit both before waiting: served concurrently
            pg.locator("#cw-question textarea, #cw-question input").first.fill(q)
            pg.locator("#cw-ask").click()
        for pg, q in zip(pages, questions, strict=True):
            pg.wait_for_selector(FINAL_ANSWER, timeout=120_000)
            assert pg.locator("#cw-chat .cw-user").all_inner_texts() == [q]
            assert pg.locator(FINAL_ANSWER).count() == 1
    finally:
        for ctx in contexts:
            ctx.close()


def test_abstention_is_distinct_and_related_passages_open(page: Any, live_app: Any) -> None:
    answer = ask(page, "Who won the 2022 World Cup final?")
    assert "cw-abstained" in (answer.get_attribute("class") or "")
    assert "The articles don't say" in answer.inner_text() and "Closest related passages" in answer.inner_text()
    assert answer.locator(".cw-sources").count() == 0
    related = answer.locator(".cw-related a.cw-cite")
    assert related.count() > 0
    ref = cite_ref(related.first)
    highlighted = open_citation(page, related.first)
    assert highlighted == live_app.engine.article(ref["article_id"]).text[ref["start"] : ref["end"]]


def test_source_filter_restricts_the_answer(page: Any) -> None:
    page.get_by_text("Filters & settings").click()
    source = page.locator("#cw-source input").first
    source.click()
    options = page.get_by_role("option").all_inner_texts()
    assert {"All sources", "Associated Press", "Citewire Test Wire"} <= {o.split("\n")[-1].strip() for o in options}
    page.get_by_role("option", name="Citewire Test Wire").click()
    assert "llama.cpp" in page.locator("#cw-backend").inner_text()
    answer = ask(page, SEED_QUESTION)
    assert "Associated Press" not in answer.inner_text()
    assert "550" not in answer.inner_text()


def test_script_in_an_article_is_shown_as_text_and_never_runs(page: Any, pwned_article: Any) -> None:
    answer = ask(page, pwned_article.question)
    links = [m for m in answer.locator("a.cw-cite").all() if cite_ref(m)["article_id"] == pwned_article.id]
    assert links, answer.inner_html()
    open_citation(page, links[0])
    panel_text = page.locator("#cw-panel .cw-article-text").text_content() or ""
    assert "<script>window.__pwned=1</script>" in panel_text
    assert page.locator("#cw-panel script, #cw-chat script").count() == 0
    assert page.evaluate("() => typeof window.__pwned") == "undefined"


def dismiss_toasts(page: Any) -> None:
    for close in page.locator(".toast-close").all():
        close.click()
    page.wait_for_function("() => document.querySelectorAll('.toast-body').length === 0", timeout=15_000)


def test_bad_questions_show_a_message_and_the_app_keeps_working(page: Any) -> None:
    page.locator("#cw-ask").click()
    assert "type a question" in toast_text(page)
    assert page.locator("#cw-chat .cw-user").count() == 0
    dismiss_toasts(page)

    # 10.2k characters (the API test sends a long question that reaches the LLM; this one abstains fast)
    page.locator("#cw-question textarea, #cw-question input").first.fill("zyzzogeton " * 930)
    page.locator("#cw-ask").click()
    assert "shortened" in toast_text(page)
    page.wait_for_selector(FINAL_ANSWER, timeout=120_000)
    assert "The articles don't say" in page.locator(FINAL_ANSWER).last.inner_text()
    assert len(page.locator("#cw-chat .cw-user").last.inner_text()) <= 2000
    page.locator("#cw-clear").click()  # else the follow-up is condensed with the 2000-char question
    page.wait_for_function("() => document.querySelectorAll('#cw-chat .cw-user').length === 0")
    ok = ask(page, SEED_QUESTION)
    assert ok.locator("a.cw-cite").count() > 0


def test_upload_ingest_ask_and_remove(page: Any, live_app: Any, tmp_path: Path) -> None:
    src = tmp_path / "jazz festival (draft).txt"
    src.write_text(NEW_ARTICLE, encoding="utf-8")
    page.get_by_role("tab", name="Library").click()
    page.locator("#cw-upload input[type=file]").set_input_files(str(src))
    page.locator("#cw-ingest").click()
    page.wait_for_function("() => (document.querySelector('#cw-lib-status')?.innerText || '').includes('added 1')",
                           timeout=120_000)
    page.wait_for_function("(t) => document.querySelector('#cw-articles').innerText.includes(t)",
                           arg=NEW_ARTICLE_TITLE)
    from ui.library import content_hash

    staged = live_app.settings.uploads_path / content_hash(src) / "jazz_festival_draft.txt"
    assert staged.read_text(encoding="utf-8") == NEW_ARTICLE
    new_ids = [a.id for a in live_app.engine.articles() if a.title == NEW_ARTICLE_TITLE]
    assert len(new_ids) == 1

    page.get_by_role("tab", name="Ask").click()
    answer = ask(page, "How many visitors did the Harbor Lights jazz festival in Gdansk draw?")
    assert new_ids[0] in cited_article_ids(answer), answer.inner_html()

    page.get_by_role("tab", name="Library").click()
    choice = page.locator("#cw-remove-choice input").first
    choice.click()
    choice.fill("Harbor Lights")
    page.get_by_role("option", name=NEW_ARTICLE_TITLE, exact=False).first.click()
    page.locator("#cw-remove").click()
    page.wait_for_function("() => (document.querySelector('#cw-lib-status')?.innerText || '').includes('Removed')")
    page.wait_for_function("(t) => !document.querySelector('#cw-articles').innerText.includes(t)",
                           arg=NEW_ARTICLE_TITLE)
    assert not [a for a in live_app.engine.articles() if a.id == new_ids[0]]


def test_bad_upload_is_reported(page: Any, tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_bytes(b"\x00\x01binary junk")
    page.get_by_role("tab", name="Library").click()
    page.locator("#cw-upload input[type=file]").set_input_files(str(bad))
    page.locator("#cw-ingest").click()
    page.wait_for_function("() => (document.querySelector('#cw-lib-status')?.innerText || '').includes('Not ingested')",
                           timeout=60_000)
    status = page.locator("#cw-lib-status").inner_text()
    assert "notes.txt" in status and "binary" in status
    assert "could not be ingested" in toast_text(page)
