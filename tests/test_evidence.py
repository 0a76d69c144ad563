"""Evidence through the API, as a school's staff and reviewers use it, on both storage
backends: documents with files and versions, evidence codes, links and their review,
downloads, removal and restore, and evidence in the score."""

from __future__ import annotations

import hashlib
import io
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.evidence.models import EvidenceDocument, EvidenceFile, EvidenceLink
from app.extensions import db
from app.storage import object_key, storage
from app.storage.models import StoredObject
from tests import files
from tests.builders import bearer


@pytest.fixture()
def school_people(build):
    school = build.school(code="CVA", name="Trường Tiểu học Chu Văn An")
    people = {role: build.user(role, school=school) for role in (Role.STAFF, Role.REVIEWER, Role.PRINCIPAL)}
    tokens = {role: build.token(person) for role, person in people.items()}
    return school, people, tokens


def _upload(http, school, token, data=None, files_=(), **form):
    body = {"title": "", "doc_type": "decision", **form, **(data or {})}
    body["file"] = [(io.BytesIO(content), name) for name, content in files_]
    return http.post(f"/api/v1/schools/{school.id}/evidence", headers=bearer(token), data=body,
                     content_type="multipart/form-data")


def test_a_decision_uploaded_with_links_gets_codes_and_its_file_is_stored_once(app, backend, school_people, read):
    school, _people, tokens = school_people
    http = app.test_client()
    content = files.pdf()
    created = _upload(http, school, tokens[Role.STAFF], files_=[("Quyết định thành lập BCĐ.pdf", content)],
                      title="Quyết định thành lập Ban chỉ đạo chuyển đổi số", number="11/QĐ-CVA",
                      issued_on="2023-02-15", issuer="Trường Tiểu học Chu Văn An", criteria=["2.1", "2.3.a"])
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["codes"] == ["H2-2.1-01", "H2-2.3-01"]
    assert [(link["criterion"], link["status"]) for link in body["links"]] == [("2.1", "pending"), ("2.3.a", "pending")]
    [file] = body["files"]
    assert file["sha256"] == hashlib.sha256(content).hexdigest()
    assert (file["filename"], file["size"], file["content_type"], file["version"]) == (
        "Quyết định thành lập BCĐ.pdf", len(content), "application/pdf", 1)

    second = _upload(http, school, tokens[Role.STAFF], files_=[("ban sao.pdf", content)], title="Bản sao",
                     criteria=["2.1"])
    assert second.get_json()["codes"] == ["H2-2.1-02"]

    def stored():
        objects = db.session.scalars(select(StoredObject).where(StoredObject.school_id == school.id)).all()
        return [(item.sha256, storage().stat(item.key).size) for item in objects]
    assert read(stored) == [(file["sha256"], len(content))]  # the same bytes, stored once


