"""The assessment pages as a school's people use them: the reviewer's criterion page and
queue, notifications of a rejection, the principal's approval page with what blocks it,
an approval refused because something changed meanwhile, and what changed after it."""

from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from app import clock
from app.accounts.models import Role
from app.assessments.models import Assessment, AssessmentStatus
from app.extensions import db
from app.notifications.models import Notification
from tests import files
from tests.builders import bearer


@pytest.fixture()
def school(signed_in_school):
    return signed_in_school


def _upload(app, school, token, criteria, name="qd.pdf", content=None, doc_type="decision"):
    answer = app.test_client().post(
        f"/api/v1/schools/{school.id}/evidence", headers=bearer(token), content_type="multipart/form-data",
        data={"title": name, "doc_type": doc_type, "criteria": criteria,
              "file": [(io.BytesIO(content or files.pdf(name)), name)]})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def _page(client, url, status=200):
    answer = client.get(url)
    assert answer.status_code == status, answer.get_data(as_text=True)[:500]
    return answer.get_data(as_text=True)


def test_a_reviewer_rejects_on_the_criterion_page_and_the_uploader_is_told(app, school, read):
    school, people, clients, tokens = school
    shot = _upload(app, school, tokens[Role.STAFF], ["1.3.a"], "man-hinh.png", files.png(), "screenshot")
    year = school.school_year
    criterion_url = f"/schools/{school.id}/assessments/{year}/criteria/1.3"

    page = _page(clients[Role.REVIEWER], criterion_url)
    assert "H1-1.3-01" in page and "man-hinh.png" in page and "Chấp nhận" in page
    assert f"/evidence/{shot['id']}/files/{shot['files'][0]['id']}/preview" in page  # shown inline
    # The uploader sees no review buttons on their own evidence.
    assert "Chấp nhận" not in _page(clients[Role.STAFF], criterion_url)

    link = shot["links"][0]
    form = {"evidence_id": shot["id"], "link": "1.3.a", "version": 1, "comment": ""}
    missing = clients[Role.REVIEWER].post(f"{criterion_url}/review", {**form, "decision": "rejected"})
    assert missing.status_code == 400 and "ghi rõ cần sửa gì" in missing.get_data(as_text=True)
    rejected = clients[Role.REVIEWER].post(f"{criterion_url}/review", {
        **form, "decision": "rejected", "comment": "Ảnh mờ, không thấy tên phần mềm"})
    assert rejected.status_code == 302 and link["code"] == "H1-1.3-01"

    # The uploader's header counts one unread notification; opening it marks it read.
    home = _page(clients[Role.STAFF], "/")
    assert re.search(r'data-testid="unread-count">1<', home)
    notes = _page(clients[Role.STAFF], "/notifications")
    assert "Trần Thị Mai đã trả lại minh chứng H1-1.3-01" in notes and "Ảnh mờ" in notes
    note_id = read(lambda: db.session.scalar(select(Notification.id).where(Notification.school_id == school.id)))
    opened = clients[Role.STAFF].post(f"/notifications/{note_id}/open")
    assert opened.status_code == 302 and opened.headers["Location"].endswith(f"/evidence/{shot['id']}")
    assert 'data-testid="unread-count"' not in _page(clients[Role.STAFF], "/")
    # Nobody else opens someone's notification.
    assert clients[Role.REVIEWER].post(f"/notifications/{note_id}/open").status_code == 404


def test_the_queue_lists_what_waits_oldest_first_without_ones_own(app, school):
    school, _people, clients, tokens = school
    first = _upload(app, school, tokens[Role.STAFF], ["1.1"], "ke-hoach.pdf")
    own = _upload(app, school, tokens[Role.PRINCIPAL], ["1.2"], "quy-che.pdf")
    second = _upload(app, school, tokens[Role.STAFF], ["2.1"], "quyet-dinh.pdf")
    principal_queue = _page(clients[Role.PRINCIPAL], f"/schools/{school.id}/review-queue")
    assert first["title"] in principal_queue and second["title"] in principal_queue
    assert own["title"] not in principal_queue  # the principal uploaded it
    assert principal_queue.index(first["title"]) < principal_queue.index(second["title"])
    assert _page(clients[Role.STAFF], f"/schools/{school.id}/review-queue", 403)


