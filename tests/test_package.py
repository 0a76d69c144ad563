"""Journey 5's evidence package: the principal approves the year and downloads one ZIP
with the reports, every evidence file under its code and a manifest of SHA-256 hashes;
a district officer (or `flask package verify`) finds any file changed, removed or added."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.assessments.models import SealedResult
from app.audit.models import AuditEvent
from app.extensions import db
from app.reports import package as packages
from app.storage import storage
from tests import files
from tests.test_assessments import Api, _ready

TITLE = "Kế hoạch: ứng dụng CNTT / dạy học trực tuyến?"  # characters no file name may hold


@pytest.fixture()
def school_people(build):
    school = build.school(code="CVA", name="Trường Tiểu học Chu Văn An")
    other = build.school(code="NTT", name="Trường Tiểu học Nguyễn Tất Thành")
    people = {role: build.user(role, school=school, full_name=f"Cô {role.value}")
              for role in (Role.STAFF, Role.REVIEWER, Role.PRINCIPAL)}
    people["other"] = build.user(Role.PRINCIPAL, school=other)
    people["district"] = build.user(Role.DISTRICT, district=school.district)
    tokens = {role: build.token(person) for role, person in people.items()}
    return school, people, tokens


def _approved(app, school, tokens) -> Api:
    """The year approved with five documents: four PDFs and a DOCX plan linked to 1.3
    and 2.1 (two codes), all accepted."""
    api = Api(app, school, tokens)
    _ready(api)
    plan = api.upload(Role.STAFF, ["1.3", "2.1"], name="ke-hoach.DOCX", content=files.docx(), title=TITLE,
                      doc_type="plan")
    for code in ("1.3", "2.1"):
        assert api.review(Role.REVIEWER, plan["id"], code, "accepted").status_code == 200
    assert api.act(Role.STAFF, "start-review").status_code == 200
    assert api.act(Role.PRINCIPAL, "approve").status_code == 200, api.act(Role.PRINCIPAL, "approve").get_json()
    return api


def _download(make_client, person, school, year):
    client = make_client()
    client.login(person.email)
    return client.get(f"/schools/{school.id}/assessments/{year}/package.zip")


def _downloads(read, school_id) -> int:
    return read(lambda: len(db.session.scalars(select(AuditEvent).where(
        AuditEvent.school_id == school_id, AuditEvent.action == "package.downloaded")).all()))


def test_the_package_of_an_approved_year_holds_every_file_with_its_hash(app, backend, school_people, make_client,
                                                                         read):
    school, people, tokens = school_people
    api = _approved(app, school, tokens)
    seal = read(lambda: db.session.scalar(select(SealedResult)))

    answer = _download(make_client, people[Role.PRINCIPAL], school, api.year)
    assert answer.status_code == 200
    body = answer.get_data()
    assert int(answer.headers["Content-Length"]) == len(body)
    assert answer.mimetype == "application/zip"
    assert answer.headers["Content-Disposition"].startswith("attachment")
    assert f"CVA-{api.year}-goi-minh-chung.zip" in answer.headers["Content-Disposition"]

    archive = zipfile.ZipFile(io.BytesIO(body))
    assert archive.testzip() is None
    assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["sealed"] is True and manifest["year"] == api.year
    assert manifest["school"] == {"code": "CVA", "name": "Trường Tiểu học Chu Văn An"}
    assert manifest["approved_by"] == people[Role.PRINCIPAL].full_name
    snapshot = archive.read("snapshot.json")
    assert manifest["snapshot_sha256"] == seal.sha256 == hashlib.sha256(snapshot).hexdigest()
    assert json.loads(snapshot) == seal.snapshot

    # Every evidence file once, under its first code, its bytes as the manifest says.
    sealed_files = {entry["id"]: entry["file"] for entry in seal.snapshot["evidence"]}
    assert sorted(entry["evidence_id"] for entry in manifest["files"]) == sorted(sealed_files)
    for entry in manifest["files"]:
        data = archive.read(entry["path"])
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] == sealed_files[entry["evidence_id"]]["sha256"]
        assert len(data) == entry["size"]
    by_code = {entry["codes"][0]: entry for entry in manifest["files"]}
    assert by_code["H1-1.1-01"]["path"] == "minh-chung/H1-1.1-01 - tai-lieu-1.1.pdf.pdf"
    plan = by_code["H1-1.3-01"]
    assert plan["codes"] == ["H1-1.3-01", "H2-2.1-02"]
    assert plan["path"] == "minh-chung/H1-1.3-01 - Kế hoạch ứng dụng CNTT dạy học trực tuyến.docx"
    assert archive.getinfo(plan["path"]).flag_bits & 0x800  # the name is UTF-8, Vietnamese intact
    assert [report["path"] for report in manifest["reports"]] == [
        "bao-cao-tu-danh-gia.xlsx", "bao-cao-tu-danh-gia.pdf", "danh-muc-minh-chung.xlsx", "danh-muc-minh-chung.pdf"]
    for report in manifest["reports"]:
        assert hashlib.sha256(archive.read(report["path"])).hexdigest() == report["sha256"]
    assert len(archive.namelist()) == 2 + 4 + len(manifest["files"])

    # Each download of the sealed package is one audit entry; another school's is not found.
    assert _downloads(read, school.id) == 1
    again = _download(make_client, people["district"], school, api.year)
    assert again.status_code == 200
    assert _downloads(read, school.id) == 2
    # The sealed result's reports were kept: every package of it carries the very same ones.
    assert json.loads(zipfile.ZipFile(io.BytesIO(again.get_data())).read("manifest.json")) == manifest
    assert _download(make_client, people["other"], school, api.year).status_code == 404


def test_a_missing_object_answers_503_before_any_byte(app, backend, school_people, make_client, read, monkeypatch):
    monkeypatch.setattr(packages, "LIST_FROM", 1)  # on S3, objects are found by listing their folder
    school, people, tokens = school_people
    api = _approved(app, school, tokens)
    seal = read(lambda: db.session.scalar(select(SealedResult)))
    lost = seal.snapshot["evidence"][0]["file"]
    read(lambda: storage().delete(lost["key"]))
    answer = _download(make_client, people[Role.PRINCIPAL], school, api.year)
    assert answer.status_code == 503
    page = answer.get_data(as_text=True)
    assert "thiếu" in page and "tai-lieu-1.1.pdf" in page
    assert "Content-Disposition" not in answer.headers
    assert _downloads(read, school.id) == 0


def test_a_year_not_approved_gives_a_draft_package_and_other_years_none(app, school_people, make_client, read):
    school, people, tokens = school_people
    api = Api(app, school, tokens)
    api.upload(Role.STAFF, ["1.1"], name="qd.pdf")
    answer = _download(make_client, people[Role.STAFF], school, api.year)
    assert answer.status_code == 200
    assert f"CVA-{api.year}-goi-minh-chung-BAN-NHAP.zip" in answer.headers["Content-Disposition"]
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(answer.get_data())).read("manifest.json"))
    assert (manifest["sealed"], manifest["approved_at"], manifest["approved_by"]) == (False, None, None)
    assert _downloads(read, school.id) == 0  # only sealed packages' downloads are recorded
    assert _download(make_client, people[Role.STAFF], school, "2019-2020").status_code == 404
    assert _download(make_client, people[Role.STAFF], school, "2025").status_code == 404


# --- the check -------------------------------------------------------------------------------

@pytest.fixture()
def package(app, school_people, make_client):
    """(school, people, the bytes of the approved year's package)."""
    school, people, tokens = school_people
    api = _approved(app, school, tokens)
    answer = _download(make_client, people[Role.PRINCIPAL], school, api.year)
    assert answer.status_code == 200
    return school, people, answer.get_data()


def rewritten(data: bytes, drop=(), add=None, replace=None) -> bytes:
    """The package re-zipped: entries in ``drop`` left out, ``add`` (name → bytes) put in,
    ``replace`` (name → bytes) swapped."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            if info.filename not in drop:
                target.writestr(info, (replace or {}).get(info.filename, source.read(info)))
        for name, body in (add or {}).items():
            target.writestr(name, body)
    return out.getvalue()


def flipped(data: bytes, name: str) -> bytes:
    """The package with one byte flipped in the middle of entry ``name``'s stored bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = archive.getinfo(name)
    header = data[info.header_offset:info.header_offset + 30]
    start = info.header_offset + 30 + int.from_bytes(header[26:28], "little") + int.from_bytes(header[28:30], "little")
    position = start + info.file_size // 2
    return data[:position] + bytes([data[position] ^ 0xFF]) + data[position + 1:]


def _verify(app, tmp_path, data: bytes, name="goi.zip"):
    path = tmp_path / name
    path.write_bytes(data)
    return app.test_cli_runner().invoke(args=["package", "verify", str(path)])


def test_package_verify_passes_an_intact_package_and_names_what_was_changed_removed_or_added(app, package, tmp_path):
    school, people, data = package
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
    first, second = manifest["files"][0]["path"], manifest["files"][1]["path"]

    intact = _verify(app, tmp_path, data)
    assert intact.exit_code == 0, intact.output
    assert f"{len(manifest['files']) + 4} files intact" in intact.output
    assert "matches the approval of Trường Tiểu học Chu Văn An (CVA)" in intact.output
    assert f"by {people[Role.PRINCIPAL].full_name}" in intact.output

    tampered = flipped(rewritten(data, drop={second}, add={"minh-chung/H9-9.9-01 - thêm.pdf": b"%PDF"}), first)
    found = _verify(app, tmp_path, tampered)
    assert found.exit_code == 1
    assert f"changed: {first} (its bytes fail the ZIP's own CRC-32)" in found.output
    assert f"missing: {second}" in found.output
    assert "added: minh-chung/H9-9.9-01 - thêm.pdf" in found.output
    assert "3 problems" in found.output
    assert "Traceback" not in found.output

    # A file changed and the ZIP rewritten around it (its CRC-32 recomputed): its hash differs.
    forged = _verify(app, tmp_path, rewritten(data, replace={first: b"%PDF-1.4 khac"}))
    assert forged.exit_code == 1
    assert f"changed: {first} (expected {manifest['files'][0]['size']} bytes" in forged.output
    assert f"found 13 bytes, sha256 {hashlib.sha256(b'%PDF-1.4 khac').hexdigest()}" in forged.output


def test_package_verify_catches_a_manifest_and_a_snapshot_edited_to_match(app, package, tmp_path):
    _school, _people, data = package
    archive = zipfile.ZipFile(io.BytesIO(data))
    manifest = json.loads(archive.read("manifest.json"))
    entry = manifest["files"][0]

    # The file swapped and its hash in the manifest updated: snapshot.json still holds the sealed hash.
    forged = b"%PDF-1.4 forged"
    entry.update(sha256=hashlib.sha256(forged).hexdigest(), size=len(forged))
    result = _verify(app, tmp_path, rewritten(data, replace={entry["path"]: forged,
                                                             "manifest.json": json.dumps(manifest).encode()}))
    assert result.exit_code == 1 and f"manifest differs from snapshot: {entry['path']}" in result.output

    # snapshot.json edited (and its hash in the manifest too): no approval has that snapshot.
    snapshot = json.loads(archive.read("snapshot.json"))
    snapshot["score"]["groups"][0]["points"] = 99
    edited = json.dumps(snapshot).encode()
    manifest = json.loads(archive.read("manifest.json"))
    unedited = rewritten(data, replace={"snapshot.json": edited})
    assert "snapshot.json does not hash" in _verify(app, tmp_path, unedited).output
    manifest["snapshot_sha256"] = hashlib.sha256(edited).hexdigest()
    result = _verify(app, tmp_path, rewritten(data, replace={"snapshot.json": edited,
                                                             "manifest.json": json.dumps(manifest).encode()}))
    assert result.exit_code == 1 and "MISMATCH: no approval in the database has this snapshot hash" in result.output


def test_package_verify_says_plainly_what_is_not_a_package(app, tmp_path):
    not_zip = _verify(app, tmp_path, files.pdf("khong phai zip"), "bao-cao.pdf")
    assert not_zip.exit_code == 1 and "not a ZIP file" in not_zip.output and "Traceback" not in not_zip.output
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("tai-lieu.pdf", b"%PDF")
    no_manifest = _verify(app, tmp_path, out.getvalue())
    assert no_manifest.exit_code == 1 and "has no manifest.json" in no_manifest.output
    missing = app.test_cli_runner().invoke(args=["package", "verify", str(tmp_path / "khong-co.zip")])
    assert missing.exit_code == 1 and "cannot be read" in missing.output


# --- the check page ------------------------------------------------------------------------------

def _upload(client, data: bytes, name="goi.zip", csrf=True):
    return client.post("/packages/verify", {"package": (io.BytesIO(data), name)}, csrf=csrf,
                       content_type="multipart/form-data")


def test_a_district_officer_checks_a_package_on_the_verify_page(app, package, make_client):
    school, people, data = package
    client = make_client()
    client.login(people["district"].email)
    assert 'type="file"' in client.get("/packages/verify").get_data(as_text=True)

    intact = _upload(client, data)
    assert intact.status_code == 200
    page = intact.get_data(as_text=True)
    assert "Gói nguyên vẹn" in page
    assert f"Bản chụp khớp với phê duyệt của {people[Role.PRINCIPAL].full_name}" in page
    assert "Trường Tiểu học Chu Văn An, năm học" in page

    manifest = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))
    first, second = manifest["files"][0]["path"], manifest["files"][1]["path"]
    tampered = rewritten(data, drop={second}, replace={first: b"%PDF changed"}, add={"them.txt": b"x"})
    page = _upload(client, tampered).get_data(as_text=True)
    for label, path in (("Tệp bị thay đổi", first), ("Thiếu tệp", second), ("Tệp thêm vào", "them.txt")):
        assert label in page and path in page

    refused = _upload(client, files.pdf("khong phai zip"), "goi.pdf")
    assert refused.status_code == 400
    assert "không phải là tệp ZIP" in refused.get_data(as_text=True)
    expired = _upload(client, data, csrf=False)
    assert expired.status_code == 400 and "Gói nguyên vẹn" not in expired.get_data(as_text=True)


def test_the_verify_page_takes_packages_larger_than_an_ordinary_upload_up_to_its_own_limit(app, make_client, build,
                                                                                           monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024)  # ordinary uploads: 1 MB
    monkeypatch.setitem(app.config, "PACKAGE_VERIFY_MAX_MB", 3)
    client = make_client()
    client.login(build.user(Role.DISTRICT, district=build.school().district).email)
    big = io.BytesIO()
    with zipfile.ZipFile(big, "w") as archive:
        archive.writestr("anh.png", bytes(2 * 1024 * 1024))
    taken = _upload(client, big.getvalue())
    assert taken.status_code == 400 and "không có manifest.json" in taken.get_data(as_text=True)
    monkeypatch.setitem(app.config, "PACKAGE_VERIFY_MAX_MB", 1)
    too_large = _upload(client, big.getvalue())
    assert too_large.status_code == 413 and "lớn hơn 1 MB" in too_large.get_data(as_text=True)