def test_the_download_is_an_attachment_under_the_original_name(app, backend, school_people):
    school, _people, tokens = school_people
    http = app.test_client()
    content = files.docx()
    name = "Kế hoạch ứng dụng CNTT năm học 2022-2023.docx"
    body = _upload(http, school, tokens[Role.STAFF], files_=[(name, content)], doc_type="plan").get_json()
    url = f"/api/v1/schools/{school.id}/evidence/{body['id']}/files/{body['files'][0]['id']}/download"
    response = http.get(url, headers=bearer(tokens[Role.PRINCIPAL]))
    assert response.status_code == 200
    assert response.data == content
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition
    assert response.headers["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_presigned_downloads_redirect_to_a_short_lived_url_with_the_same_disposition(app, school_people, s3_server):
    import requests

    from tests.conftest import make_bucket, s3_settings

    school, _people, tokens = school_people
    with s3_settings(app, S3_ENDPOINT_URL=s3_server.url, S3_BUCKET=make_bucket(s3_server.url),
                     S3_PRESIGNED_DOWNLOADS=True):
        http = app.test_client()
        body = _upload(http, school, tokens[Role.STAFF], files_=[("Ảnh chụp LMS.png", files.png())],
                       doc_type="screenshot").get_json()
        url = f"/api/v1/schools/{school.id}/evidence/{body['id']}/files/{body['files'][0]['id']}/download"
        response = http.get(url, headers=bearer(tokens[Role.STAFF]))
    assert response.status_code == 302
    location = response.headers["Location"]
    assert "X-Amz-Expires=300" in location
    fetched = requests.get(location, timeout=10)
    assert fetched.status_code == 200 and fetched.content == files.png()
    assert "filename*=UTF-8''" in fetched.headers["Content-Disposition"]


def test_a_new_version_keeps_the_old_one_and_the_same_bytes_add_nothing(app, backend, school_people, read):
    school, _people, tokens = school_people
    http = app.test_client()
    body = _upload(http, school, tokens[Role.STAFF], files_=[("ke-hoach.pdf", files.pdf("v1"))],
                   doc_type="plan", criteria=["1.1"]).get_json()
    base = f"/api/v1/schools/{school.id}/evidence/{body['id']}"
    added = http.post(f"{base}/files", headers=bearer(tokens[Role.STAFF]),
                      data={"file": (io.BytesIO(files.pdf("v2")), "ke-hoach-sua.pdf")})
    assert added.status_code == 201 and added.get_json()["version"] == 2
    again = http.post(f"{base}/files", headers=bearer(tokens[Role.STAFF]),
                      data={"file": (io.BytesIO(files.pdf("v2")), "ke-hoach-sua (1).pdf")})
    assert again.status_code == 200 and again.get_json()["version"] == 2
    document = http.get(base, headers=bearer(tokens[Role.STAFF])).get_json()
    assert [(f["version"], f["filename"]) for f in document["files"]] == [(1, "ke-hoach.pdf"), (2, "ke-hoach-sua.pdf")]
    assert read(lambda: db.session.scalar(select(func.count()).select_from(EvidenceFile))) == 2


def test_review_accepts_or_rejects_with_a_comment_but_never_ones_own_upload(app, backend, school_people, read):
    school, people, tokens = school_people
    http = app.test_client()
    body = _upload(http, school, tokens[Role.STAFF], files_=[("man-hinh.png", files.png())],
                   doc_type="screenshot", criteria=["1.3"]).get_json()
    review = f"/api/v1/schools/{school.id}/evidence/{body['id']}/links/1.3/review"
    no_reason = http.post(review, headers=bearer(tokens[Role.REVIEWER]), json={"decision": "rejected"})
    assert no_reason.status_code == 400 and "comment" in no_reason.get_json()["error"]["fields"]
    rejected = http.post(review, headers=bearer(tokens[Role.REVIEWER]),
                         json={"decision": "rejected", "comment": "Ảnh mờ, không thấy tên phần mềm"})
    assert rejected.status_code == 200
    assert (rejected.get_json()["status"], rejected.get_json()["comment"]) == (
        "rejected", "Ảnh mờ, không thấy tên phần mềm")
    staff_reviews = http.post(review, headers=bearer(tokens[Role.STAFF]), json={"decision": "accepted"})
    assert staff_reviews.status_code == 403

    # The uploader sends a sharper screenshot: the link goes back to review, then is accepted.
    http.post(f"/api/v1/schools/{school.id}/evidence/{body['id']}/files", headers=bearer(tokens[Role.STAFF]),
              data={"file": (io.BytesIO(files.png(color="teal")), "man-hinh-ro.png")})
    document = http.get(f"/api/v1/schools/{school.id}/evidence/{body['id']}", headers=bearer(tokens[Role.STAFF]))
    assert document.get_json()["links"][0]["status"] == "pending"
    accepted = http.post(review, headers=bearer(tokens[Role.REVIEWER]), json={"decision": "accepted"})
    assert accepted.get_json()["status"] == "accepted"

    # The principal uploads something; the principal may not review it, a reviewer may.
    own = _upload(http, school, tokens[Role.PRINCIPAL], files_=[("qc.pdf", files.pdf("quy che"))],
                  doc_type="regulation", criteria=["1.2"]).get_json()
    own_review = f"/api/v1/schools/{school.id}/evidence/{own['id']}/links/1.2/review"
    refused = http.post(own_review, headers=bearer(tokens[Role.PRINCIPAL]), json={"decision": "accepted"})
    assert refused.status_code == 403 and "người khác phải thẩm định" in refused.get_json()["error"]["message"]
    actions = read(lambda: [event.details["status"] for event in db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "evidence.reviewed").order_by(AuditEvent.id))])
    assert actions == ["rejected", "accepted"]
    del people


def test_unknown_criteria_and_missing_titles_are_refused_with_messages(app, school_people, read):
    school, _people, tokens = school_people
    http = app.test_client()
    unknown = http.post(f"/api/v1/schools/{school.id}/evidence", headers=bearer(tokens[Role.STAFF]),
                        json={"title": "Kế hoạch", "doc_type": "plan", "criteria": ["9.9", "1.1"]})
    assert unknown.status_code == 400
    assert "9.9" in unknown.get_json()["error"]["fields"]["criteria"]
    untitled = http.post(f"/api/v1/schools/{school.id}/evidence", headers=bearer(tokens[Role.STAFF]),
                         json={"doc_type": "plan"})
    assert untitled.status_code == 400 and "title" in untitled.get_json()["error"]["fields"]
    link_without_url = http.post(f"/api/v1/schools/{school.id}/evidence", headers=bearer(tokens[Role.STAFF]),
                                 json={"title": "Trang LMS", "doc_type": "link"})
    assert link_without_url.status_code == 400 and "url" in link_without_url.get_json()["error"]["fields"]
    assert read(lambda: db.session.scalar(select(func.count()).select_from(EvidenceDocument))) == 0


