"""What keeps the inventory true when people type oddly or work at the same time: ids
and numbers in ASCII digits only, names and tags that look alike are one, a change
based on an old version is refused instead of silently undoing someone's work, and
generated asset tags never collide."""

from __future__ import annotations

import re
import threading
import unicodedata

import pytest
from sqlalchemy import delete, func, select

from app.accounts import services as accounts
from app.accounts.models import ApiToken, Role, User
from app.audit.models import AuditEvent
from app.extensions import db
from app.inventory import services
from app.inventory.models import Equipment, Room
from app.schools import services as schools
from app.schools.models import School
from app.text import clean
from tests.builders import PASSWORD, bearer


@pytest.fixture()
def staff_api(app, build):
    """(http client, auth headers, school) for a staff member of a fresh school."""
    school = build.school()
    return app.test_client(), bearer(build.token(build.user(Role.STAFF, school=school))), school


# --- digits of other scripts ---------------------------------------------------------

def test_superscript_and_other_script_digits_are_not_ids(client, build, read):
    school = build.school()
    room = build.record("rooms", school, name="Phòng 1", kind="classroom")
    item = build.record("equipment", school, kind="projector", name="Máy chiếu", room_id=room.id)
    client.login(build.user(Role.STAFF, school=school).email)
    for value in ("²", "١", "𝟙", "1²"):
        listed = client.get(f"/schools/{school.id}/equipment", query_string={"room_id": value})
        assert listed.status_code == 200 and "MC-0001" in listed.get_data(as_text=True), value
        assert client.get(f"/schools/{school.id}/equipment/export.xlsx",
                          query_string={"room_id": value}).status_code == 200, value
        moved = client.post(f"/schools/{school.id}/equipment/bulk", {"ids": str(item.id), "room_id": value})
        assert moved.status_code == 302, value
    assert read(lambda: db.session.get(Equipment, item.id).room_id) == room.id


def test_a_tag_with_a_superscript_digit_does_not_stop_tag_generation(staff_api, client, build):
    http, auth, school = staff_api
    base = f"/api/v1/schools/{school.id}/equipment"
    odd = http.post(base, headers=auth, json={"kind": "laptop", "name": "Laptop A", "asset_tag": "LT-²"})
    assert odd.status_code == 201 and odd.get_json()["asset_tag"] == "LT-2"
    by_api = http.post(base, headers=auth, json={"kind": "laptop", "name": "Laptop B"})
    assert by_api.status_code == 201 and by_api.get_json()["asset_tag"] == "LT-0003"
    client.login(build.user(Role.STAFF, school=school).email)
    by_form = client.post(f"/schools/{school.id}/equipment/new", {
        "kind": "laptop", "name": "Laptop C", "status": "in_use", "room_id": "", "quantity": "1"})
    assert by_form.status_code == 302
    assert http.get(base, headers=auth).get_json()["total"] == 3


# --- look-alike names and tags ---------------------------------------------------------

@pytest.mark.parametrize("twin", [
    unicodedata.normalize("NFD", "Phòng học 1A"),  # decomposed diacritics
    "Phòng học 1A\u200b",  # a zero-width space pasted at the end
    "phòng HỌC 1a",  # another case
    "Phòng  học １A",  # a double space and a full-width digit
])
def test_room_names_that_look_alike_are_one_name(twin, staff_api):
    http, auth, school = staff_api
    base = f"/api/v1/schools/{school.id}/rooms"
    assert http.post(base, headers=auth, json={"name": "Phòng học 1A", "kind": "classroom"}).status_code == 201
    again = http.post(base, headers=auth, json={"name": twin, "kind": "classroom"})
    assert again.status_code == 409
    assert again.get_json()["error"]["fields"] == {"name": "Trường đã có phòng tên này."}
    assert http.get(base, headers=auth).get_json()["total"] == 1


@pytest.mark.parametrize("twin", ["pc-0001", "PC-0001\u200b", "ＰＣ－０００１", " PC-0001 "])
def test_asset_tags_that_look_alike_are_one_tag(twin, staff_api):
    http, auth, school = staff_api
    base = f"/api/v1/schools/{school.id}/equipment"
    assert http.post(base, headers=auth, json={"kind": "desktop", "name": "Máy 1", "asset_tag": "PC-0001"}) \
        .status_code == 201
    again = http.post(base, headers=auth, json={"kind": "desktop", "name": "Máy 2", "asset_tag": twin})
    assert again.status_code == 409
    assert again.get_json()["error"]["fields"] == {
        "asset_tag": f"Mã tài sản {unicodedata.normalize('NFKC', clean(twin))} đã được dùng trong trường."}
    assert http.get(base, headers=auth).get_json()["total"] == 1


