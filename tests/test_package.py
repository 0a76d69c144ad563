"""Journey 5's evidence package: the principal approves the year and downloads one ZIP
with the reports, every evidence file under its code and a manifest of SHA-256 hashes;
a district officer (or `flask package verify`) finds any file changed, removed or added."""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import zipfile

import pytest
from sqlalchemy import select

from app.accounts.models import Role
from app.assessments.models import SealedResult
from app.audit.models import AuditEvent
from app.extensions import db
from app.reports import package as packages
from app.schools.models import School
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
    """Post ``data`` as a browser does: to the action of the page's form, which carries
    the CSRF token in its query string (``csrf=False``: to the bare address)."""
    address = _action(client) if csrf else "/packages/verify"
    return client.http.post(address, data={"package": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def _action(client) -> str:
    page = client.get("/packages/verify").get_data(as_text=True)
    return html.unescape(re.search(r'<form[^>]*data-upload-progress[^>]*action="([^"]+)"', page).group(1))


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


# --- what the check trusts -------------------------------------------------------------------------

def _manifest_of(data: bytes) -> dict:
    return json.loads(zipfile.ZipFile(io.BytesIO(data)).read("manifest.json"))


def _with_manifest(data: bytes, manifest: dict, **changes) -> bytes:
    return rewritten(data, replace={"manifest.json": json.dumps(manifest, ensure_ascii=False).encode(),
                                    **changes.pop("replace", {})}, **changes)


def test_package_verify_takes_the_truth_from_the_approval_not_from_the_unsigned_manifest(app, package, tmp_path):
    school, _people, data = package

    # A report replaced, its hash in the manifest updated, and another school's name.
    manifest = _manifest_of(data)
    forged = b"%PDF-1.4 every criterion at the top level"
    report = next(entry for entry in manifest["reports"] if entry["path"] == "bao-cao-tu-danh-gia.pdf")
    report.update(sha256=hashlib.sha256(forged).hexdigest(), size=len(forged))
    manifest["school"]["name"] = "Trường khác hẳn"
    result = _verify(app, tmp_path, _with_manifest(data, manifest, replace={"bao-cao-tu-danh-gia.pdf": forged}))
    assert result.exit_code == 1
    assert result.output.startswith(f"Package of Trường Tiểu học Chu Văn An (CVA), school year {manifest['year']}")
    assert "changed: bao-cao-tu-danh-gia.pdf" in result.output
    assert "manifest differs from snapshot: bao-cao-tu-danh-gia.pdf" in result.output
    assert ('manifest differs from snapshot: manifest.json school.name (expected "Trường Tiểu học Chu Văn An", '
            'found "Trường khác hẳn")') in result.output
    assert "3 problems" in result.output

    # An evidence file moved under another code's path, in the ZIP and in the manifest alike.
    manifest = _manifest_of(data)
    entry = manifest["files"][0]
    old_path, new_path = entry["path"], "minh-chung/H2-2.2-09 - Quyết định khác.pdf"
    entry["path"] = new_path
    body = zipfile.ZipFile(io.BytesIO(data)).read(old_path)
    result = _verify(app, tmp_path, _with_manifest(data, manifest, drop={old_path}, add={new_path: body}))
    assert result.exit_code == 1
    assert f"added: {new_path}" in result.output and f"missing: {old_path}" in result.output
    assert f"manifest differs from snapshot: {new_path} (differs in path; expected at {old_path})" in result.output

    # The year and the approver, as the manifest would have them.
    manifest = _manifest_of(data)
    manifest.update(year="2019-2020", approved_by="Người khác")
    result = _verify(app, tmp_path, _with_manifest(data, manifest))
    assert result.exit_code == 1
    assert f'manifest.json year (expected "{_manifest_of(data)["year"]}", found "2019-2020")' in result.output
    assert 'approved_by (expected "Cô principal", found "Người khác")' in result.output


def test_the_verify_page_names_the_school_as_the_portal_records_it(app, package, make_client, read):
    school, people, data = package
    client = make_client()
    client.login(people["district"].email)
    manifest = _manifest_of(data)
    manifest["school"] = {"code": "XYZ", "name": "Trường khác hẳn"}
    page = _upload(client, _with_manifest(data, manifest)).get_data(as_text=True)
    assert "Gói nguyên vẹn" not in page and "Gói không còn như khi được tạo: có 2 điểm khác biệt" in page
    named = re.search(r'data-testid="verdict-school">([^<]*)<', page).group(1)
    assert named == "Trường Tiểu học Chu Văn An (CVA)"
    rows = re.search(r'data-testid="problems">(.*?)</table>', page, re.S).group(1)
    assert "Trường khác hẳn" in rows and "Mã trường" in rows

    # Renamed since the approval: the package is still intact, under the school's name today.
    def rename():
        db.session.get(School, school.id).name = "Trường Tiểu học Chu Văn An (mới)"
        db.session.commit()
    read(rename)
    page = _upload(client, data).get_data(as_text=True)
    assert "Gói nguyên vẹn" in page
    assert 'data-testid="verdict-school">Trường Tiểu học Chu Văn An (mới) (CVA)<' in page


def test_reports_the_portal_does_not_keep_cannot_be_checked(app, package, make_client, read, tmp_path):
    school, people, data = package
    seal = read(lambda: db.session.scalar(select(SealedResult)))
    for name, _function in packages.REPORTS:  # kept beside the sealed result's manifest
        read(lambda name=name: storage().delete(f"schools/{school.id}/sealed/{seal.school_year}/{seal.sha256}/{name}"))

    result = _verify(app, tmp_path, data)
    assert result.exit_code == 1
    assert "the portal does not keep this approval's bao-cao-tu-danh-gia.xlsx" in result.output
    assert "the reports cannot be checked" in result.output and "as it was made" not in result.output
    client = make_client()
    client.login(people["district"].email)
    page = _upload(client, data).get_data(as_text=True)
    assert "Gói nguyên vẹn" not in page
    assert "không thể kiểm tra các báo cáo" in page and "Cổng không lưu các báo cáo của phê duyệt này" in page


def _handmade(mutate=None) -> bytes:
    """A package of no approval made by hand, consistent in itself: a snapshot of one
    document, its file, and a manifest listing it; ``mutate(manifest)`` changes the manifest."""
    pdf = b"%PDF-1.4 quyet dinh"
    path = "minh-chung/H1-1.1-01 - Quyết định.pdf"
    stored = {"filename": "qd.pdf", "key": "k", "sha256": hashlib.sha256(pdf).hexdigest(), "size": len(pdf),
              "version": 1}
    snapshot = json.dumps({"school": {"id": 1, "code": "TAY", "name": "Trường làm tay"}, "year": "2025-2026",
                           "evidence": [{"id": 7, "title": "Quyết định", "links": [{"code": "H1-1.1-01"}],
                                         "file": stored}]}).encode()
    manifest = {"format": "qd4725-package/1", "school": {"code": "TAY", "name": "Trường làm tay"},
                "year": "2025-2026", "sealed": False, "snapshot_sha256": hashlib.sha256(snapshot).hexdigest(),
                "approved_at": None, "approved_by": None,
                "files": [{"path": path, "sha256": stored["sha256"], "size": len(pdf), "codes": ["H1-1.1-01"],
                           "evidence_id": 7, "version": 1}], "reports": []}
    if mutate:
        mutate(manifest)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("manifest.json", json.dumps(manifest))
        archive.writestr("snapshot.json", snapshot)
        archive.writestr(path, pdf)
    return out.getvalue()


def test_a_package_of_no_approval_is_said_to_be_checked_for_consistency_only(app, school_people, make_client,
                                                                            tmp_path):
    school, people, tokens = school_people
    api = Api(app, school, tokens)
    api.upload(Role.STAFF, ["1.1"], name="qd.pdf")
    draft = _download(make_client, people[Role.STAFF], school, api.year).get_data()

    result = _verify(app, tmp_path, draft)
    assert result.exit_code == 1
    assert "ONLY INTERNAL CONSISTENCY was checked" in result.output and "NOTHING PROVES" in result.output
    client = make_client()
    client.login(people["district"].email)
    for package in (draft, _handmade()):
        answer = _upload(client, package)
        page = answer.get_data(as_text=True)
        assert answer.status_code == 200 and "Gói nguyên vẹn" not in page
        assert "Chỉ kiểm tra được tính nhất quán bên trong gói" in page
        assert "không có gì chứng minh đây là gói đã được phê duyệt trên cổng" in page
        assert "theo lời gói, cổng chưa xác nhận" in page

    # Even then a file moved to another path, in the ZIP and the manifest, disagrees with the snapshot.
    manifest = _manifest_of(draft)
    old_path = manifest["files"][0]["path"]
    manifest["files"][0]["path"] = "minh-chung/H3-3.1-01 - khac.pdf"
    body = zipfile.ZipFile(io.BytesIO(draft)).read(old_path)
    moved = _with_manifest(draft, manifest, drop={old_path}, add={"minh-chung/H3-3.1-01 - khac.pdf": body})
    result = _verify(app, tmp_path, moved)
    assert (f"manifest differs from snapshot: minh-chung/H3-3.1-01 - khac.pdf (differs in path; expected at "
            f"{old_path})") in result.output


def _file_entry(key, value):
    return lambda manifest: manifest["files"][0].update({key: value})


@pytest.mark.parametrize("mutate", [
    _file_entry("evidence_id", []), _file_entry("evidence_id", {}), _file_entry("evidence_id", True),
    _file_entry("size", 10**400), _file_entry("size", -1), _file_entry("size", 2**63 + 1), _file_entry("size", 1.5),
    _file_entry("size", False), _file_entry("sha256", "x" * 64), _file_entry("path", ["a"]),
    _file_entry("codes", "H1-1.1-01"), _file_entry("version", None),
    lambda manifest: manifest["reports"].append({"path": "gone.pdf", "sha256": "ab", "size": 10**400}),
    lambda manifest: manifest["reports"].append({"path": "gone.pdf", "sha256": "0" * 64, "size": 10**400}),
    lambda manifest: manifest.update(sealed="yes"), lambda manifest: manifest.update(school={"name": 5}),
    lambda manifest: manifest.update(snapshot_sha256=None), lambda manifest: manifest.pop("format"),
], ids=["id-list", "id-dict", "id-bool", "size-huge", "size-negative", "size-over-2**63", "size-float",
        "size-bool", "hash-not-hex", "path-list", "codes-text", "version-none", "report-hash", "report-size",
        "sealed-text", "school-name-number", "no-snapshot-hash", "no-format"])
def test_a_crafted_manifest_is_refused_as_not_a_manifest(app, build, make_client, mutate):
    client = make_client()
    client.login(build.user(Role.DISTRICT, district=build.school().district).email)
    assert _upload(client, _handmade()).status_code == 200
    refused = _upload(client, _handmade(mutate))
    assert refused.status_code == 400
    assert "không phải là bản kê của gói minh chứng" in refused.get_data(as_text=True)


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in entries.items():
            archive.writestr(name, body)
    return out.getvalue()


def test_the_check_refuses_a_package_beyond_its_bounds_before_reading_it(app, build, make_client, tmp_path):
    client = make_client()
    client.login(build.user(Role.DISTRICT, district=build.school().district).email)
    manifest = json.loads(zipfile.ZipFile(io.BytesIO(_handmade())).read("manifest.json"))

    crowded = _zip({"manifest.json": json.dumps(manifest).encode(),
                    **{f"minh-chung/{number}.pdf": b"" for number in range(packages.MAX_ENTRIES)}})
    refused = _upload(client, crowded)
    assert refused.status_code == 400 and "chứa hơn 20000 tệp" in refused.get_data(as_text=True)
    assert "holds more than 20000 files" in _verify(app, tmp_path, crowded).output

    padded = json.dumps(manifest).encode() + b" " * packages.MANIFEST_LIMIT  # valid JSON, too large
    refused = _upload(client, _zip({"manifest.json": padded}))
    assert refused.status_code == 400 and "Tệp manifest.json trong ZIP này lớn hơn 4 MB" in refused.get_data(
        as_text=True)
    refused = _upload(client, _zip({"manifest.json": json.dumps(manifest).encode(),
                                    "snapshot.json": b"{}" + b" " * packages.SNAPSHOT_LIMIT}))
    assert refused.status_code == 400 and "Tệp snapshot.json trong ZIP này lớn hơn 16 MB" in refused.get_data(
        as_text=True)
    # Parsing a manifest of tiny values would take far more memory than its size.
    tiny = json.dumps({**manifest, "padding": [[]] * (packages.JSON_VALUES + 1)}).encode()
    assert len(tiny) < packages.MANIFEST_LIMIT
    assert _upload(client, _zip({"manifest.json": tiny})).status_code == 400


def test_a_verdict_lists_the_first_differences_and_counts_the_rest(app, build, make_client, tmp_path,
                                                                   monkeypatch):
    monkeypatch.setattr(packages, "LISTED_PROBLEMS", 2)
    client = make_client()
    client.login(build.user(Role.DISTRICT, district=build.school().district).email)
    crowded = rewritten(_handmade(), add={f"them-{number}.txt": b"x" for number in range(5)})
    page = _upload(client, crowded).get_data(as_text=True)
    assert "có 5 điểm khác biệt" in page
    assert page.count("Tệp thêm vào") == 2 and "… và 3 điểm khác biệt nữa không được liệt kê." in page
    result = _verify(app, tmp_path, crowded)
    assert "5 problems" in result.output and "… and 3 more problems, not listed" in result.output


class WatchedBody(io.BytesIO):
    """A request body that records whether the server read any of it."""

    touched = False

    def read(self, *args):
        self.touched = True
        return super().read(*args)

    def readinto(self, buffer):
        self.touched = True
        return super().readinto(buffer)

    def readline(self, *args):
        self.touched = True
        return super().readline(*args)


def _post_watched(client, address, fields: dict, headers=None, content_length=None):
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(method="POST", data=fields, content_type="multipart/form-data").get_environ()
    body = WatchedBody(environ["wsgi.input"].read())
    length = str(content_length or len(body.getvalue()))  # a Content-Length of the client's choosing
    answer = client.http.post(address, input_stream=body, content_type=environ["CONTENT_TYPE"], headers=headers or {},
                              environ_overrides={"CONTENT_LENGTH": length})
    return answer, body


def test_the_verify_page_checks_its_token_and_size_before_reading_the_upload(app, build, make_client, monkeypatch):
    monkeypatch.setitem(app.config, "PACKAGE_VERIFY_MAX_MB", 1)
    client = make_client()
    client.login(build.user(Role.DISTRICT, district=build.school().district).email)
    token = client.csrf_token()
    package = _handmade()

    # The token in the body is not looked for: the upload is refused unread.
    answer, body = _post_watched(client, "/packages/verify", {"csrf_token": token, "package": (io.BytesIO(package),
                                                                                              "goi.zip")})
    assert answer.status_code == 400 and not body.touched
    assert "Biểu mẫu đã hết hạn" in answer.get_data(as_text=True)
    # Above the page's limit by its Content-Length: 413, unread.
    answer, body = _post_watched(client, f"/packages/verify?csrf_token={token}",
                                 {"package": (io.BytesIO(package), "goi.zip")}, content_length=3 * 1024 * 1024)
    assert answer.status_code == 413 and not body.touched
    assert "lớn hơn 1 MB" in answer.get_data(as_text=True)

    # In the X-CSRFToken header (a script) or the form's action (a plain post, without JavaScript).
    answer, body = _post_watched(client, "/packages/verify", {"package": (io.BytesIO(package), "goi.zip")},
                                 headers={"X-CSRFToken": token})
    assert answer.status_code == 200 and body.touched
    assert "Chỉ kiểm tra được tính nhất quán" in answer.get_data(as_text=True)
    assert "csrf_token=" in _action(client)
    assert _upload(client, package).status_code == 200
