"""The evidence pages as a school's staff, reviewers and principal use them: the list
(search without diacritics, filters, XLSX export), the upload page (one request per file,
answered in JSON, then each file's details and criteria), the record page (versions,
links, review, history), delete and restore, and the evidence under each criterion of the
scorecard."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage

from app.accounts.models import Role
from app.evidence import services
from app.evidence.models import EvidenceDocument, EvidenceLink, LinkStatus
from app.extensions import db
from app.framework.services import framework
from app.schools.models import School
from tests import files

JSON = {"Accept": "application/json"}


@pytest.fixture()
def school_people(build):
    school = build.school(code="CVA", name="Trường THCS Chu Văn An")
    people = {role: build.user(role, school=school) for role in (Role.STAFF, Role.REVIEWER, Role.PRINCIPAL)}
    return school, people


@pytest.fixture()
def add(app):
    """``add(school, actor, title=…, files=[(name, bytes)], criteria=[…], **fields)``: an
    evidence document made through the service, as the upload would make it."""
    def make(school, actor, files_=(), **data):
        with app.test_request_context():
            uploads = [FileStorage(io.BytesIO(content), filename=name) for name, content in files_]
            document = services.create_document(actor, db.session.get(School, school.id), data, uploads)
            return document.id
    return make


def signed_in(make_client, person):
    client = make_client()
    assert client.login(person.email).status_code == 302
    return client


def rows_of(page: str) -> list[str]:
    """The text of each row of the list's table body, tags removed."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in body.split("<tr>")[1:]]


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def section(page: str, testid: str) -> str:
    return page.split(f'data-testid="{testid}"', 1)[1]