def test_names_are_stored_composed_and_without_invisible_characters(staff_api):
    http, auth, school = staff_api
    made = http.post(f"/api/v1/schools/{school.id}/rooms", headers=auth,
                     json={"name": unicodedata.normalize("NFD", " Phòng\u200b Tin học "), "kind": "computer_lab"})
    assert made.get_json()["name"] == "Phòng Tin học"
    assert unicodedata.is_normalized("NFC", made.get_json()["name"])


def test_the_same_tag_twice_in_one_request_is_named_as_such(staff_api):
    http, auth, school = staff_api
    made = http.post(f"/api/v1/schools/{school.id}/equipment", headers=auth, json=[
        {"kind": "desktop", "name": "Máy 1", "asset_tag": "PC-0100"},
        {"kind": "desktop", "name": "Máy 2", "asset_tag": "pc-0100"}])
    assert made.status_code == 409
    assert made.get_json()["error"]["fields"] == {"1.asset_tag": "Mã tài sản pc-0100 bị nhập hai lần ở đây."}


# --- versions: no lost update ----------------------------------------------------------

def test_the_api_returns_the_version_and_refuses_a_change_based_on_an_old_one(staff_api):
    http, auth, school = staff_api
    base = f"/api/v1/schools/{school.id}/rooms"
    room = http.post(base, headers=auth, json={"name": "Phòng 2B", "kind": "classroom"}).get_json()
    assert room["version"] == 1
    read = http.get(f"{base}/{room['id']}", headers=auth)
    assert read.headers["ETag"] == '"1"'
    first = http.patch(f"{base}/{room['id']}", headers=auth, json={"internet": True, "version": 1})
    assert first.status_code == 200 and first.get_json()["version"] == 2 and first.headers["ETag"] == '"2"'
    for stale in ({"json": {"name": "Phòng 2C", "version": 1}},
                  {"json": {"name": "Phòng 2C"}, "headers": {"If-Match": '"1"'}}):
        refused = http.patch(f"{base}/{room['id']}", json=stale["json"],
                             headers={**auth, **stale.get("headers", {})})
        assert refused.status_code == 409
        assert refused.get_json()["error"]["code"] == "stale_version"
    assert http.get(f"{base}/{room['id']}", headers=auth).get_json()["name"] == "Phòng 2B"
    current = http.patch(f"{base}/{room['id']}", headers={**auth, "If-Match": '"2"'}, json={"name": "Phòng 2C"})
    assert current.status_code == 200 and current.get_json()["version"] == 3
    assert http.patch(f"{base}/{room['id']}", headers=auth, json={"notes": "Tầng 3"}).status_code == 200
    for bad in ("một", True, -1, 1.5):
        refused = http.patch(f"{base}/{room['id']}", headers=auth, json={"notes": "x", "version": bad})
        assert refused.status_code == 400 and "version" in refused.get_json()["error"]["fields"], bad
    assert http.delete(f"{base}/{room['id']}", headers={**auth, "If-Match": '"3"'}).status_code == 409
    assert http.delete(f"{base}/{room['id']}", headers={**auth, "If-Match": '"4"'}).status_code == 204


def test_two_people_editing_one_record_on_the_pages_lose_nothing(app, build, read):
    from tests.conftest import PortalClient

    school = build.school()
    item = build.record("equipment", school, kind="projector", name="Máy chiếu Epson", status="in_use")
    anh, binh = PortalClient(app), PortalClient(app)
    anh.login(build.user(Role.STAFF, school=school, full_name="Lê Thị Ánh").email)
    binh.login(build.user(Role.STAFF, school=school, full_name="Trần Văn Bình").email)
    edit = f"/schools/{school.id}/equipment/{item.id}/edit"
    for person in (anh, binh):
        assert 'name="version" type="hidden" value="1"' in person.get(edit).get_data(as_text=True)
    form = {"kind": "projector", "name": "Máy chiếu Epson", "status": "in_use", "room_id": "", "version": "1"}
    assert anh.post(edit, {**form, "status": "broken"}).status_code == 302
    second = binh.post(edit, {**form, "name": "Máy chiếu Epson EB-X06", "serial": "X06-123"})
    page = second.get_data(as_text=True)
    assert second.status_code == 409
    assert "Lê Thị Ánh" in page and "Hỏng" in page  # what the other person saved
    assert "Máy chiếu Epson EB-X06" in page and "X06-123" in page  # what this person typed is kept
    assert 'name="version" type="hidden" value="2"' in page
    # The status Bình left alone now shows what Ánh saved, so saving again keeps both changes.
    assert re.search(r'<option selected value="broken">', page)
    saved = read(lambda: db.session.get(Equipment, item.id))
    assert (saved.name, saved.status.value) == ("Máy chiếu Epson", "broken")
    again = binh.post(edit, {**form, "status": "broken", "name": "Máy chiếu Epson EB-X06", "serial": "X06-123",
                             "version": "2"})
    assert again.status_code == 302
    saved = read(lambda: db.session.get(Equipment, item.id))
    assert (saved.name, saved.status.value, saved.version) == ("Máy chiếu Epson EB-X06", "broken", 3)


