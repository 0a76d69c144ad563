"""The district's pages under attack: an officer never learns anything of another
district (schools, evidence titles, cross-checks) through any page, export, API call or
query parameter; the province pages stay the admins'; names typed by schools and
districts are shown as text (HTML, SVG, XLSX, download name); odd input is never a 500;
and reading these pages changes nothing."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.extensions import db
from tests import files
from tests.builders import bearer
from tests.test_assessments import Api

DISTRICT = "Krông Nô"


@pytest.fixture()
def two_districts(build, make_client):
    """Two schools of one district, one of a neighbouring district, and signed-in clients
    (with API tokens) for each district's officer, the admin and a school's principal."""
    schools = {
        "A": build.school(code="KNA", name="Trường Tiểu học Đinh Tiên Hoàng", district=DISTRICT),
        "B": build.school(code="KNB", name="Trường Tiểu học Lê Lợi", district=DISTRICT),
        "X": build.school(code="CJX", name="Trường Tiểu học Cư Jút", district="Cư Jút"),
    }
    clients, tokens = {}, {}
    for name, user in (("officer", build.user(Role.DISTRICT, district=schools["A"].district)),
                       ("other", build.user(Role.DISTRICT, district=schools["X"].district)),
                       ("admin", build.user(Role.ADMIN)),
                       ("principal", build.user(Role.PRINCIPAL, school=schools["A"]))):
        clients[name] = make_client()
        clients[name].login(user.email)
        tokens[name] = bearer(build.token(user))
    return schools, clients, tokens


def _api(app, build, school) -> Api:
    return Api(app, school, {role: build.token(build.user(role, school=school))
                             for role in (Role.STAFF, Role.REVIEWER, Role.PRINCIPAL)})


def _flags(client, district_id, headers, year=""):
    answer = client.get(f"/api/v1/districts/{district_id}/flags" + (f"?year={year}" if year else ""),
                        headers=headers)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_the_same_file_check_never_names_another_districts_school_or_document(app, build, two_districts):
    schools, clients, tokens = two_districts
    photo = files.png()
    own = _api(app, build, schools["A"]).upload(Role.STAFF, ["1.3"], name="anh-lop.png", content=photo,
                                                doc_type="photo", title="Ảnh lớp học của trường A")
    _api(app, build, schools["X"]).upload(Role.STAFF, ["1.3"], name="anh-lop.png", content=photo,
                                          doc_type="photo", title="Tài liệu mật của Cư Jút")
    district_id = schools["A"].district_id
    # Only one school of the district holds the photo: nothing to cross-check, nothing told.
    assert [flag for flag in _flags(clients["officer"], district_id, tokens["officer"])
            if flag["kind"] == "same_file"] == []
    page = clients["officer"].get(f"/districts/{district_id}/flags").get_data(as_text=True)
    assert "Cư Jút" not in page and "CJX" not in page
    # A second school of the district holds it too: the flag names those two only.
    second = _api(app, build, schools["B"]).upload(Role.STAFF, ["1.3"], name="anh.png", content=photo,
                                                   doc_type="photo", title="Ảnh lớp học của trường B")
    [same] = [flag for flag in _flags(clients["officer"], district_id, tokens["officer"])
              if flag["kind"] == "same_file"]
    assert {school["code"] for school in same["schools"]} == {"KNA", "KNB"}
    assert {record["id"] for record in same["records"]} == {own["id"], second["id"]}
    page = clients["officer"].get(f"/districts/{district_id}/flags").get_data(as_text=True)
    assert "Tài liệu mật của Cư Jút" not in page and "Cư Jút" not in page
    # The other district's officer sees their side only, whatever the year asked.
    for year in ("", schools["X"].school_year, "2020-2021"):
        for flag in _flags(clients["other"], schools["X"].district_id, tokens["other"], year):
            assert {school["code"] for school in flag["schools"]} <= {"CJX"}
        assert clients["other"].get(f"/api/v1/districts/{district_id}/flags?year={year}",
                                    headers=tokens["other"]).status_code == 404


def test_an_officer_reaches_no_other_districts_page_export_flags_or_scores(two_districts):
    schools, clients, tokens = two_districts
    elsewhere = schools["X"].district_id
    officer = clients["officer"]
    for path in (f"/districts/{elsewhere}", f"/districts/{elsewhere}/export.xlsx",
                 f"/districts/{elsewhere}/flags", f"/districts/{elsewhere}?year=2026-2027&page=2&q=cu"):
        assert officer.get(path).status_code == 404, path
    for path in (f"/api/v1/districts/{elsewhere}/flags", f"/api/v1/districts/{elsewhere}/scores",
                 f"/api/v1/districts/{elsewhere}/scores?year=2026-2027"):
        assert officer.get(path, headers=tokens["officer"]).status_code == 404, path
    listed = officer.get("/api/v1/districts", headers=tokens["officer"]).get_json()
    assert [item["id"] for item in listed["items"]] == [schools["A"].district_id]
    # No query parameter widens the officer's own page to another district's schools.
    own = schools["A"].district_id
    for query in ("?district_id=" + str(elsewhere), "?q=CJX", "?q=cu+jut", f"?province=x&district={elsewhere}"):
        page = officer.get(f"/districts/{own}{query}").get_data(as_text=True)
        assert "school-row-CJX" not in page and "Trường Tiểu học Cư Jút" not in page, query


def test_the_province_pages_are_the_admins_only(two_districts):
    schools, clients, tokens = two_districts
    for who in ("officer", "other", "principal"):
        for path in ("/provinces", "/provinces/Đắk Nông", "/provinces/Nowhere"):
            assert clients[who].get(path).status_code == 403, (who, path)
        assert "/provinces" not in clients[who].get("/", follow_redirects=True).get_data(as_text=True)
    assert clients["admin"].get("/provinces/Đắk Nông").status_code == 200
    assert clients["principal"].get(f"/districts/{schools['A'].district_id}").status_code == 404
    assert clients["principal"].get(f"/api/v1/districts/{schools['A'].district_id}/flags",
                                    headers=tokens["principal"]).status_code == 404


def test_an_officers_home_is_their_own_districts_page(two_districts):
    schools, clients, tokens = two_districts
    answer = clients["officer"].get("/")
    assert answer.status_code == 302
    assert answer.headers["Location"].endswith(f"/districts/{schools['A'].district_id}")


HOSTILE = '<img src=x onerror="alert(1)">'


def test_names_typed_by_schools_and_districts_are_shown_as_text(app, build, make_client):
    school = build.school(code="XSS1", name=f"Trường {HOSTILE}", district=f"Huyện {HOSTILE}",
                          province=f"Tỉnh {HOSTILE}")
    other = build.school(code="XSS2", name="Trường Tiểu học Bình Minh", district=f"Huyện {HOSTILE}",
                         province=f"Tỉnh {HOSTILE}")
    photo = files.png()
    for each in (school, other):
        _api(app, build, each).upload(Role.STAFF, ["1.3"], name="anh.png", content=photo, doc_type="photo",
                                      title=f"Ảnh {HOSTILE}")
    officer, admin = make_client(), make_client()
    officer.login(build.user(Role.DISTRICT, district=school.district).email)
    admin.login(build.user(Role.ADMIN).email)
    district_id = school.district_id
    pages = [officer.get(f"/districts/{district_id}"), officer.get(f"/districts/{district_id}/flags"),
             admin.get("/provinces"), admin.get(f"/provinces/Tỉnh {HOSTILE}")]
    for answer in pages:
        assert answer.status_code == 200, answer.request.path
        text = answer.get_data(as_text=True)
        assert "<img src=x" not in text, answer.request.path
        assert "&lt;img src=x" in text, answer.request.path


def _formulas(data: bytes) -> list[str]:
    """The formulas a workbook's sheets hold."""
    with zipfile.ZipFile(io.BytesIO(data)) as book:
        return [formula for name in book.namelist() if name.startswith("xl/worksheets/")
                for formula in re.findall(r"<f>(.*?)</f>", book.read(name).decode())]