def test_the_principal_approves_on_the_page_and_sees_what_changed_after(app, school, read):
    school, _people, clients, tokens = school
    year = school.school_year
    url = f"/schools/{school.id}/assessments/{year}"
    documents = {code: _upload(app, school, tokens[Role.STAFF], [code], f"tai-lieu-{code}.pdf")
                 for code in ("1.1", "1.2", "2.1")}
    room = app.test_client().post(f"/api/v1/schools/{school.id}/rooms", headers=bearer(tokens[Role.STAFF]),
                                  json={"name": "6A", "kind": "classroom", "internet": True}).get_json()
    projector = app.test_client().post(f"/api/v1/schools/{school.id}/equipment", headers=bearer(tokens[Role.STAFF]),
                                       json={"kind": "projector", "name": "Máy chiếu 6A", "status": "in_use",
                                             "room_id": room["id"]}).get_json()

    page = _page(clients[Role.PRINCIPAL], url)
    assert "Điều còn vướng trước khi phê duyệt" in page and "H1-1.1-01" in page
    assert "Nhóm 2 sẽ không được công nhận: chưa đạt điều kiện bắt buộc 2.2" in page
    for code, document in documents.items():
        clients[Role.REVIEWER].post(f"{url}/criteria/{code}/review", {
            "evidence_id": document["id"], "link": code, "decision": "accepted"})
    assert clients[Role.STAFF].post(f"{url}/start_review", {"version": 0}).status_code == 302

    page = _page(clients[Role.PRINCIPAL], url)
    assert "Không có: mọi minh chứng được liên kết đều đã được thẩm định và chấp nhận." in page
    fields = dict(re.findall(r'name="(version|fingerprint|since)" value="([^"]*)"',
                             page[page.index('action-approve') - 1500:page.index('action-approve')]))
    # Meanwhile a staff member links one more document.
    extra = _upload(app, school, tokens[Role.STAFF], ["2.2"], "ke-hoach-cntt.pdf")
    refused = clients[Role.PRINCIPAL].post(f"{url}/approve", fields)
    assert refused.status_code == 409
    text = refused.get_data(as_text=True)
    assert "Minh chứng hoặc điểm đã thay đổi sau khi bạn mở trang này" in text
    assert 'data-testid="changes-meanwhile"' in text

    assert read(lambda: db.session.scalar(select(Assessment.status).where(Assessment.school_id == school.id))) \
        == AssessmentStatus.IN_REVIEW
    # The new document awaits review: approval is blocked until a reviewer accepts it.
    page = _page(clients[Role.PRINCIPAL], url)
    button = page[page.index('data-testid="action-approve"'):][:200]
    assert "disabled" in button and "H2-2.2-01" in page
    clients[Role.REVIEWER].post(f"{url}/criteria/2.2/review", {"evidence_id": extra["id"], "link": "2.2",
                                                                "decision": "accepted"})
    page = _page(clients[Role.PRINCIPAL], url)
    fields = dict(re.findall(r'name="(version|fingerprint|since)" value="([^"]*)"',
                             page[page.index('action-approve') - 1500:page.index('action-approve')]))
    approved = clients[Role.PRINCIPAL].post(f"{url}/approve", fields)
    assert approved.status_code == 302, approved.get_data(as_text=True)[:800]
    page = _page(clients[Role.PRINCIPAL], url)
    assert "Đã phê duyệt và niêm phong" in page and "Nguyễn Thị Hoa phê duyệt lúc" in page

    # Journey 6: a staff member records that the projector broke; the sealed result stays,
    # and the page says what changed since, item by item.
    app.test_client().patch(f"/api/v1/schools/{school.id}/equipment/{projector['id']}",
                            headers=bearer(tokens[Role.STAFF]), json={"status": "broken"})
    page = _page(clients[Role.STAFF], url)
    assert "Thay đổi sau khi phê duyệt" in page
    start = page.index('data-testid="score-moves"')
    moves = page[start:page.index("</table>", start)]
    assert "1.7.a" in moves and "1.7" in moves
    changes = page[page.index('data-testid="changes-after-approval"'):]
    assert "Máy chiếu 6A" in changes and f"/equipment/{projector['id']}" in changes
    assert "Trạng thái:</span> Đang sử dụng → Hỏng" in changes