def test_link_evidence_by_json_and_links_added_removed_and_given_back(app, school_people):
    school, _people, tokens = school_people
    http = app.test_client()
    created = http.post(f"/api/v1/schools/{school.id}/evidence", headers=bearer(tokens[Role.STAFF]),
                        json={"title": "Trang quản trị LMS", "doc_type": "link", "url": "https://lms.example.edu.vn"})
    assert created.status_code == 201
    base = f"/api/v1/schools/{school.id}/evidence/{created.get_json()['id']}"
    assert http.post(f"{base}/links", headers=bearer(tokens[Role.STAFF]),
                     json={"criterion": "1.3.b"}).get_json()["code"] == "H1-1.3-01"
    assert http.post(f"{base}/links", headers=bearer(tokens[Role.STAFF]),
                     json={"criterion": "1.3.c"}).get_json()["code"] == "H1-1.3-02"
    assert http.delete(f"{base}/links/1.3.b", headers=bearer(tokens[Role.STAFF])).status_code == 204
    assert http.delete(f"{base}/links/1.3.b", headers=bearer(tokens[Role.STAFF])).status_code == 404
    back = http.post(f"{base}/links", headers=bearer(tokens[Role.STAFF]), json={"criterion": "1.3.b"})
    assert back.get_json()["code"] == "H1-1.3-01"  # stable once given


def test_removed_evidence_leaves_the_list_and_the_score_until_a_principal_restores_it(app, school_people):
    school, _people, tokens = school_people
    http = app.test_client()
    created = _upload(http, school, tokens[Role.STAFF], files_=[("kh.pdf", files.pdf("ke hoach"))],
                      doc_type="plan", criteria=["1.1"]).get_json()
    base = f"/api/v1/schools/{school.id}/evidence"

    def mandatory_11():
        card = http.get(f"/api/v1/schools/{school.id}/score", headers=bearer(tokens[Role.STAFF])).get_json()
        return next(c for c in card["criteria"] if c["code"] == "1.1")["met"]

    assert mandatory_11() is True
    assert http.delete(f"{base}/{created['id']}", headers=bearer(tokens[Role.STAFF])).status_code == 204
    assert http.get(base, headers=bearer(tokens[Role.STAFF])).get_json()["total"] == 0
    assert mandatory_11() is False
    assert http.post(f"{base}/{created['id']}/restore", headers=bearer(tokens[Role.STAFF])).status_code == 403
    assert http.post(f"{base}/{created['id']}/restore", headers=bearer(tokens[Role.PRINCIPAL])).status_code == 200
    assert mandatory_11() is True


def test_evidence_decides_mandatory_conditions_and_evidenced_points(app, school_people, build):
    school, _people, tokens = school_people
    build.record("software", school, name="Google Meet", category="teaching", capabilities=["online_teaching"])
    http = app.test_client()

    def score():
        return http.get(f"/api/v1/schools/{school.id}/score", headers=bearer(tokens[Role.STAFF])).get_json()

    def criterion(card, code):
        return next(c for c in card["criteria"] if c["code"] == code)

    before = score()
    assert criterion(before, "1.3")["points"] == 6 and criterion(before, "1.3")["evidenced_points"] == 0
    assert before["groups"][0]["mandatory_met"] is False
    for code, doc_type in (("1.1", "plan"), ("1.2", "regulation")):
        http.post(f"/api/v1/schools/{school.id}/evidence", headers=bearer(tokens[Role.STAFF]),
                  json={"title": f"Văn bản {code}", "doc_type": doc_type, "criteria": [code]})
    shot = http.post(f"/api/v1/schools/{school.id}/evidence", headers=bearer(tokens[Role.STAFF]),
                     json={"title": "Ảnh Google Meet", "doc_type": "link", "url": "https://meet.google.com",
                           "criteria": ["1.3.a"]}).get_json()
    linked = score()
    assert linked["groups"][0]["mandatory_met"] is True  # linked, not rejected: met
    assert criterion(linked, "1.3")["evidenced_points"] == 0  # not yet accepted
    http.post(f"/api/v1/schools/{school.id}/evidence/{shot['id']}/links/1.3.a/review",
              headers=bearer(tokens[Role.REVIEWER]), json={"decision": "accepted"})
    assert criterion(score(), "1.3")["evidenced_points"] == 6