def test_of_two_deletions_at_once_one_deletes_and_one_is_audited(app, build, read):
    """Both people have loaded the record; the second's DELETE finds it gone, changes
    nothing and writes no audit entry."""
    school = build.school()
    room = build.record("rooms", school, name="Kho", kind="other")
    with app.app_context(), app.test_request_context():
        loaded_by_second = db.session.get(Room, room.id)
        db.session.commit()  # its reading is over (here: the test's savepoint is released)
        with app.app_context(), app.test_request_context():  # the first person, in a session of their own
            services.delete_record(None, db.session.get(Room, room.id))
        with pytest.raises(services.StaleRecord):
            services.delete_record(None, loaded_by_second)
    assert read(lambda: db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "rooms.deleted", AuditEvent.object_id == room.id))) == 1


# --- generated tags under concurrency --------------------------------------------------

@pytest.mark.real_commits
def test_concurrent_untagged_equipment_gets_distinct_tags_and_no_conflict(app):
    """Eight people adding untagged projectors at once: every request succeeds and no two
    items share a tag (on PostgreSQL the counter row's lock orders them)."""
    with app.test_request_context():
        school = schools.create_school(None, {
            "code": "RACE1", "name": "Trường Tiểu học Đua", "level": "tieu_hoc", "district": "Đắk Song",
            "province": "Đắk Nông", "students": 1, "teachers": 1, "classes": 1, "largest_class_size": 1})
        user = accounts.create_user(None, email="dua@example.edu.vn", full_name="Người Đua", password=PASSWORD,
                                    role=Role.STAFF, school=school)
        token = accounts.issue_token(user, "race")[1]
        school_id, user_id = school.id, user.id
    answers: list[int] = []
    start = threading.Barrier(8)

    def add_projectors():
        http = app.test_client()
        start.wait()
        for _ in range(10):
            answers.append(http.post(f"/api/v1/schools/{school_id}/equipment", headers=bearer(token),
                                     json={"kind": "projector", "name": "Máy chiếu"}).status_code)

    workers = [threading.Thread(target=add_projectors) for _ in range(8)]
    try:
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        with app.app_context():
            tags = list(db.session.scalars(select(Equipment.asset_tag).where(Equipment.school_id == school_id)))
        assert answers == [201] * 80
        assert sorted(tags) == [f"MC-{number:04d}" for number in range(1, 81)]
    finally:
        with app.app_context():
            db.session.execute(delete(AuditEvent).where(AuditEvent.school_id == school_id))
            db.session.execute(delete(AuditEvent).where(AuditEvent.actor_id == user_id))
            db.session.execute(delete(ApiToken).where(ApiToken.user_id == user_id))
            db.session.execute(delete(User).where(User.id == user_id))
            db.session.execute(delete(School).where(School.id == school_id))
            db.session.commit()


# --- what a security review found -----------------------------------------------------

@pytest.mark.parametrize("twin", ["PC-0001\u200e", "\u202dPC-0001", "PC-0001\ufe0f", "PC-0001\u034f",
                                  "PC-0001\U000e0041", "PC\u20100001", "PC\u20140001"])
def test_invisible_marks_and_other_dashes_do_not_make_a_second_tag(twin, staff_api):
    http, auth, school = staff_api
    base = f"/api/v1/schools/{school.id}/equipment"
    assert http.post(base, headers=auth, json={"kind": "desktop", "name": "Máy 1", "asset_tag": "PC-0001"}) \
        .status_code == 201
    assert http.post(base, headers=auth, json={"kind": "desktop", "name": "Máy 2", "asset_tag": twin}) \
        .status_code == 409