def test_the_next_year_starts_with_the_evidence_the_principal_carries_over(app, school, read):
    from datetime import date

    from app.evidence.models import EvidenceDocument, EvidenceLink
    from app.schools.models import School

    school, _people, clients, tokens = school
    with app.test_request_context():  # the school works in last year, so next year has begun
        db.session.get(School, school.id).school_year = "2025-2026"
        db.session.commit()
    decision = _upload(app, school, tokens[Role.STAFF], ["2.1", "2.3.a"], "quyet-dinh-ban-chi-dao.pdf")
    plan = _upload(app, school, tokens[Role.STAFF], ["2.2"], "ke-hoach-2025.pdf", doc_type="plan")
    assert clock.today() >= date(2026, 8, 1)

    page = _page(clients[Role.PRINCIPAL], f"/schools/{school.id}/school-year")
    ticked = re.findall(r'value="(\d+)" id="carry-\d+" checked', page)
    assert ticked == [str(decision["id"])]  # a decision usually stays in force; a plan is written again
    refused = clients[Role.PRINCIPAL].post(f"/schools/{school.id}/school-year", {"documents": ["999999"]})
    assert refused.status_code == 400
    started = clients[Role.PRINCIPAL].post(f"/schools/{school.id}/school-year", {"documents": [str(decision["id"])]})
    assert started.status_code == 302 and started.headers["Location"].endswith("/assessments/2026-2027")

    def documents():
        return [(d.school_year, d.title, d.carried_from_id,
                 sorted((link.code, link.status.value) for link in d.live_links), [f.object_id for f in d.files])
                for d in db.session.scalars(select(EvidenceDocument).where(EvidenceDocument.school_id == school.id)
                                           .order_by(EvidenceDocument.id))]
    rows = read(documents)
    assert rows[0][0] == rows[1][0] == "2025-2026" and len(rows) == 3
    year, title, origin, links, objects = rows[2]
    assert (year, title, origin) == ("2026-2027", "quyet-dinh-ban-chi-dao.pdf", decision["id"])
    assert links == [("H2-2.1-01", "pending"), ("H2-2.3-01", "pending")]
    assert objects == rows[0][4]  # the same stored bytes, not a copy
    # Last year stays readable, and its links keep their state.
    assert read(lambda: db.session.scalar(select(EvidenceLink.status).where(
        EvidenceLink.document_id == plan["id"]))).value == "pending"
    assert _page(clients[Role.STAFF], f"/schools/{school.id}/assessments/2025-2026")


def test_the_dashboard_says_what_changed_since_approval(app, school):
    school, _people, clients, tokens = school
    http = app.test_client()
    base = f"/api/v1/schools/{school.id}"
    room = http.post(f"{base}/rooms", headers=bearer(tokens[Role.STAFF]),
                     json={"name": "6A", "kind": "classroom", "internet": True}).get_json()
    tv = http.post(f"{base}/equipment", headers=bearer(tokens[Role.STAFF]),
                   json={"kind": "tv", "name": "TV 6A", "status": "in_use", "room_id": room["id"]}).get_json()
    year = school.school_year
    http.post(f"{base}/assessments/{year}/start-review", headers=bearer(tokens[Role.STAFF]), json={})
    assert http.post(f"{base}/assessments/{year}/approve", headers=bearer(tokens[Role.PRINCIPAL]),
                     json={}).status_code == 200
    assert 'data-testid="dashboard-changed-since-approval"' not in _page(clients[Role.STAFF], "/")
    http.patch(f"{base}/equipment/{tv['id']}", headers=bearer(tokens[Role.STAFF]), json={"status": "broken"})
    home = _page(clients[Role.STAFF], "/")
    panel = home[home.index('data-testid="dashboard-changed-since-approval"'):]
    assert "Thay đổi sau khi phê duyệt" in panel and "1.7.a: 8 → 0" in panel and "TV 6A" in panel
    assert "Đang sử dụng → Hỏng" in panel
    assert 'data-testid="waiting-count">0<' in _page(clients[Role.REVIEWER], "/")