def test_lists_search_without_diacritics_and_filter_by_criterion_type_and_status(app, school_people):
    school, _people, tokens = school_people
    http = app.test_client()
    for title, doc_type, criteria in (("Quyết định thành lập Ban chỉ đạo", "decision", ["2.1"]),
                                      ("Kế hoạch ứng dụng CNTT", "plan", ["2.2"]),
                                      ("Ảnh chụp phần mềm quản lý học sinh", "screenshot", ["2.3.b"])):
        http.post(f"/api/v1/schools/{school.id}/evidence", headers=bearer(tokens[Role.STAFF]),
                  json={"title": title, "doc_type": doc_type, "criteria": criteria})

    def titles(query):
        body = http.get(f"/api/v1/schools/{school.id}/evidence?{query}", headers=bearer(tokens[Role.STAFF])).get_json()
        return sorted(item["title"] for item in body["items"])

    assert titles("q=quyet+dinh") == ["Quyết định thành lập Ban chỉ đạo"]
    assert titles("criterion=2.3") == ["Ảnh chụp phần mềm quản lý học sinh"]
    assert titles("doc_type=plan") == ["Kế hoạch ứng dụng CNTT"]
    assert len(titles("link_status=pending")) == 3 and titles("link_status=accepted") == []


def test_another_schools_evidence_is_not_found(app, school_people, build):
    school, _people, tokens = school_people
    other = build.school(code="OTHER")
    other_staff = build.token(build.user(Role.STAFF, school=other))
    http = app.test_client()
    body = _upload(http, school, tokens[Role.STAFF], files_=[("kh.pdf", files.pdf())], doc_type="plan").get_json()
    for url in (f"/api/v1/schools/{school.id}/evidence/{body['id']}",
                f"/api/v1/schools/{school.id}/evidence/{body['id']}/files/{body['files'][0]['id']}/download",
                f"/api/v1/schools/{other.id}/evidence/{body['id']}"):
        assert http.get(url, headers=bearer(other_staff)).status_code == 404
    mine = _upload(http, other, other_staff, files_=[("x.pdf", files.pdf("x"))], doc_type="plan").get_json()
    crossed = f"/api/v1/schools/{other.id}/evidence/{mine['id']}/files/{body['files'][0]['id']}/download"
    assert http.get(crossed, headers=bearer(other_staff)).status_code == 404


def test_a_file_that_lies_about_its_type_is_refused_and_nothing_is_kept(app, backend, school_people, read):
    school, _people, tokens = school_people
    http = app.test_client()
    response = _upload(http, school, tokens[Role.STAFF], files_=[("anh.png", b"<html><script>alert(1)</script>")],
                       doc_type="screenshot", title="Ảnh")
    assert response.status_code == 415
    assert response.get_json()["error"]["message"]
    assert read(lambda: db.session.scalar(select(func.count()).select_from(EvidenceDocument))) == 0
    assert read(lambda: list(storage().keys("schools/"))) == []


def test_a_file_over_the_limit_answers_413_before_it_is_read_whole(app, school_people):
    school, _people, tokens = school_people
    app.config["UPLOAD_MAX_MB"] = 1
    try:
        response = _upload(app.test_client(), school, tokens[Role.STAFF],
                           files_=[("lon.pdf", files.pdf() + b"0" * (1024 * 1024 + 10))], doc_type="plan")
    finally:
        app.config["UPLOAD_MAX_MB"] = 50
    assert response.status_code == 413
    assert "1 MB" in response.get_json()["error"]["message"]


def test_a_storage_outage_gives_a_clear_message_and_no_record(app, school_people, read, tmp_path):
    from tests.conftest import MotoServer, s3_settings

    school, _people, tokens = school_people
    with s3_settings(app, S3_ENDPOINT_URL=MotoServer().url, S3_BUCKET="down"):
        response = _upload(app.test_client(), school, tokens[Role.STAFF], files_=[("kh.pdf", files.pdf())],
                           doc_type="plan", criteria=["1.1"])
    assert response.status_code == 503
    assert "kh.pdf" in response.get_json()["error"]["message"]
    assert read(lambda: db.session.scalar(select(func.count()).select_from(EvidenceDocument))) == 0
    assert read(lambda: db.session.scalar(select(func.count()).select_from(EvidenceLink))) == 0


def test_a_database_failure_after_the_write_leaves_an_orphan_that_reconcile_finds(app, backend, school_people,
                                                                                  monkeypatch, read):
    from app.evidence import services

    school, _people, tokens = school_people
    content = files.pdf("orphan")

    def broken_flush(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "_add_version", broken_flush)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        response = _upload(app.test_client(), school, tokens[Role.STAFF], files_=[("kh.pdf", content)],
                           doc_type="plan")
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert response.status_code == 500
    assert read(lambda: db.session.scalar(select(func.count()).select_from(EvidenceDocument))) == 0
    key = object_key(school.id, hashlib.sha256(content).hexdigest())
    listed = app.test_cli_runner().invoke(args=["storage", "reconcile"])
    assert f"ORPHAN {key}" in listed.output