def test_the_export_holds_a_name_starting_with_equals_as_text_and_names_the_file_safely(build, make_client):
    name = '=HYPERLINK("http://evil.example","Bấm")'
    district = 'Huyện "Q";\r\nX-Evil: 1\\..\\báo cáo'
    school = build.school(code="EQ1", name=name, district=district)
    officer = make_client()
    officer.login(build.user(Role.DISTRICT, district=school.district).email)
    answer = officer.get(f"/districts/{school.district_id}/export.xlsx")
    assert answer.status_code == 200
    assert _formulas(answer.data) == []
    sheet = load_workbook(io.BytesIO(answer.data)).active
    cells = [cell for row in sheet.iter_rows() for cell in row if isinstance(cell.value, str)]
    [held] = [cell for cell in cells if cell.value.startswith("=HYPERLINK")]
    assert held.data_type == "s"
    disposition = answer.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition and "X-Evil" not in answer.headers
    assert disposition.startswith("attachment; filename=") and disposition.count('"') == 2


def test_odd_input_is_never_an_error(app, two_districts):
    schools, clients, tokens = two_districts
    officer, admin = clients["officer"], clients["admin"]
    own = schools["A"].district_id
    queries = ["?page=99999999999999999999999999", "?page=-1", "?page=1e9", "?year=0000-0001", "?year=2026-2027x",
               "?year=%00", "?year=" + "9" * 10_000, "?level=thcs&level=x", "?status=%F0%9F%98%80",
               "?q=" + "%00%01%1b%7f" * 50, "?q=" + "a" * 10_000, "?q=%E2%80%AE%E2%80%8B", "?q=%ff%fe"]
    for query in queries:
        for path in (f"/districts/{own}", f"/districts/{own}/flags", f"/districts/{own}/export.xlsx",
                     "/provinces/Đắk Nông"):
            client = admin if path.startswith("/provinces") else officer
            # 400: control characters are refused portal-wide (app.security); else the page.
            assert client.get(path + query).status_code in (200, 400), path + query
    for query in ("?year=0000-0001", "?year=2026-2027x", "?page=0&per_page=0", "?page=99999999999"):
        for path in (f"/api/v1/districts/{own}/flags", f"/api/v1/districts/{own}/scores"):
            assert officer.get(path + query, headers=tokens["officer"]).status_code in (200, 400, 422), path + query
    for province in ("Hà%20Nội%00", "%E2%80%AE", "Đ" * 5000, "..", "%C3%90", "Ha Noi"):
        assert admin.get(f"/provinces/{province}").status_code == 404, province


