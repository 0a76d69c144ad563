"""Pages in a real browser at a laptop's size (1366x768) and a phone's (390x844): every page
each demo role reaches passes axe-core's WCAG 2.1 A/AA rules and nothing hides sideways; lists
fit a laptop without sideways scrolling and are cards on a phone with their actions in view;
the live score folds above the list on a phone; the keyboard reaches everything, visibly.

axe-core is served from tests/vendor (never from a CDN) and injected by Playwright, which
bypasses the portal's CSP for it."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.test_browser import NAVIGATION, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.real_commits]

AXE = Path(__file__).parent / "vendor" / "axe-core-4.14.1.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
LAPTOP, PHONE = (1366, 768), (390, 844)
PRINCIPAL = "hieutruong@thcva.edu.vn"
LISTS = ["rooms", "equipment", "network-lines", "software", "materials", "staff"]
SCORED = {"rooms", "equipment", "software", "materials", "staff"}  # lists with the live score beside them

# How far the page, or any box in it that scrolls sideways, hides content (as in shared/tools/screens.py).
SIDEWAYS = """() => Math.max(document.documentElement.scrollWidth - window.innerWidth,
  ...[...document.querySelectorAll('*')].filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
     .map(e => e.scrollWidth - e.clientWidth), 0)"""

# Links not to follow: files (exports, templates, evidence downloads and previews), the API, assets.
NOT_PAGES = re.compile(r"\.\w+$|/(download|preview)$|^/(api|static)/|^/healthz")


def accessibility_problems(tab) -> list[str]:
    """axe-core's serious and critical violations of WCAG 2.1 A and AA on the page, one text
    each: the rule, the page and the nodes."""
    tab.add_script_tag(path=str(AXE))
    result = tab.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        WCAG_TAGS)
    path = urlsplit(tab.url).path
    return [f"{rule['id']} ({rule['impact']}) on {path}: {rule['help']}\n" + "\n".join(
        f"    {' '.join(map(str, node['target']))}: {' '.join(node.get('failureSummary', '').split())}"
        for node in rule["nodes"][:5])
        for rule in result["violations"] if rule["impact"] in ("serious", "critical")]


def sideways(tab) -> int:
    return tab.evaluate(SIDEWAYS)


# What sticks out: the elements wider than the box that scrolls them (for the failure message).
STICKING_OUT = """() => [...document.querySelectorAll('body *')].filter(element => {
    const box = element.getBoundingClientRect(), scroller = element.closest('.table-responsive') || document.body;
    return box.width && box.right > scroller.getBoundingClientRect().right + 1;
  }).slice(-3).map(element => element.tagName.toLowerCase() + '.' + [...element.classList].join('.') + ' "'
    + (element.innerText || '').slice(0, 60) + '"')"""


def shape(path: str) -> str:
    """A path with its record ids blanked: pages of one shape are checked once."""
    return re.sub(r"/\d+(?=/|$)", "/N", path)


def walk(tab, start: str = "/"):
    """Every page reachable by links from ``start``, one of each shape: yields each path
    with the tab on it."""
    origin = urlsplit(tab.url).netloc
    seen, queue = {shape(start)}, [start]
    while queue:
        path = queue.pop(0)
        response = tab.goto(path)
        assert response.status < 400, f"{path}: {response.status}"
        yield path
        for href in tab.eval_on_selector_all("a[href]", "links => links.map(link => link.href)"):
            link = urlsplit(href)
            if link.netloc != origin or NOT_PAGES.search(link.path) or shape(link.path) in seen:
                continue
            seen.add(shape(link.path))
            queue.append(link.path)


# aria-describedby and aria-labelledby naming an element the page does not have.
DANGLING_REFERENCES = """() => [...document.querySelectorAll('[aria-describedby], [aria-labelledby]')]
  .flatMap(element =>
  ['aria-describedby', 'aria-labelledby'].flatMap(name => (element.getAttribute(name) || '').split(/\\s+/)
    .filter(id => id && !document.getElementById(id)).map(id => `${element.id || element.tagName} ${name}=${id}`)))"""


def check_page(tab, problems: list[str]) -> None:
    problems.extend(accessibility_problems(tab))
    problems.extend(f"{urlsplit(tab.url).path}: {dangling} names no element"
                    for dangling in tab.evaluate(DANGLING_REFERENCES))
    hidden = sideways(tab)
    if hidden:
        problems.append(f"{urlsplit(tab.url).path}: content hidden sideways by {hidden}px: "
                        f"{tab.evaluate(STICKING_OUT)}")


@pytest.mark.long
@pytest.mark.parametrize("email", list(NAVIGATION))
def test_every_page_a_role_reaches_passes_the_accessibility_check_on_a_laptop(open_page, email):
    tab = open_page(*LAPTOP)
    sign_in(tab, email)
    expect(tab.get_by_test_id("nav")).to_be_visible()
    problems: list[str] = []
    visited = []
    for path in walk(tab):
        visited.append(path)
        check_page(tab, problems)
    assert len(visited) >= len(NAVIGATION[email]), visited
    assert problems == [], "\n".join(problems)


@pytest.mark.long
@pytest.mark.parametrize("email", [PRINCIPAL, "admin@demo.edu.vn"])
def test_no_page_hides_content_sideways_on_a_phone(open_page, email):
    tab = open_page(*PHONE)
    sign_in(tab, email)
    expect(tab.get_by_test_id("nav")).to_be_attached()
    hidden = {}
    for path in [*walk(tab), "/schools/1/equipment/labels?ids=1&ids=2&ids=3"]:
        if "?" in path:
            tab.goto(path)
        hidden[path] = sideways(tab)
    assert {path: pixels for path, pixels in hidden.items() if pixels} == {}


def test_sign_in_error_refused_form_and_sorted_list_pages_pass_the_accessibility_check(open_page):
    problems: list[str] = []
    for size in (LAPTOP, PHONE):
        tab = open_page(*size)
        tab.goto("/login")
        check_page(tab, problems)
        sign_in(tab, PRINCIPAL, "sai-mat-khau")
        expect(tab.get_by_role("alert")).to_be_visible()
        check_page(tab, problems)
        sign_in(tab, PRINCIPAL)
        tab.goto("/schools/1/equipment/new")
        tab.get_by_role("button", name="Lưu").click()  # nothing filled in: every required field says so
        expect(tab.locator(".invalid-feedback").first).to_be_visible()
        check_page(tab, problems)
        assert tab.locator("[aria-invalid=true][aria-describedby]").count() > 0  # errors are tied to their fields
        tab.goto("/schools/1/equipment/labels?ids=1&ids=2")
        check_page(tab, problems)
        tab.goto("/schools/1/equipment?sort=name&dir=desc&q=may&status=in_use&page=1")  # sorted, searched, filtered
        check_page(tab, problems)
        assert tab.goto("/no-such-page").status == 404
        check_page(tab, problems)
    assert problems == [], "\n".join(problems)


# --- lists on a laptop and a phone --------------------------------------------------


def signed_in(open_page, size):
    tab = open_page(*size)
    sign_in(tab, PRINCIPAL)
    expect(tab.get_by_test_id("nav")).to_be_attached()
    return tab


@pytest.mark.parametrize("name", LISTS)
def test_lists_fit_a_laptop_with_the_score_open_beside_them(open_page, name):
    tab = signed_in(open_page, LAPTOP)
    tab.goto(f"/schools/1/{name}")
    assert sideways(tab) == 0
    table = tab.get_by_test_id("list")
    rows = table.locator("tbody tr")
    assert rows.count() > 1
    assert rows.first.evaluate("row => getComputedStyle(row).display") == "table-row"
    # No word is broken inside a column header: each header is as wide as its longest word.
    broken = tab.evaluate("""() => [...document.querySelectorAll('[data-testid=list] th')]
        .filter(th => th.offsetParent && th.scrollWidth > th.clientWidth + 1).map(th => th.innerText)""")
    assert broken == []
    if name in SCORED:
        panel = tab.get_by_test_id("score-panel")
        expect(panel.locator("details")).to_have_attribute("open", "")
        expect(panel.get_by_role("link", name="Bảng điểm đầy đủ")).to_be_visible()
        beside = panel.bounding_box()
        assert beside["x"] >= table.bounding_box()["x"] + table.bounding_box()["width"]
        assert beside["width"] >= 320


@pytest.mark.parametrize("name", LISTS)
def test_lists_are_cards_on_a_phone_with_their_actions_in_view(open_page, name):
    tab = signed_in(open_page, PHONE)
    tab.goto(f"/schools/1/{name}")
    assert sideways(tab) == 0
    rows = tab.get_by_test_id("list").locator("tbody tr")
    assert rows.count() > 1
    cards = rows.evaluate_all("""rows => rows.map(row => {
        const box = row.getBoundingClientRect();
        const inView = element => { const b = element.getBoundingClientRect();
          return b.width > 0 && b.height > 0 && b.left >= 0 && b.right <= window.innerWidth; };
        return {display: getComputedStyle(row).display, left: box.left, right: box.right,
                actions: [...row.querySelectorAll('a.btn, button, input[type=checkbox]')].map(inView),
                labelled: [...row.querySelectorAll('td[data-label]')].filter(cell => cell.offsetParent)
                  .every(cell => getComputedStyle(cell, '::before').content.includes(cell.dataset.label))};
    })""")
    for card in cards:
        assert card["display"] != "table-row"
        assert 0 <= card["left"] and card["right"] <= PHONE[0]
        assert card["actions"] and all(card["actions"]), card
        assert card["labelled"]
    first = rows.first
    expect(first.get_by_role("link", name="Sửa")).to_be_visible()
    expect(first.get_by_role("button", name="Xoá")).to_be_visible()
    if name == "equipment":
        expect(first.get_by_role("checkbox")).to_be_visible()
        expect(tab.get_by_label("Chọn tất cả trên trang này")).to_be_visible()
    if name in SCORED:
        panel = tab.get_by_test_id("score-panel")
        assert panel.bounding_box()["y"] + panel.bounding_box()["height"] <= first.bounding_box()["y"]
        expect(panel.locator("details")).not_to_have_attribute("open", "")
        expect(panel.get_by_role("link", name="Bảng điểm đầy đủ")).to_be_hidden()
        panel.get_by_text("Điểm hiện tại").click()
        expect(panel.get_by_role("link", name="Bảng điểm đầy đủ")).to_be_visible()
    problems = accessibility_problems(tab)
    assert problems == [], "\n".join(problems)


# --- the keyboard ----------------------------------------------------------------------


def focused(tab) -> dict:
    return tab.evaluate("""() => { const element = document.activeElement, style = getComputedStyle(element);
        return {tag: element.tagName, text: element.innerText || element.value || '', id: element.id,
                outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2}; }""")


def test_the_skip_link_comes_first_and_every_control_shows_its_focus(open_page):
    tab = signed_in(open_page, LAPTOP)
    tab.goto("/schools/1/equipment")
    tab.keyboard.press("Tab")
    first = focused(tab)
    assert first["text"] == "Bỏ qua đến nội dung chính" and first["outline"]
    tab.keyboard.press("Enter")
    assert focused(tab)["id"] == "main"
    tab.keyboard.press("Tab")
    assert focused(tab)["tag"] in ("A", "INPUT", "BUTTON", "SELECT", "SUMMARY")
    tab.goto("/schools/1/equipment")
    unseen = []
    for _ in range(60):
        tab.keyboard.press("Tab")
        now = focused(tab)
        if not now["outline"]:
            unseen.append(now)
    assert unseen == []


def test_the_language_switch_and_the_menus_work_with_the_keyboard(open_page):
    tab = signed_in(open_page, LAPTOP)
    try:
        tab.get_by_role("button", name="English").focus()
        tab.keyboard.press("Enter")
        expect(tab.locator("html")).to_have_attribute("lang", "en")
        expect(tab.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")
        tab.get_by_role("button", name="Tiếng Việt").focus()
        tab.keyboard.press("Space")
        expect(tab.locator("html")).to_have_attribute("lang", "vi")
    finally:  # the choice stays with the user: leave them in Vietnamese for the tests after this one
        if tab.locator("html").get_attribute("lang") != "vi":
            tab.get_by_role("button", name="Tiếng Việt").click()
        expect(tab.locator("html")).to_have_attribute("lang", "vi")  # no page load still under way

    menu = tab.get_by_test_id("user-menu")
    menu.focus()
    tab.keyboard.press("Enter")
    expect(tab.get_by_role("link", name="Tài khoản của tôi")).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "true")
    tab.keyboard.press("ArrowDown")
    assert focused(tab)["text"] == "Tài khoản của tôi"
    tab.keyboard.press("Escape")
    expect(tab.get_by_role("link", name="Tài khoản của tôi")).to_be_hidden()

    phone = signed_in(open_page, PHONE)
    expect(phone.get_by_test_id("nav")).to_be_hidden()
    phone.get_by_role("button", name="Trình đơn").focus()
    phone.keyboard.press("Enter")
    expect(phone.get_by_test_id("nav").get_by_role("link", name="Kiểm kê")).to_be_visible()


def test_the_user_menu_names_the_role_once(open_page):
    """The administrator's name is the role's ("Quản trị hệ thống"): it is not said twice."""
    admin = open_page(*LAPTOP)
    sign_in(admin, "admin@demo.edu.vn")
    expect(admin.get_by_test_id("user-menu")).to_have_text("Quản trị hệ thống")
    principal = signed_in(open_page, LAPTOP)
    expect(principal.get_by_test_id("user-menu")).to_have_text("Nguyễn Thị Hoa · Hiệu trưởng")


def test_the_navigation_marks_the_section_of_the_page_shown(open_page):
    tab = signed_in(open_page, LAPTOP)
    navigation = tab.get_by_test_id("nav")
    for path, current in (("/schools/1/equipment/1", "Kiểm kê"), ("/schools/1/inventory/summary", "Kiểm kê"),
                          ("/schools/1/score", "Điểm số"), ("/schools/1", "Trường của tôi"),
                          ("/users/new", "Người dùng")):
        tab.goto(path)
        expect(navigation.locator("[aria-current=page]")).to_have_text(current)
    admin = open_page(*LAPTOP)
    sign_in(admin, "admin@demo.edu.vn")
    admin.goto("/schools/1/equipment")
    expect(admin.get_by_test_id("nav").locator("[aria-current=page]")).to_have_text("Các trường")