def test_search_finds_words_inside_the_files_without_diacritics_ranked_with_the_passage(app, school_people):
    school, _people, tokens = school_people
    http = app.test_client()
    plan = files.docx("Kế hoạch tổ chức dạy học trực tuyến qua Google Meet cho học sinh lớp 5, "
                      "theo Quyết định số 11/QĐ-CVA về quy chế dạy học trực tuyến.")
    _upload(http, school, tokens[Role.STAFF], files_=[("ke-hoach.docx", plan)], doc_type="plan",
            title="Kế hoạch năm học 2022-2023")
    _upload(http, school, tokens[Role.STAFF], files_=[("qd.pdf", files.pdf("Quyet dinh thanh lap ban chi dao"))],
            doc_type="decision", title="Quyết định thành lập Ban chỉ đạo")
    _upload(http, school, tokens[Role.STAFF], files_=[("anh.png", files.png())], doc_type="photo",
            title="Ảnh phòng máy")

    def search(q):
        body = http.get(f"/api/v1/schools/{school.id}/evidence", query_string={"q": q},
                        headers=bearer(tokens[Role.STAFF])).get_json()
        return [(item["title"], item["passage"]) for item in body["items"]]

    found = search("google meet")
    assert [title for title, _passage in found] == ["Kế hoạch năm học 2022-2023"]
    assert "<mark>Google</mark> <mark>Meet</mark>" in found[0][1]
    # Both mention "quyết định"; the one whose title says it ranks first.
    assert [title for title, _passage in search("quyet dinh")] == [
        "Quyết định thành lập Ban chỉ đạo", "Kế hoạch năm học 2022-2023"]
    assert [title for title, _ in search("11/QĐ-CVA")] == ["Kế hoạch năm học 2022-2023"]
    assert search("truc tuy") and search("khong co tu nay") == []
    assert search("'\"*) OR (") == []  # query syntax is never passed through


class FakeStore:
    """An S3 endpoint that misbehaves: answers every request with 503, takes longer than
    the portal waits, or reads part of an upload and drops the connection ("drop")."""

    def __init__(self, behaviour: str):
        import http.server
        import socket
        import threading
        import time

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if behaviour == "drop" and self.command in ("PUT", "POST"):
                    self.rfile.read(min(length, 4096))
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if length:
                    self.rfile.read(length)
                if behaviour == "slow":
                    time.sleep(3)
                self.send_response(503)
                body = b"<Error><Code>ServiceUnavailable</Code><Message>down</Message></Error>"
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _answer

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize("behaviour", ["answers 503", "slow", "drops the upload halfway"])
def test_a_failing_store_gives_a_clear_message_and_no_half_record(app, school_people, read, behaviour):
    from tests.conftest import s3_settings

    school, _people, tokens = school_people
    store = FakeStore({"slow": "slow", "drops the upload halfway": "drop"}.get(behaviour, "503"))
    try:
        with s3_settings(app, S3_ENDPOINT_URL=store.url, S3_BUCKET="evidence", S3_READ_TIMEOUT=1, S3_MAX_ATTEMPTS=1):
            response = _upload(app.test_client(), school, tokens[Role.STAFF],
                               files_=[("Kế hoạch.pdf", files.pdf())], doc_type="plan", criteria=["1.1"])
    finally:
        store.close()
    assert response.status_code == 503
    assert "«Kế hoạch.pdf»" in response.get_json()["error"]["message"]
    assert read(lambda: db.session.scalar(select(func.count()).select_from(EvidenceDocument))) == 0
    assert read(lambda: db.session.scalar(select(func.count()).select_from(StoredObject))) == 0


def test_a_request_body_over_the_limit_is_refused_before_it_is_read(app, school_people):
    school, _people, tokens = school_people

    class Unread(io.RawIOBase):
        read_bytes = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            self.read_bytes += len(buffer)
            buffer[:] = b"x" * len(buffer)
            return len(buffer)

    body = Unread()
    response = app.test_client().post(
        f"/api/v1/schools/{school.id}/evidence", headers=bearer(tokens[Role.STAFF]),
        environ_overrides={"wsgi.input": body, "CONTENT_LENGTH": str(200 * 1024 * 1024),
                           "CONTENT_TYPE": "multipart/form-data; boundary=x"})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    assert body.read_bytes == 0