def test_a_refusal_with_odd_bytes_in_its_address_leaves_the_other_schools_log_readable(app, school, build,
                                                                                        make_client):
    school, _people, clients, _tokens = school
    intruder = make_client()
    intruder.login(build.user(Role.STAFF, school=build.school()).email)
    assert intruder.get(f"/schools/{school.id}/assessments/%00x%01").status_code == 404
    log = _page(clients[Role.PRINCIPAL], f"/schools/{school.id}/audit?q=x")
    assert "%00x%01" in log
    export = clients[Role.PRINCIPAL].get(f"/schools/{school.id}/audit/export.xlsx")
    assert export.status_code == 200 and export.data[:2] == b"PK"


def test_the_district_officer_evaluates_on_the_page_and_the_school_sees_why(app, school, build, make_client):
    school, _people, clients, tokens = school
    http = app.test_client()
    base = f"/api/v1/schools/{school.id}"
    year = school.school_year
    room = http.post(f"{base}/rooms", headers=bearer(tokens[Role.STAFF]),
                     json={"name": "6A", "kind": "classroom", "internet": True}).get_json()
    http.post(f"{base}/equipment", headers=bearer(tokens[Role.STAFF]),
              json={"kind": "tv", "name": "TV 6A", "status": "in_use", "room_id": room["id"]})
    http.post(f"{base}/assessments/{year}/start-review", headers=bearer(tokens[Role.STAFF]), json={})
    assert http.post(f"{base}/assessments/{year}/approve", headers=bearer(tokens[Role.PRINCIPAL]),
                     json={}).status_code == 200
    officer = make_client()
    officer.login(build.user(Role.DISTRICT, district=school.district).email)
    url = f"/schools/{school.id}/assessments/{year}"
    page = _page(officer, url)
    assert 'data-testid="evaluation-form"' in page and 'name="points-1.7.a"' in page
    assert 'data-testid="action-start_review"' not in page  # the school's steps are not theirs

    fields = {f"points-{code}": value for code, value in re.findall(r'name="points-([0-9.a-z]+)"[^>]*value="([^"]*)"',
                                                                     page.replace("\n", " "))}
    missing = officer.post(f"{url}/evaluation", {**fields, "points-1.7.a": "5"})
    assert missing.status_code == 400 and "Hãy nêu lý do thay đổi điểm 1.7.a." in missing.get_data(as_text=True)
    saved = officer.post(f"{url}/evaluation", {**fields, "points-1.7.a": "5",
                                               "reason-1.7.a": "TV phòng 6A không kết nối được khi kiểm tra"})
    assert saved.status_code == 302
    school_page = _page(clients[Role.PRINCIPAL], url)
    evaluated = school_page[school_page.index('data-testid="evaluation"'):]
    assert "1.7.a" in evaluated and "TV phòng 6A không kết nối được khi kiểm tra" in evaluated
    assert "Kết quả đánh giá ngoài" in evaluated and "trường tự đánh giá 8" in evaluated  # claim beside it
    recognised = officer.post(f"{url}/evaluation", {"do": "recognise"})
    assert recognised.status_code == 302
    assert "Đã công nhận mức độ" in _page(clients[Role.PRINCIPAL], url)