def test_tags_in_letters_of_another_script_are_refused(staff_api):
    http, auth, school = staff_api
    made = http.post(f"/api/v1/schools/{school.id}/equipment", headers=auth,
                     json={"kind": "desktop", "name": "Máy", "asset_tag": "РС-0001"})  # Cyrillic Р and С
    assert made.status_code == 400
    assert made.get_json()["error"]["fields"] == {"asset_tag": "Chỉ dùng chữ cái, chữ số, dấu cách và - _ . / #."}
    vietnamese = http.post(f"/api/v1/schools/{school.id}/equipment", headers=auth,
                           json={"kind": "desktop", "name": "Máy", "asset_tag": "MÁY-PHÒNG-1/2"})
    assert vietnamese.status_code == 201


def test_names_that_fold_longer_than_their_column_get_a_message(staff_api):
    """'ß' folds to 'ss' and 'ﷺ' to 18 letters: the key must fit its column too
    (PostgreSQL refused the INSERT with a 500)."""
    http, auth, school = staff_api
    tag = http.post(f"/api/v1/schools/{school.id}/equipment", headers=auth,
                    json={"kind": "laptop", "name": "A", "asset_tag": "ß" * 40})
    room = http.post(f"/api/v1/schools/{school.id}/rooms", headers=auth, json={"name": "ﷺ" * 10, "kind": "office"})
    for response, field in ((tag, "asset_tag"), (room, "name")):
        assert response.status_code == 400 and set(response.get_json()["error"]["fields"]) == {field}


def test_a_record_whose_key_the_migration_told_apart_can_still_be_edited(staff_api, build, app):
    http, auth, school = staff_api
    item = build.record("equipment", school, kind="projector", name="Máy chiếu", asset_tag="mc-0001")
    with app.test_request_context():
        db.session.execute(Equipment.__table__.update().where(Equipment.id == item.id)
                           .values(asset_tag_key=f"mc-0001#{item.id}"))
        db.session.commit()
    build.record("equipment", school, kind="projector", name="Máy chiếu 2", asset_tag="MC-0002")
    with app.test_request_context():
        db.session.execute(Equipment.__table__.update().where(Equipment.asset_tag == "MC-0002")
                           .values(asset_tag="MC-0001", asset_tag_key="mc-0001"))
        db.session.commit()
    changed = http.patch(f"/api/v1/schools/{school.id}/equipment/{item.id}", headers=auth, json={"notes": "Tầng 2"})
    assert changed.status_code == 200


def test_an_edit_form_without_its_version_is_treated_as_stale(client, build, read):
    school = build.school()
    item = build.record("equipment", school, kind="tv", name="Tivi")
    client.login(build.user(Role.STAFF, school=school).email)
    for version in ("", "abc", "1.0"):
        response = client.post(f"/schools/{school.id}/equipment/{item.id}/edit", {
            "kind": "tv", "name": "Tivi mới", "status": "in_use", "room_id": "", "version": version})
        assert response.status_code == 409, version
    assert read(lambda: db.session.get(Equipment, item.id).name) == "Tivi"


def test_if_match_lists_and_weak_etags(staff_api):
    http, auth, school = staff_api
    base = f"/api/v1/schools/{school.id}/rooms"
    room = http.post(base, headers=auth, json={"name": "Phòng 3A", "kind": "classroom"}).get_json()
    http.patch(f"{base}/{room['id']}", headers=auth, json={"notes": "x"})  # now at version 2
    for header, status in (('"1", "2"', 200), ('"3", "2"', 200), ('W/"3"', 409), ('"1", "9"', 409)):
        answer = http.patch(f"{base}/{room['id']}", headers={**auth, "If-Match": header}, json={"notes": header})
        assert answer.status_code == status, header


@pytest.mark.parametrize("tag, status", [("ĐT-01", 201), ("ÐT-01", 400), ("ƉT-01", 400), ("pᴄ-01", 400),
                                         ("lab-ɡ1", 400), ("Ưu-Tiên-01", 201)])
def test_tags_take_vietnamese_letters_but_not_latin_look_alikes(staff_api, tag, status):
    http, auth, school = staff_api
    made = http.post(f"/api/v1/schools/{school.id}/equipment", headers=auth,
                     json={"kind": "desktop", "name": "Máy", "asset_tag": tag})
    assert made.status_code == status, tag


@pytest.mark.parametrize("header", ['"1', '"1"x', ",", '"'])
def test_a_malformed_if_match_is_refused_not_ignored(staff_api, header):
    http, auth, school = staff_api
    base = f"/api/v1/schools/{school.id}/rooms"
    room = http.post(base, headers=auth, json={"name": "Phòng 4A", "kind": "classroom"}).get_json()
    answer = http.patch(f"{base}/{room['id']}", headers={**auth, "If-Match": header}, json={"notes": "x"})
    assert answer.status_code == 400 and "version" in answer.get_json()["error"]["fields"], header
