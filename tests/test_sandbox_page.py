"""The sandbox page in a real browser, used as a person would: `make run`'s sandbox (the real
bot between both emulators), Chromium, and nothing but clicks and typing.

Each test starts its own card, so any one of them can run alone. Screenshots land in
`test-artifacts/browser/`; `make screenshots` also refreshes the README's pictures in docs/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from emulators.credentials import HANDINGER_KEY
from tests.browser import Sandbox, chromium, require_browser, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Dialog

pytestmark = pytest.mark.timeout(240)
WORKER_ID = re.compile(r"t_org_emu_w_[0-9A-Z]+")
DONE = re.compile(r"Done in")
WAIT_MS = 40_000


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    require_browser()
    running = Sandbox(tmp_path_factory.mktemp("sandbox")).start()
    httpx.get(f"{running.slack_url}/_emulator/connections", params={"min": 1, "timeout": 20})
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Any, sandbox: Sandbox) -> Iterator[Any]:
    """A fresh tab on the page; any script error or dialog on it fails the test."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    def dismiss(dialog: Dialog) -> None:
        problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    tab.on("dialog", dismiss)
    tab.goto(sandbox.slack_url + "/")
    expect(tab.locator("#connection")).to_have_text(re.compile("live"))
    try:
        yield tab
    finally:
        context.close()
    assert not problems, problems


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def type_in(page: Any, text: str, where: str = ".channel") -> None:
    box = page.locator(f"{where} .composer-input")
    box.fill(text)
    box.press("Enter")


def card(page: Any, instruction: str) -> Any:
    return page.locator("#messages .msg.from-bot", has_text=instruction).first


def finished_card(page: Any, instruction: str, marker: str | None = None) -> Any:
    """Type `/handinger instruction` and wait for its card (found by `marker`) to finish."""
    type_in(page, f"/handinger {instruction}")
    found = card(page, marker or instruction.split("[[")[0].strip())
    expect(found).to_contain_text(DONE, timeout=WAIT_MS)
    return found


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def markdown_words(markdown: str) -> list[str]:
    """The words a reader sees of a Markdown answer: link targets are not shown."""
    return words(re.sub(r"\]\([^)]*\)", "]", markdown))


def contains_run(haystack: list[str], needle: list[str]) -> bool:
    return any(haystack[i : i + len(needle)] == needle for i in range(len(haystack)))


def overview(sandbox: Sandbox) -> dict[str, Any]:
    answer = httpx.get(f"{sandbox.slack_url}/_sandbox/handinger/overview", timeout=10)
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


def test_the_page_shows_the_workspace_and_hints_the_slash_command(page: Any) -> None:
    channels = page.locator(".channel-link")
    expect(channels.filter(has_text="general")).to_have_count(1)
    expect(channels.filter(has_text="private")).to_have_count(1)
    expect(channels.filter(has_text="Handinger")).to_have_count(1)  # the DM with the app
    page.locator(".channel .composer-input").fill("/hand")
    hint = page.locator(".composer-hint")
    expect(hint).to_contain_text("/handinger")
    expect(hint).to_contain_text("<instruction> [--budget low|standard|high|unlimited]")


def test_a_card_streams_from_working_to_done_with_the_workers_answer(
    page: Any, sandbox: Sandbox
) -> None:
    type_in(page, "/handinger Summarise this week's tickets [[files=2]]")
    found = card(page, "Summarise this week")
    expect(found).to_contain_text(re.compile("starting|working|Working"), timeout=WAIT_MS)
    expect(found).to_contain_text(DONE, timeout=WAIT_MS)
    shown = found.inner_text()
    worker_id = WORKER_ID.search(shown)
    assert worker_id, shown
    worker = httpx.get(
        f"{sandbox.handinger_url}/api/workers/{worker_id.group()}",
        headers={"Authorization": f"Bearer {HANDINGER_KEY}"},
        timeout=10,
    ).json()
    assert worker["status"] == "completed"
    assert contains_run(words(shown), markdown_words(worker["output_text"]))
    expect(found.locator(".thread-summary")).to_contain_text("1 reply", timeout=WAIT_MS)
    screenshot(page, "sandbox-card", found)


def test_a_reply_in_the_thread_continues_the_worker(page: Any) -> None:
    root = finished_card(page, "Draft the release notes [[duration=1]]")
    root.hover()
    root.locator(".tool-reply").click()
    pane = page.locator("#pane")
    expect(pane).to_be_visible()
    type_in(page, "And a shorter version for the changelog?", where="#pane")
    replies = pane.locator(".thread-messages .msg.from-bot")
    expect(replies.filter(has_text="shorter version")).to_contain_text(DONE, timeout=WAIT_MS)
    asked = pane.locator(".thread-messages .msg[data-author='U0001']")
    expect(asked).to_contain_text("And a shorter version for the changelog?")
    asked.evaluate("node => node.scrollIntoView({block: 'start'})")
    page.mouse.move(1, 1)
    screenshot(page, "sandbox-thread")