def test_evidence_names_the_inventory_records_it_concerns(app, school_people, build):
    school, _people, tokens = school_people
    lms = build.record("software", school, name="Hệ thống LMS", category="teaching", capabilities=["lms"])
    lab = build.record("rooms", school, name="Phòng Tin học", kind="computer_lab")
    elsewhere = build.record("rooms", build.school(code="ELSEWHERE"), name="Phòng khác", kind="office")
    http = app.test_client()
    base = f"/api/v1/schools/{school.id}/evidence"
    created = http.post(base, headers=bearer(tokens[Role.STAFF]), json={
        "title": "Hợp đồng thuê LMS", "doc_type": "contract",
        "records": [{"collection": "software", "id": lms.id}, {"collection": "rooms", "id": lab.id}]})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["records"] == [{"collection": "software", "id": lms.id, "label": "Hệ thống LMS"},
                                             {"collection": "rooms", "id": lab.id, "label": "Phòng Tin học"}]
    document = f"{base}/{created.get_json()['id']}"
    for wrong in ({"collection": "rooms", "id": elsewhere.id}, {"collection": "students", "id": 1}):
        refused = http.patch(document, headers=bearer(tokens[Role.STAFF]), json={"records": [wrong]})
        assert refused.status_code == 400 and "records.0" in refused.get_json()["error"]["fields"]
    kept = http.patch(document, headers=bearer(tokens[Role.STAFF]), json={"records": [{"collection": "software",
                                                                                     "id": lms.id}]})
    assert [record["label"] for record in kept.get_json()["records"]] == ["Hệ thống LMS"]


def test_a_scanned_decision_is_read_by_ocr_and_its_header_offered(app, school_people):
    """The job reads the scan (OCR in Vietnamese), finds the number, date and issuer of
    its first page and suggests the criterion, for the upload form to offer."""
    from app.evidence.extraction import ocr_available

    assert ocr_available(), "tesseract-ocr, tesseract-ocr-vie and poppler-utils are needed (see README)"
    school, _people, tokens = school_people
    scan = io.BytesIO()
    files.scan(["TRƯỜNG TIỂU HỌC CHU VĂN AN", "Số: 05/QĐ-THCVA", "Đắk Song, ngày 05 tháng 9 năm 2022",
                "QUYẾT ĐỊNH", "Về việc thành lập Ban chỉ đạo chuyển đổi số"]).save(scan, "JPEG", quality=90)
    http = app.test_client()
    created = _upload(http, school, tokens[Role.STAFF], files_=[("scan-quyet-dinh.jpg", scan.getvalue())],
                      doc_type="photo", title="Bản scan")
    document = http.get(f"/api/v1/schools/{school.id}/evidence/{created.get_json()['id']}",
                        headers=bearer(tokens[Role.STAFF])).get_json()
    [file] = document["files"]
    assert file["text_status"] == "done"
    assert file["found"]["number"] == "05/QĐ-THCVA"
    assert file["found"]["issued_on"] == "2022-09-05"
    assert file["found"]["doc_type"] == "decision"
    assert "2.1" in file["found"]["criteria"]
    listed = http.get(f"/api/v1/schools/{school.id}/evidence?q=ban+chi+dao", headers=bearer(tokens[Role.STAFF]))
    assert [item["title"] for item in listed.get_json()["items"]] == ["Bản scan"]


def test_titles_sort_in_vietnamese_order_and_cannot_be_emptied(app, school_people):
    school, _people, tokens = school_people
    http = app.test_client()
    base = f"/api/v1/schools/{school.id}/evidence"
    for title in ("Quyết định thành lập", "Ảnh phòng máy", "Biên bản kiểm kê", "Ấn phẩm"):
        created = http.post(base, headers=bearer(tokens[Role.STAFF]), json={"title": title, "doc_type": "other"})
    body = http.get(f"{base}?sort=title", headers=bearer(tokens[Role.STAFF])).get_json()
    assert [item["title"] for item in body["items"]] == [
        "Ảnh phòng máy", "Ấn phẩm", "Biên bản kiểm kê", "Quyết định thành lập"]
    emptied = http.patch(f"{base}/{created.get_json()['id']}", headers=bearer(tokens[Role.STAFF]), json={"title": "  "})
    assert emptied.status_code == 400 and "title" in emptied.get_json()["error"]["fields"]