def test_reading_the_district_pages_changes_nothing(app, build, two_districts, read):
    schools, clients, tokens = two_districts
    own = schools["A"].district_id

    def counted():
        return read(lambda: db.session.scalar(select(func.count(AuditEvent.id))))
    before = counted()
    for path in (f"/districts/{own}", f"/districts/{own}/flags", f"/districts/{own}/export.xlsx",
                 f"/districts/{own}?year=2020-2021&status=approved"):
        assert clients["officer"].get(path).status_code == 200
    assert clients["officer"].get(f"/api/v1/districts/{own}/flags", headers=tokens["officer"]).status_code == 200
    assert clients["admin"].get("/provinces/Đắk Nông").status_code == 200
    assert counted() == before
    for path in (f"/districts/{own}", f"/districts/{own}/flags", f"/districts/{own}/export.xlsx"):
        assert clients["officer"].post(path).status_code in (400, 405), path  # no form writes here


def test_a_deadline_set_for_the_autumn_does_not_break_on_a_year_the_portal_cannot_hold(app, two_districts):
    schools, clients, tokens = two_districts
    saved = app.config["DEADLINES"]
    app.config["DEADLINES"] = {**saved, "submit_to_district": "12-15"}
    try:
        for path in (f"/districts/{schools['A'].district_id}?year=0000-0001",
                     f"/districts/{schools['A'].district_id}/export.xlsx?year=0000-0001",
                     f"/districts/{schools['A'].district_id}/flags?year=9999-10000"):
            assert clients["officer"].get(path).status_code == 200, path
        assert clients["admin"].get("/provinces/Đắk Nông?year=0000-0001").status_code == 200
        answer = clients["officer"].get(f"/api/v1/districts/{schools['A'].district_id}/flags?year=0000-0001",
                                        headers=tokens["officer"])
        assert answer.status_code in (400, 422) and "year" in str(answer.get_json())
    finally:
        app.config["DEADLINES"] = saved


def test_a_province_or_district_named_with_slashes_opens_and_downloads_under_its_name(build, make_client):
    school = build.school(code="BRVT", district="Huyện Đất\\Đỏ", province="Bà Rịa/Vũng Tàu")
    admin = make_client()
    admin.login(build.user(Role.ADMIN).email)
    listing = admin.get("/provinces").get_data(as_text=True)
    link = re.search(r'href="(/provinces/B[^"]*)"', listing).group(1)
    page = admin.get(link)
    assert page.status_code == 200 and 'data-testid="province-districts"' in page.get_data(as_text=True)
    export = admin.get(f"/districts/{school.district_id}/export.xlsx")
    assert "Huy%E1%BB%87n%20%C4%90%E1%BA%A5t-%C4%90%E1%BB%8F" in export.headers["Content-Disposition"]