def test_the_overflow_menu_answers_privately_with_the_email_address(page: Any) -> None:
    found = finished_card(page, "Collect the invoices [[duration=1]]")
    found.locator(".bk-overflow-button").click()
    found.locator(".menu-item", has_text="Email address").click()
    # The answer is private and in the card's thread, which opens to show it.
    private = page.locator("#pane .msg.ephemeral", has_text="inbound.handinger.test")
    expect(private).to_contain_text("Only visible to you", timeout=WAIT_MS)
    screenshot(page, "sandbox-email")


def test_schedule_this_shows_the_field_error_then_schedules(page: Any, sandbox: Sandbox) -> None:
    found = finished_card(page, "Check the uptime report [[duration=1]]")
    found.locator(".bk-overflow-button").click()
    found.locator(".menu-item", has_text="Schedule this").click()
    modal = page.locator(".modal[data-view-id]")
    expect(modal).to_be_visible(timeout=WAIT_MS)
    modal.locator("#in-when-value").fill("every banana")
    modal.locator(".modal-submit").click()
    error = modal.locator(".bk-field-error[data-block-id='when']")
    expect(error).to_be_visible(timeout=WAIT_MS)
    assert error.inner_text().strip()
    screenshot(page, "sandbox-modal-error")
    modal.locator("#in-when-value").fill("every 1d")
    modal.locator(".modal-submit").click()
    expect(modal).to_have_count(0, timeout=WAIT_MS)
    inputs = [s["input"] for s in overview(sandbox)["schedules"]]
    assert any("Check the uptime report" in text for text in inputs), inputs


def schedule(page: Any, command: str) -> None:
    """Type `/handinger schedule …` and wait for the private confirmation."""
    confirmations = page.locator("#messages .msg.ephemeral", has_text="Scheduled:")
    before = confirmations.count()
    type_in(page, command)
    expect(confirmations).to_have_count(before + 1, timeout=WAIT_MS)


def test_a_member_is_refused_cancelling_the_admins_schedule(page: Any, sandbox: Sandbox) -> None:
    schedule(page, "/handinger schedule every 1d Weekly numbers for the board")
    page.select_option("#me", "U0002")
    type_in(page, "/handinger schedules")
    listing = page.locator("#messages .msg.ephemeral", has_text="Schedules in this channel")
    row = listing.locator(".bk-section", has_text="Weekly numbers")
    row.locator("button", has_text="Cancel").click()
    page.locator(".confirm-ok").click()
    refusal = page.locator("#messages .msg.ephemeral", has_text="(who created it)")
    expect(refusal).to_contain_text("admins", timeout=WAIT_MS)
    screenshot(page, "sandbox-refused")
    inputs = [s["input"] for s in overview(sandbox)["schedules"]]
    assert any("Weekly numbers" in text for text in inputs), inputs


def test_the_clock_fires_a_schedule_and_its_digest_appears(page: Any) -> None:
    schedule(page, "/handinger schedule every 15m Quick digest of the inbox [[duration=1]]")
    digests = page.locator("#messages .msg.from-bot", has_text="Scheduled digest")
    before = digests.count()
    page.locator("#open-handinger").click()
    panel = page.locator(".handinger-panel")
    expect(panel.locator(".schedule", has_text="Quick digest")).to_be_visible(timeout=WAIT_MS)
    panel.locator(".fire-next").click()
    expect(digests).to_have_count(before + 1, timeout=WAIT_MS)
    expect(digests.last).to_contain_text(DONE, timeout=WAIT_MS)
    screenshot(page, "sandbox-digest")


HOSTILE = (
    '<b>bold?</b> <img src=x onerror="window.__pwned=1"> <script>window.__pwned=2</script> '
    "<!channel> [click me](javascript:window.__pwned=3) &lt;i&gt; "
)


def test_hostile_text_renders_inert(page: Any) -> None:
    type_in(page, HOSTILE + "from a person")
    mine = page.locator("#messages .msg[data-author='U0001']", has_text="from a person")
    expect(mine).to_contain_text("<script>window.__pwned=2</script>")
    found = finished_card(page, f"Echo this {HOSTILE} [[echo]] [[duration=1]]", "Echo this")
    messages = page.locator("#messages")
    for selector in ("script", "img[src='x']", "iframe", "a[href^='javascript']", "[onerror]"):
        expect(messages.locator(selector)).to_have_count(0)
    expect(found.locator(".pill-broadcast")).to_have_count(0)
    expect(found).to_contain_text("<script>window.__pwned=2</script>")  # shown, as text
    assert page.evaluate("window.__pwned") is None
    screenshot(page, "sandbox-hostile", found)


def open_schedule_modal(page: Any, found: Any) -> Any:
    found.locator(".bk-overflow-button").click()
    found.locator(".menu-item", has_text="Schedule this").click()
    modal = page.locator(".modal[data-view-id]")
    expect(modal).to_be_visible(timeout=WAIT_MS)
    return modal