def test_changing_what_was_reviewed_sends_it_back_and_the_editor_may_not_review_it(app, school_people, build):
    school, people, tokens = school_people
    http = app.test_client()
    created = http.post(f"/api/v1/schools/{school.id}/evidence", headers=bearer(tokens[Role.STAFF]), json={
        "title": "Trang LMS", "doc_type": "link", "url": "https://lms.example.edu.vn", "criteria": ["1.3.b"]})
    base = f"/api/v1/schools/{school.id}/evidence/{created.get_json()['id']}"
    review = f"{base}/links/1.3.b/review"
    assert http.post(review, headers=bearer(tokens[Role.REVIEWER]), json={"decision": "accepted"}).status_code == 200
    described = http.patch(base, headers=bearer(tokens[Role.STAFF]), json={"description": "Ghi chú thêm"})
    assert described.get_json()["links"][0]["status"] == "accepted"  # a note is not what was reviewed
    moved = http.patch(base, headers=bearer(tokens[Role.PRINCIPAL]), json={"url": "https://khac.example.com"})
    assert moved.get_json()["links"][0]["status"] == "pending"
    refused = http.post(review, headers=bearer(tokens[Role.PRINCIPAL]), json={"decision": "accepted"})
    assert refused.status_code == 403  # the principal changed it, so someone else reviews it
    rejected = http.post(review, headers=bearer(tokens[Role.REVIEWER]),
                         json={"decision": "rejected", "comment": "Địa chỉ không mở được"})
    assert rejected.status_code == 200
    # Unlinking and linking again does not wipe the rejection.
    http.delete(f"{base}/links/1.3.b", headers=bearer(tokens[Role.STAFF]))
    back = http.post(f"{base}/links", headers=bearer(tokens[Role.STAFF]), json={"criterion": "1.3.b"}).get_json()
    assert (back["status"], back["comment"]) == ("rejected", "Địa chỉ không mở được")
    del people, build


def test_the_same_file_twice_in_one_upload_is_one_version(app, school_people):
    school, _people, tokens = school_people
    response = _upload(app.test_client(), school, tokens[Role.STAFF], doc_type="plan",
                       files_=[("a.pdf", files.pdf("same")), ("b.pdf", files.pdf("same"))])
    assert response.status_code == 201
    assert [file["filename"] for file in response.get_json()["files"]] == ["a.pdf"]


def test_a_lost_job_is_queued_again_and_a_queue_failure_does_not_fail_the_upload(app, school_people, monkeypatch,
                                                                                 read):
    from app.evidence import jobs

    school, _people, tokens = school_people

    def queue_down(file_id):
        raise ConnectionError("queue unreachable")

    monkeypatch.setattr(jobs, "read_text", queue_down)
    response = _upload(app.test_client(), school, tokens[Role.STAFF], doc_type="plan",
                       files_=[("kh.docx", files.docx("Kế hoạch dạy học trực tuyến"))])
    assert response.status_code == 201
    assert response.get_json()["files"][0]["text_status"] == "pending"
    monkeypatch.undo()
    result = app.test_cli_runner().invoke(args=["jobs", "requeue"])
    assert "1 files queued again" in result.output
    assert read(lambda: db.session.scalar(select(EvidenceFile.text_status))).value == "done"


def test_a_file_with_a_huge_vocabulary_stays_searchable(app, school_people, read):
    """A spreadsheet of serial numbers has more distinct words than a PostgreSQL tsvector
    holds (1 MB): the index keeps each word once, as many as fit."""
    from app.evidence.search import reindex

    school, _people, tokens = school_people
    http = app.test_client()
    created = _upload(http, school, tokens[Role.STAFF], files_=[("serials.xlsx", files.xlsx())], doc_type="report",
                      title="Danh sách số sê-ri").get_json()

    def fill():
        document = db.session.get(EvidenceDocument, created["id"])
        document.current_file.text = " ".join(f"sn{number:07d}x" for number in range(150_000)) + " sn0000000x"
        reindex(document)
        db.session.commit()
    read(fill)
    found = http.get(f"/api/v1/schools/{school.id}/evidence?q=sn0000001x", headers=bearer(tokens[Role.STAFF]))
    assert [item["title"] for item in found.get_json()["items"]] == ["Danh sách số sê-ri"]


@pytest.mark.real_commits
def test_on_the_embedded_database_a_slow_upload_does_not_hold_other_writers(live_portal, monkeypatch):
    """The file is received, checked and stored with no transaction open, so on SQLite
    somebody else's save goes through while an upload is still on its way."""
    import threading

    import requests

    from app.accounts import services as accounts
    from app.evidence import services

    with live_portal.app.test_request_context():  # a school of its own: the journeys seal the demo school's year
        from app.schools import services as schools

        school = schools.create_school(None, {"code": "TAICHAM", "name": "Trường Tiểu học Tải Chậm",
                                              "level": "tieu_hoc", "district": "Đắk Song", "province": "Đắk Nông"})
        uploader = accounts.create_user(None, email="chamtai@thcva.edu.vn", full_name="Người Tải Chậm",
                                        password="tai-len-rat-cham-1", role=Role.STAFF, school=school)
        other = accounts.create_user(None, email="nguoikhac@thcva.edu.vn", full_name="Người Khác",
                                     password="luu-trong-luc-cho-2", role=Role.STAFF, school=school)
        tokens = [accounts.issue_token(person, "test")[1] for person in (uploader, other)]
        school_id = school.id
    stalled, release = threading.Event(), threading.Event()
    real_put = services._put

    def slow_put(*args):
        stalled.set()
        release.wait(30)
        return real_put(*args)

    monkeypatch.setattr(services, "_put", slow_put)
    result = {}

    def upload():
        result["upload"] = requests.post(
            f"{live_portal.url}/api/v1/schools/{school_id}/evidence", headers=bearer(tokens[0]), timeout=60,
            data={"title": "Tải chậm", "doc_type": "plan"}, files={"file": ("cham.pdf", files.pdf("cham"))})

    thread = threading.Thread(target=upload)
    thread.start()
    try:
        assert stalled.wait(30)
        saved = requests.post(f"{live_portal.url}/api/v1/schools/{school_id}/rooms", headers=bearer(tokens[1]),
                              json={"name": "Phòng đọc sách", "kind": "library"}, timeout=30)
        assert saved.status_code == 201
    finally:
        release.set()
        thread.join(60)
    assert result["upload"].status_code == 201