def csrf_of(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


@pytest.fixture()
def catalogue(school_people, add):
    """Three documents of the school: a decision linked to 2.1, a plan linked to 2.2 (its
    link accepted), a screenshot linked to sub-item 1.3.b."""
    school, people = school_people
    staff = people[Role.STAFF]
    decision = add(school, staff, [("QD thanh lap BCD.pdf", files.pdf())],
                   title="Quyết định thành lập Ban chỉ đạo chuyển đổi số", doc_type="decision",
                   number="11/QĐ-THCVA", issued_on="2023-02-16", issuer="Trường THCS Chu Văn An", criteria=["2.1"])
    plan = add(school, staff, [("Ke hoach CNTT.docx", files.docx())], title="Kế hoạch ứng dụng CNTT năm học",
               doc_type="plan", number="18/KH-THCVA", criteria=["2.2"])
    screenshot = add(school, staff, [("lms.png", files.png())], title="Ảnh chụp giao bài trên LMS",
                     doc_type="screenshot", criteria=["1.3.b"])
    return {"decision": decision, "plan": plan, "screenshot": screenshot}


def _review(app, document_id, code, reviewer, decision="accepted", comment=""):
    with app.test_request_context():
        document = db.session.get(EvidenceDocument, document_id)
        services.review_link(reviewer, document, code, {"decision": decision, "comment": comment})


def test_the_list_finds_a_decision_typed_without_diacritics(app, school_people, catalogue, make_client):
    school, people = school_people
    client = signed_in(make_client, people[Role.STAFF])
    page = client.get(f"/schools/{school.id}/evidence?q=quyet+dinh").get_data(as_text=True)
    [row] = rows_of(page)
    assert "Quyết định thành lập Ban chỉ đạo chuyển đổi số" in row
    for shown in ("H2-2.1-01", "Quyết định", "11/QĐ-THCVA", "16/02/2023", "Trường THCS Chu Văn An", "2.1"):
        assert shown in row, shown
    assert "Chờ thẩm định" in row  # the link's status, in words for screen readers as well as a sign
    everything = rows_of(client.get(f"/schools/{school.id}/evidence").get_data(as_text=True))
    assert len(everything) == 3


def test_a_search_inside_the_text_shows_where_it_matched(school_people, add, make_client):
    school, people = school_people
    add(school, people[Role.STAFF], [("scan.pdf", files.pdf("Danh sach to cong nghe thong tin nam hoc moi"))],
        title="Văn bản số 7", doc_type="decision")
    client = signed_in(make_client, people[Role.STAFF])
    page = client.get(f"/schools/{school.id}/evidence?q=to+cong+nghe").get_data(as_text=True)
    [row] = rows_of(page)
    assert "Văn bản số 7" in row
    assert "<mark>cong</mark> <mark>nghe</mark>" in section(page, "passage").split("</div>")[0]
    assert 'data-testid="passage"' not in client.get(f"/schools/{school.id}/evidence?q=van+ban").get_data(
        as_text=True)  # the title already shows why it was found


def test_filters_by_criterion_type_year_and_review_status(app, school_people, catalogue, make_client):
    school, people = school_people
    _review(app, catalogue["plan"], "2.2", people[Role.REVIEWER])
    client = signed_in(make_client, people[Role.STAFF])
    base = f"/schools/{school.id}/evidence"

    def titles(query):
        return [row for row in rows_of(client.get(f"{base}?{query}").get_data(as_text=True))]
    by_criterion = titles("criterion=1.3")  # a criterion also finds its sub-items
    assert len(by_criterion) == 1 and "Ảnh chụp giao bài trên LMS" in by_criterion[0]
    by_type = titles("doc_type=plan")
    assert len(by_type) == 1 and "Kế hoạch ứng dụng CNTT" in by_type[0]
    accepted = titles("link_status=accepted")
    assert len(accepted) == 1 and "Kế hoạch" in accepted[0] and "Đã chấp nhận" in accepted[0]
    assert len(titles("link_status=pending")) == 2
    assert len(titles(f"school_year={school.school_year}")) == 3
    assert "Không có kết quả phù hợp." in client.get(f"{base}?school_year=1999-2000&q=").get_data(as_text=True)
    bogus = client.get(f"{base}?criterion=9.9&doc_type=poem&link_status=lost&sort=password")
    assert bogus.status_code == 200 and len(rows_of(bogus.get_data(as_text=True))) == 3
    by_number = [row.split()[0] for row in titles("sort=number")]  # no number first
    assert by_number == ["Ảnh", "Quyết", "Kế"]
    assert [row.split()[0] for row in titles("sort=number&dir=desc")] == by_number[::-1]


def test_the_export_is_the_filtered_catalogue_as_xlsx(app, school_people, catalogue, make_client):
    school, people = school_people
    client = signed_in(make_client, people[Role.PRINCIPAL])
    page = client.get(f"/schools/{school.id}/evidence?q=quyet+dinh").get_data(as_text=True)
    assert f"/schools/{school.id}/evidence/export.xlsx?q=quyet+dinh" in page
    response = client.get(f"/schools/{school.id}/evidence/export.xlsx?q=quyet+dinh")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "CVA-danh-muc-minh-chung.xlsx" in response.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[0][:6] == ("Mã minh chứng", "Tên minh chứng", "Loại", "Số hiệu", "Ngày ban hành", "Cơ quan ban hành")
    assert len(rows) == 2
    codes, title, kind, number, issued_on, issuer, year, criteria, file = rows[1]
    assert (codes, title, kind, number, issuer) == ("H2-2.1-01", "Quyết định thành lập Ban chỉ đạo chuyển đổi số",
                                                    "Quyết định", "11/QĐ-THCVA", "Trường THCS Chu Văn An")
    assert issued_on.date() == date(2023, 2, 16) and criteria == "2.1 (H2-2.1-01)" and file == "QD thanh lap BCD.pdf"
    everything = client.get(f"/schools/{school.id}/evidence/export.xlsx")
    assert len(list(load_workbook(io.BytesIO(everything.data)).active.iter_rows())) == 4


def test_the_record_page_shows_versions_links_and_history(app, school_people, catalogue, make_client):
    school, people = school_people
    client = signed_in(make_client, people[Role.STAFF])
    url = f"/schools/{school.id}/evidence/{catalogue['decision']}"
    page = client.get(url).get_data(as_text=True)
    added = client.post(f"{url}/files", {"csrf_token": csrf_of(page),
                                         "file": (io.BytesIO(files.pdf("Quyet dinh ban ky so")), "QD ban ky.pdf")},
                        content_type="multipart/form-data")
    assert added.status_code == 302
    page = client.get(url).get_data(as_text=True)
    versions = section(page, "files").split("</table>")[0]
    assert text_of(versions).index("Phiên bản 2") < text_of(versions).index("Phiên bản 1")  # newest first
    assert "QD ban ky.pdf" in versions and "QD thanh lap BCD.pdf" in versions and "PDF" in versions
    size = len(files.pdf())
    assert f"{size} B" in versions
    with app.test_request_context():
        document = db.session.get(EvidenceDocument, catalogue["decision"])
        first, second = document.files
        sha = first.sha256
    assert f'title="{sha}"' in versions and f"{sha[:12]}…" in versions
    assert versions.count("/download") == 2 and versions.count("/preview") == 2
    assert 'target="_blank"' in versions

    download = client.get(f"{url}/files/{first.id}/download")
    assert download.status_code == 200 and download.data == files.pdf()
    assert download.headers["Content-Disposition"].startswith("attachment")
    preview = client.get(f"{url}/files/{second.id}/preview")
    assert preview.status_code == 200 and preview.headers["Content-Disposition"].startswith("inline")
    assert preview.headers["Content-Security-Policy"].startswith("sandbox")

    links = text_of(section(page, "links").split("</section>")[0])
    assert "H2-2.1-01" in links and "Thành lập bộ phận chỉ đạo" in links and "Chờ thẩm định" in links
    history = text_of(section(page, "history"))
    assert history.index("Phiên bản mới 2: «QD ban ky.pdf»") < history.index("Đã tạo minh chứng")
    assert "Đã liên kết với 2.1 (mã H2-2.1-01)" in history
    details = text_of(section(page, "details").split("</dl>")[0])
    assert "11/QĐ-THCVA" in details and "16/02/2023" in details and "Quyết định" in details


def test_sizes_read_as_people_read_them(app):
    from app.evidence.views import file_size

    with app.test_request_context():
        assert [file_size(size) for size in (850, 12 * 1024, 1_258_291)] == ["850 B", "12 KB", "1,2 MB"]


def test_each_uploaded_file_answers_json_and_its_card_saves_details_and_criteria(app, school_people, make_client,
                                                                                  read):
    school, people = school_people
    client = signed_in(make_client, people[Role.STAFF])
    page = client.get(f"/schools/{school.id}/evidence/new").get_data(as_text=True)
    token = csrf_of(page)
    assert 'id="evidence-card"' in page and "js/evidence-upload.js" in page
    assert "Thành lập bộ phận chỉ đạo" in page and "Nhóm 2" in page  # the picker shows titles by group
    answers = []
    for name, content in (("Quyết định 11.pdf", files.pdf()), ("Kế hoạch CNTT.docx", files.docx()),
                          ("Ảnh LMS.png", files.png())):
        response = client.post(f"/schools/{school.id}/evidence/upload", data={"file": (io.BytesIO(content), name)},
                               headers={"X-CSRFToken": token, **JSON}, content_type="multipart/form-data",
                               csrf=False)
        assert response.status_code == 201, response.get_json()
        answers.append(response.get_json())
    assert [answer["title"] for answer in answers] == ["Quyết định 11", "Kế hoạch CNTT", "Ảnh LMS"]
    first = answers[0]
    assert first["url_of_record"] == f"/schools/{school.id}/evidence/{first['id']}"
    status = client.get(first["status_url"]).get_json()
    assert status["pending"] is False and status["text_status"] == "done" and "found" in status

    saved = client.post(first["details_url"], {
        "csrf_token": token, "version": first["version"], "title": "Quyết định thành lập Ban chỉ đạo",
        "doc_type": "decision", "number": "11/QĐ-THCVA", "issued_on": "16/02/2023", "issuer": "Trường THCS Chu Văn An",
        "description": "", "criteria": ["2.1", "2.2"]}, headers=JSON)
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["codes"] == ["H2-2.1-01", "H2-2.2-01"] and saved.get_json()["message"] == "Đã lưu."
    document = read(lambda: db.session.get(EvidenceDocument, first["id"]))
    assert (document.number, document.issued_on, document.doc_type.value) == ("11/QĐ-THCVA", date(2023, 2, 16),
                                                                              "decision")
    found = rows_of(client.get(f"/schools/{school.id}/evidence?q=quyet+dinh").get_data(as_text=True))
    assert len(found) == 1 and "H2-2.1-01" in found[0]

    refused = client.post(first["details_url"], {
        "csrf_token": token, "version": saved.get_json()["version"], "title": " ", "doc_type": "decision",
        "issued_on": "31/02/2023", "criteria": ["9.9"]}, headers=JSON)
    assert refused.status_code == 400
    fields = refused.get_json()["fields"]
    assert fields["title"] == "Hãy nhập tên minh chứng." and "ngày/tháng/năm" in fields["issued_on"]
    unknown = client.post(first["details_url"], {
        "csrf_token": token, "version": saved.get_json()["version"], "title": "Quyết định", "doc_type": "decision",
        "criteria": ["9.9"]}, headers=JSON)
    assert unknown.status_code == 400 and "9.9" in unknown.get_json()["fields"]["criteria"]
    stale = client.post(first["details_url"], {
        "csrf_token": token, "version": first["version"], "title": "Tên khác", "doc_type": "decision"}, headers=JSON)
    assert stale.status_code == 409 and stale.get_json()["version"] == saved.get_json()["version"]
    assert read(lambda: db.session.get(EvidenceDocument, first["id"]).title) == "Quyết định thành lập Ban chỉ đạo"


def test_a_file_that_lies_about_its_type_is_refused_in_vietnamese_and_nothing_is_kept(school_people, make_client,
                                                                                       read):
    school, people = school_people
    client = signed_in(make_client, people[Role.STAFF])
    token = csrf_of(client.get(f"/schools/{school.id}/evidence/new").get_data(as_text=True))
    for name, content in (("anh.pdf", files.png()), ("trang.png", b"<html><script>alert(1)</script></html>")):
        response = client.post(f"/schools/{school.id}/evidence/upload", data={"file": (io.BytesIO(content), name)},
                               headers={"X-CSRFToken": token, **JSON}, content_type="multipart/form-data",
                               csrf=False)
        assert response.status_code == 415, name
        message = response.get_json()["message"]
        assert name in message and "Tệp" in message, message
    nothing = client.post(f"/schools/{school.id}/evidence/upload", data={}, headers={"X-CSRFToken": token, **JSON},
                          content_type="multipart/form-data", csrf=False)
    assert nothing.status_code == 400 and nothing.get_json()["message"] == "Hãy chọn một tệp."
    assert read(lambda: db.session.scalar(select(func.count(EvidenceDocument.id)))) == 0


def test_without_javascript_the_page_is_one_form_for_one_document(school_people, make_client, read):
    school, people = school_people
    client = signed_in(make_client, people[Role.STAFF])
    created = client.post(f"/schools/{school.id}/evidence/new", {
        "file": [(io.BytesIO(files.pdf()), "QD 11.pdf"), (io.BytesIO(files.pdf("Ban ky so")), "QD 11 ky so.pdf")],
        "title": "", "doc_type": "decision", "number": "11/QĐ-THCVA", "issued_on": "16/02/2023", "issuer": "",
        "description": "", "criteria": ["2.1"]}, content_type="multipart/form-data")
    assert created.status_code == 302
    def saved():
        document = db.session.scalar(select(EvidenceDocument))
        return (document.id, document.title, document.issued_on, document.codes,
                [version.filename for version in document.files])
    document_id, *fields = read(saved)
    assert created.headers["Location"].endswith(f"/evidence/{document_id}")
    assert fields == ["QD 11", date(2023, 2, 16), ["H2-2.1-01"], ["QD 11.pdf", "QD 11 ky so.pdf"]]
    empty = client.post(f"/schools/{school.id}/evidence/new", {"title": "", "doc_type": "other"},
                        content_type="multipart/form-data")
    assert empty.status_code == 400 and "Hãy chọn tệp của văn bản, hoặc nhập tên minh chứng." in empty.get_data(
        as_text=True)
    bad = client.post(f"/schools/{school.id}/evidence/new", {"file": (io.BytesIO(files.png()), "anh.pdf"),
                                                              "doc_type": "other", "issued_on": "hôm qua"},
                      content_type="multipart/form-data")
    assert bad.status_code == 400 and "ngày/tháng/năm" in bad.get_data(as_text=True)
    lying = client.post(f"/schools/{school.id}/evidence/new", {"file": (io.BytesIO(files.png()), "anh.pdf"),
                                                                "doc_type": "other"},
                        content_type="multipart/form-data")
    assert lying.status_code == 415 and "anh.pdf" in lying.get_data(as_text=True)
    assert read(lambda: db.session.scalar(select(func.count(EvidenceDocument.id)))) == 1


def test_the_server_says_once_when_it_cannot_read_scans(school_people, make_client, monkeypatch):
    from app.evidence import views

    school, people = school_people
    client = signed_in(make_client, people[Role.STAFF])
    notice = "Máy chủ chưa bật nhận dạng chữ (OCR): bản scan sẽ không tìm được theo nội dung"
    monkeypatch.setattr(views, "ocr_available", lambda: False)
    assert client.get(f"/schools/{school.id}/evidence/new").get_data(as_text=True).count(notice) == 1
    monkeypatch.setattr(views, "ocr_available", lambda: True)
    assert notice not in client.get(f"/schools/{school.id}/evidence/new").get_data(as_text=True)


def test_link_evidence_has_an_address_and_no_file(school_people, make_client, read):
    school, people = school_people
    client = signed_in(make_client, people[Role.STAFF])
    base = f"/schools/{school.id}/evidence/link"
    missing = client.post(base, {"title": "Trang tuyển sinh", "url": "", "criteria": ["2.4.b"]})
    assert missing.status_code == 400 and "Hãy nhập địa chỉ trang web" in missing.get_data(as_text=True)
    wrong = client.post(base, {"title": "Trang tuyển sinh", "url": "tuyensinh.thcva.edu.vn"})
    assert wrong.status_code == 400
    created = client.post(base, {"title": "Trang tuyển sinh", "url": "https://tuyensinh.thcva.edu.vn",
                                 "criteria": ["2.4.b"]})
    assert created.status_code == 302
    def saved():
        document = db.session.scalar(select(EvidenceDocument))
        return document.doc_type.value, document.url, document.codes
    assert read(saved) == ("link", "https://tuyensinh.thcva.edu.vn", ["H2-2.4-01"])
    page = client.get(created.headers["Location"]).get_data(as_text=True)
    assert "Không có tệp: minh chứng này là một trang web." in page and 'href="https://tuyensinh.thcva.edu.vn"' in page


def test_links_are_added_and_removed_on_the_record_page(app, school_people, catalogue, make_client, read):
    school, people = school_people
    client = signed_in(make_client, people[Role.STAFF])
    url = f"/schools/{school.id}/evidence/{catalogue['plan']}"
    assert client.post(f"{url}/links", {"criterion": "1.1"}).status_code == 302
    assert read(lambda: db.session.get(EvidenceDocument, catalogue["plan"]).codes) == ["H2-2.2-01", "H1-1.1-01"]
    refused = client.post(f"{url}/links", {"criterion": "7.7"})
    assert refused.status_code == 400 and "7.7" in refused.get_data(as_text=True)
    assert client.post(f"{url}/links/1.1/delete").status_code == 302
    assert read(lambda: db.session.get(EvidenceDocument, catalogue["plan"]).codes) == ["H2-2.2-01"]
    history = text_of(section(client.get(url).get_data(as_text=True), "history"))
    assert "Đã bỏ liên kết với 1.1 (mã H1-1.1-01)" in history


def test_a_reviewer_accepts_and_rejects_with_a_comment_but_not_their_own_upload(app, school_people, catalogue, add,
                                                                               make_client, read):
    school, people = school_people
    reviewer = signed_in(make_client, people[Role.REVIEWER])
    url = f"/schools/{school.id}/evidence/{catalogue['screenshot']}"
    page = reviewer.get(url).get_data(as_text=True)
    assert 'name="decision" value="accepted"' in page and 'name="decision" value="rejected"' in page
    no_reason = reviewer.post(f"{url}/links/1.3.b/review", {"decision": "rejected", "comment": ""})
    assert no_reason.status_code == 400
    assert "Hãy ghi lý do trả lại để người tải lên biết cần sửa gì." in no_reason.get_data(as_text=True)
    rejected = reviewer.post(f"{url}/links/1.3.b/review", {"decision": "rejected",
                                                          "comment": "Ảnh mờ, không thấy tên phần mềm"})
    assert rejected.status_code == 302

    def state():
        link = db.session.scalar(select(EvidenceLink).where(EvidenceLink.document_id == catalogue["screenshot"]))
        return link.status, link.comment, link.reviewed_by_id
    assert read(state) == (LinkStatus.REJECTED, "Ảnh mờ, không thấy tên phần mềm", people[Role.REVIEWER].id)
    staff_view = signed_in(make_client, people[Role.STAFF]).get(url).get_data(as_text=True)
    links = text_of(section(staff_view, "links").split("</section>")[0])
    assert "Bị trả lại" in links and "Ảnh mờ, không thấy tên phần mềm" in links
    assert 'name="decision"' not in staff_view  # staff do not review

    assert reviewer.post(f"{url}/links/1.3.b/review", {"decision": "accepted", "comment": ""}).status_code == 302
    assert read(state)[0] == LinkStatus.ACCEPTED
    history = text_of(section(reviewer.get(url).get_data(as_text=True), "history"))
    assert "Đã thẩm định liên kết với 1.3.b: Bị trả lại" in history and "Nhận xét: Ảnh mờ" in history

    principal = people[Role.PRINCIPAL]
    own = add(school, principal, [("kh.pdf", files.pdf("Ke hoach"))], title="Kế hoạch dạy học trực tuyến",
              criteria=["1.1"])
    boss = signed_in(make_client, principal)
    own_url = f"/schools/{school.id}/evidence/{own}"
    own_page = boss.get(own_url).get_data(as_text=True)
    assert ("Bạn đã tải lên hoặc sửa minh chứng này, hoặc tạo liên kết, nên người khác sẽ thẩm định phần việc "
            "của bạn.") in own_page
    assert 'name="decision"' not in own_page
    refused = boss.post(f"{own_url}/links/1.1/review", {"decision": "accepted", "comment": ""})
    assert refused.status_code == 403
    assert "Bạn đã tải lên hoặc sửa minh chứng này, nên người khác phải thẩm định." in refused.get_data(as_text=True)
    assert read(lambda: db.session.scalar(select(EvidenceLink.status).where(
        EvidenceLink.document_id == own))) == LinkStatus.PENDING


def test_staff_delete_evidence_and_a_principal_restores_it(app, school_people, catalogue, make_client, read):
    school, people = school_people
    staff = signed_in(make_client, people[Role.STAFF])
    base = f"/schools/{school.id}/evidence"
    url = f"{base}/{catalogue['decision']}"
    deleted = staff.post(f"{url}/delete", follow_redirects=True)
    assert "Đã xoá «Quyết định thành lập Ban chỉ đạo chuyển đổi số». Hiệu trưởng có thể khôi phục lại." in \
        deleted.get_data(as_text=True)
    assert len(rows_of(staff.get(base).get_data(as_text=True))) == 2
    assert staff.get(f"{base}/deleted").status_code == 403
    removed_page = staff.get(url).get_data(as_text=True)
    assert 'data-testid="removed"' in removed_page and "/delete" not in removed_page

    principal = signed_in(make_client, people[Role.PRINCIPAL])
    listed = principal.get(f"{base}/deleted").get_data(as_text=True)
    [row] = rows_of(listed)
    assert "Quyết định thành lập Ban chỉ đạo" in row and "H2-2.1-01" in row
    restored = principal.post(f"{url}/restore")
    assert restored.status_code == 302 and restored.headers["Location"].endswith(url)
    assert read(lambda: db.session.get(EvidenceDocument, catalogue["decision"]).removed_at) is None
    assert len(rows_of(principal.get(base).get_data(as_text=True))) == 3
    history = text_of(section(principal.get(url).get_data(as_text=True), "history"))
    assert history.index("Đã khôi phục") < history.index("Đã xoá")
    again = principal.post(f"{url}/restore", follow_redirects=True)
    assert "Minh chứng này chưa bị xoá." in again.get_data(as_text=True)


def test_editing_the_details_keeps_track_and_refuses_a_stale_form(app, school_people, catalogue, make_client, read):
    school, people = school_people
    client = signed_in(make_client, people[Role.STAFF])
    url = f"/schools/{school.id}/evidence/{catalogue['plan']}"
    page = client.get(url).get_data(as_text=True)
    version = re.search(r'name="version"[^>]*value="(\d+)"', section(page, "edit")).group(1)
    form = {"version": version, "title": "Kế hoạch ứng dụng CNTT năm học 2022-2023", "doc_type": "plan",
            "number": "18/KH-THCVA", "issued_on": "05/09/2022", "issuer": "Trường THCS Chu Văn An", "description": "",
            "url": ""}
    assert client.post(f"{url}/details", form).status_code == 302
    history = text_of(section(client.get(url).get_data(as_text=True), "history"))
    assert "Đã sửa thông tin" in history and "Ngày ban hành — 05/09/2022" in history
    stale = client.post(f"{url}/details", {**form, "title": "Kế hoạch cũ"})
    assert stale.status_code == 409 and 'data-testid="meanwhile"' in stale.get_data(as_text=True)
    empty = client.post(f"{url}/details", {**form, "version": str(int(version) + 1), "title": ""})
    assert empty.status_code == 400 and "Hãy nhập tên minh chứng." in empty.get_data(as_text=True)
    assert read(lambda: db.session.get(EvidenceDocument, catalogue["plan"]).title) == \
        "Kế hoạch ứng dụng CNTT năm học 2022-2023"


def test_the_scorecard_shows_each_criterions_evidence_and_what_is_missing(app, school_people, catalogue,
                                                                           make_client):
    school, people = school_people
    _review(app, catalogue["plan"], "2.2", people[Role.REVIEWER])
    _review(app, catalogue["screenshot"], "1.3.b", people[Role.REVIEWER], "rejected", "Ảnh mờ")
    client = signed_in(make_client, people[Role.STAFF])
    page = client.get(f"/schools/{school.id}/score").get_data(as_text=True)

    def evidence_of(code):
        return section(page, f"evidence-{code}").split("</div>\n  </div>")[0]
    decision = evidence_of("2.1")
    assert "H2-2.1-01" in decision and "Chờ thẩm định" in decision
    assert f'href="/schools/{school.id}/evidence/{catalogue["decision"]}"' in decision
    assert "Còn thiếu minh chứng" not in decision
    assert "H2-2.2-01" in evidence_of("2.2") and "Đã chấp nhận" in evidence_of("2.2")
    screenshot = evidence_of("1.3")  # a sub-item's link shows under its criterion
    assert "H1-1.3-01" in screenshot and "(1.3.b)" in screenshot and "Bị trả lại" in screenshot
    with app.app_context():
        index = framework()
        needed = {criterion.code: getattr(criterion, "evidence_needed", None)
                  for group in index.groups for criterion in group.criteria}
    plan_missing = text_of(evidence_of("1.1"))
    assert "Còn thiếu minh chứng:" in plan_missing
    assert (f"1.1 {needed['1.1']}" if needed["1.1"] else "1.1 chưa có minh chứng nào") in plan_missing
    assert "Còn thiếu minh chứng" in evidence_of("1.3")  # only a rejected link: still missing


def test_the_navigation_leads_to_the_evidence(school_people, make_client):
    school, people = school_people
    page = signed_in(make_client, people[Role.STAFF]).get(f"/schools/{school.id}/evidence").get_data(as_text=True)
    nav = page.split('data-testid="nav"')[1].split("</ul>")[0]
    assert re.search(rf'href="/schools/{school.id}/evidence"\s+aria-current="page">Minh chứng', nav)


def test_every_form_needs_its_csrf_token(app, school_people, catalogue, make_client, read):
    school, people = school_people
    principal = signed_in(make_client, people[Role.PRINCIPAL])
    document = catalogue["decision"]
    with app.test_request_context():
        file_id = db.session.get(EvidenceDocument, document).files[0].id
    base = f"/schools/{school.id}/evidence"
    posts = {
        f"{base}/new": lambda: {"title": "Không có mã", "doc_type": "other"},
        f"{base}/upload": lambda: {"file": (io.BytesIO(files.pdf()), "a.pdf")},
        f"{base}/link": lambda: {"title": "Trang", "url": "https://example.edu.vn"},
        f"{base}/{document}/details": lambda: {"title": "Đổi tên", "doc_type": "decision", "version": "1"},
        f"{base}/{document}/files": lambda: {"file": (io.BytesIO(files.pdf("Khac")), "b.pdf")},
        f"{base}/{document}/links": lambda: {"criterion": "1.1"},
        f"{base}/{document}/links/2.1/delete": dict,
        f"{base}/{document}/links/2.1/review": lambda: {"decision": "accepted"},
        f"{base}/{document}/delete": dict,
        f"{base}/{document}/restore": dict,
    }
    rules = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("evidence.")
             and "POST" in rule.methods}
    assert len(rules) == len(posts)  # every form of the evidence pages is tried here
    for url, data in posts.items():
        for headers in ({}, JSON):
            response = principal.post(url, data(), csrf=False, headers=headers, content_type="multipart/form-data")
            assert response.status_code == 400, url
    assert read(lambda: db.session.scalar(select(func.count(EvidenceDocument.id)))) == 3
    state = read(lambda: (db.session.get(EvidenceDocument, document).title,
                          db.session.get(EvidenceDocument, document).codes, file_id))
    assert state == ("Quyết định thành lập Ban chỉ đạo chuyển đổi số", ["H2-2.1-01"], file_id)


def test_the_upload_script_gets_json_answers_when_signed_out_or_refused(client, build):
    school = build.school()
    page = client.post(f"/schools/{school.id}/evidence/upload", csrf=False, headers={"Accept": "application/json"},
                       data={"file": (io.BytesIO(b"%PDF-1.4"), "a.pdf")})
    assert page.status_code == 401
    assert page.get_json()["error"]["message"] == "Vui lòng đăng nhập."


def test_the_record_page_gives_no_two_elements_the_same_id(client, build):
    from tests import files

    school = build.school()
    staff = build.user("staff", school=school)
    client.login(staff.email)
    created = client.post(f"/schools/{school.id}/evidence/upload", headers={"Accept": "application/json"},
                          data={"file": (io.BytesIO(files.pdf()), "kh.pdf")}).get_json()
    page = client.get(f"/schools/{school.id}/evidence/{created['id']}").get_data(as_text=True)
    ids = re.findall(r'\sid="([^"]+)"', page)
    assert sorted({name for name in ids if ids.count(name) > 1}) == []