def test_a_modal_is_shown_only_to_the_user_who_opened_it(page: Any) -> None:
    found = finished_card(page, "Tidy the backlog [[duration=1]]")
    alices = open_schedule_modal(page, found).get_attribute("data-view-id")
    page.select_option("#me", "U0002")
    expect(page.locator(".modal[data-view-id]")).to_have_count(0)
    expect(page.locator("#me option[value='U0001']")).to_contain_text("a modal open")
    bobs = open_schedule_modal(page, found).get_attribute("data-view-id")
    assert bobs != alices
    page.select_option("#me", "U0001")
    expect(page.locator(f".modal[data-view-id='{alices}']")).to_be_visible()
    expect(page.locator(".modal[data-view-id]")).to_have_count(1)
    page.locator(".modal-cancel").click()
    expect(page.locator(".modal[data-view-id]")).to_have_count(0, timeout=WAIT_MS)
    page.select_option("#me", "U0002")
    expect(page.locator(f".modal[data-view-id='{bobs}']")).to_be_visible()


def test_a_worker_links_to_its_thread_while_its_card_is_still_working(
    page: Any, sandbox: Sandbox
) -> None:
    handinger = sandbox.handinger_url + "/_emulator"
    hold = {"action": "hold", "method": "POST", "path": "^/api/workers$"}
    httpx.post(f"{handinger}/faults", json=hold, timeout=10).raise_for_status()
    try:
        # The worker is created but the app is not told yet: its card cannot finish meanwhile.
        type_in(page, "/handinger Audit the access logs")
        found = card(page, "Audit the access logs")
        expect(found).to_be_visible(timeout=WAIT_MS)
        page.locator("#open-handinger").click()
        worker = page.locator(".handinger-panel .worker", has_text="Audit the access logs")
        expect(worker.locator(".open-thread")).to_be_visible(timeout=WAIT_MS)
        expect(found).not_to_contain_text(DONE)
        worker.locator(".open-thread").click()
        root = page.locator("#pane .thread-messages .msg").first
        expect(root).to_contain_text("Audit the access logs")
    finally:
        httpx.post(f"{handinger}/release", json={}, timeout=10).raise_for_status()
    expect(found).to_contain_text(DONE, timeout=WAIT_MS)


def test_the_assistant_pane_streams_an_answer_and_the_home_tab_lists_it(page: Any) -> None:
    page.locator("#open-assistant").click()
    pane = page.locator("#pane")
    greeting = pane.locator(".thread-messages .msg.from-bot").filter(has_text="Hi!")
    expect(greeting).to_have_count(1, timeout=WAIT_MS)
    type_in(page, "Plan a team offsite [[duration=1]]", where="#pane")
    answer = pane.locator(".thread-messages .msg.from-bot").filter(has_text=DONE)
    expect(answer).to_have_count(1, timeout=WAIT_MS)
    expect(answer.locator(".task-timeline .task-complete").first).to_be_visible()
    expect(answer.locator(".bk-feedback button")).to_have_count(2)
    screenshot(page, "sandbox-assistant")
    page.locator("#open-home").click()
    expect(pane).to_contain_text("Your recent workers", timeout=WAIT_MS)
    expect(pane).to_contain_text("Plan a team offsite", timeout=WAIT_MS)
    expect(pane).not_to_contain_text("Context:")  # the note for the agent is not shown
    screenshot(page, "sandbox-home")


def test_a_person_attaches_a_file_then_asks_about_it_with_the_shortcut(
    page: Any, sandbox: Sandbox
) -> None:
    page.locator(".channel .composer-files").set_input_files(
        files=[{"name": "plan.txt", "mimeType": "text/plain", "buffer": b"Launch on Friday 9:00"}]
    )
    expect(page.locator(".channel .file-chip")).to_contain_text("plan.txt")
    type_in(page, "the launch plan")
    shared = page.locator("#messages .msg[data-author='U0001']", has_text="the launch plan").last
    expect(shared).to_contain_text("plan.txt", timeout=WAIT_MS)
    shared.hover()
    shared.locator(".tool-shortcut").click()
    shared.locator(".menu-item", has_text="Ask Handinger").click()
    modal = page.locator(".modal[data-view-id]")
    expect(modal).to_be_visible(timeout=WAIT_MS)
    modal.locator("#in-instruction-value").fill("When is the launch?")
    modal.locator(".modal-submit").click()
    expect(modal).to_have_count(0, timeout=WAIT_MS)
    expect(shared.locator(".thread-summary")).to_contain_text("1 reply", timeout=WAIT_MS)
    workers = httpx.get(
        f"{sandbox.handinger_url}/_emulator/workers",
        headers={"Authorization": f"Bearer {HANDINGER_KEY}"},
        timeout=10,
    ).json()
    sent = [text for w in workers for text in w["inputs"] if "When is the launch?" in text]
    assert len(sent) == 1 and "Launch on Friday 9:00" in sent[0], sent