def test_a_review_never_outlives_a_change_of_content_even_through_unlinking(app, school_people):
    school, _people, tokens = school_people
    http = app.test_client()
    created = _upload(http, school, tokens[Role.STAFF], files_=[("kh.pdf", files.pdf("ke hoach"))], doc_type="plan",
                      criteria=["2.2"]).get_json()
    base = f"/api/v1/schools/{school.id}/evidence/{created['id']}"
    http.post(f"{base}/links/2.2/review", headers=bearer(tokens[Role.REVIEWER]), json={"decision": "accepted"})
    http.delete(f"{base}/links/2.2", headers=bearer(tokens[Role.STAFF]))
    http.post(f"{base}/files", headers=bearer(tokens[Role.STAFF]),
              data={"file": (io.BytesIO(files.pdf("mot van ban khac")), "khac.pdf")})
    back = http.post(f"{base}/links", headers=bearer(tokens[Role.STAFF]), json={"criterion": "2.2"}).get_json()
    assert back["status"] == "pending"


def test_whoever_made_a_link_does_not_review_it(app, school_people):
    school, _people, tokens = school_people
    http = app.test_client()
    created = _upload(http, school, tokens[Role.STAFF], files_=[("anh.png", files.png())], doc_type="screenshot",
                      ).get_json()
    base = f"/api/v1/schools/{school.id}/evidence/{created['id']}"
    assert http.post(f"{base}/links", headers=bearer(tokens[Role.PRINCIPAL]), json={"criterion": "2.1"}).status_code \
        == 201
    refused = http.post(f"{base}/links/2.1/review", headers=bearer(tokens[Role.PRINCIPAL]),
                        json={"decision": "accepted"})
    assert refused.status_code == 403
    assert http.post(f"{base}/links/2.1/review", headers=bearer(tokens[Role.REVIEWER]),
                     json={"decision": "accepted"}).status_code == 200


def test_a_change_of_links_makes_a_form_showing_the_old_ones_stale(app, school_people):
    school, _people, tokens = school_people
    http = app.test_client()
    created = http.post(f"/api/v1/schools/{school.id}/evidence", headers=bearer(tokens[Role.STAFF]),
                        json={"title": "Kế hoạch", "doc_type": "plan", "criteria": ["2.2"]}).get_json()
    base = f"/api/v1/schools/{school.id}/evidence/{created['id']}"
    http.post(f"{base}/links", headers=bearer(tokens[Role.PRINCIPAL]), json={"criterion": "1.1"})
    stale = http.patch(base, headers=bearer(tokens[Role.STAFF]),
                       json={"criteria": ["2.2"], "version": created["version"]})
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "stale_version"
    assert [link["criterion"] for link in http.get(base, headers=bearer(tokens[Role.STAFF])).get_json()["links"]] \
        == ["2.2", "1.1"]


@pytest.mark.parametrize("url, kind", [("immediate", "MemoryHuey"), ("sqlite:///{tmp}/jobs.db", "SqliteHuey"),
                                       ("redis://127.0.0.1:6379/3", "RedisHuey")])
def test_jobs_url_picks_the_queue(tmp_path, url, kind):
    from app import create_app
    from app.evidence.jobs import queue

    app = create_app({"ENV": "testing", "INSTANCE_PATH": str(tmp_path), "JOBS_URL": url.format(tmp=tmp_path)})
    huey, tasks = queue(app)
    assert type(huey).__name__ == kind and "read_text" in tasks


def test_a_jobs_url_of_no_known_kind_is_refused_at_start(tmp_path):
    from app import create_app
    from app.config import ConfigError

    with pytest.raises(ConfigError, match="JOBS_URL"):
        create_app({"ENV": "testing", "INSTANCE_PATH": str(tmp_path), "JOBS_URL": "amqp://broker"})
