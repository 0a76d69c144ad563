"""The audit trail is tamper-evident: each entry carries the hash of the one before it,
`flask audit verify` names an edited or removed entry, ids are never reused; sign-ins,
refused sign-ins and refused requests are logged once each; and a school's audit log
is a page with filters and an XLSX export, for those allowed to read it."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import delete, func, insert, select, text

from app import audit
from app.accounts.models import Role
from app.audit import chain
from app.audit.models import AuditEvent
from app.extensions import db
from app.inventory import services as inventory
from app.schools.models import School
from tests.builders import PASSWORD


def entries(read, *conditions) -> list[AuditEvent]:
    return read(lambda: list(db.session.scalars(select(AuditEvent).where(*conditions).order_by(AuditEvent.id))))


def the_entry_before(read, entry_id: int):
    return read(lambda: db.session.scalar(select(AuditEvent).where(AuditEvent.id < entry_id)
                                          .order_by(AuditEvent.id.desc()).limit(1)))


def run_sql(app, statement: str, **values) -> None:
    """Change the table behind the app's back, as someone with database access could."""
    with app.app_context():
        db.session.execute(text(statement), values)
        db.session.commit()


def verify(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def recorded(app, count: int, action: str = "test.recorded") -> list[int]:
    """``count`` entries written through ``audit.record``, committed one by one; their ids."""
    ids = []
    with app.test_request_context():
        for number in range(count):
            entry = audit.record(None, action, None, number=number, note="Máy chiếu phòng 2A")
            db.session.commit()
            ids.append(entry.id)
    return ids


# --- the chain -------------------------------------------------------------------------

def test_each_entry_written_by_record_carries_the_hash_of_the_one_before(app, read):
    first, second = recorded(app, 2)
    before, one, two = the_entry_before(read, first), *entries(read, AuditEvent.id.in_([first, second]))
    assert one.previous_hash == (before.entry_hash if before else chain.GENESIS)
    assert two.previous_hash == one.entry_hash
    for entry in (one, two):
        assert len(entry.entry_hash) == 64 and chain.entry_hash(entry, entry.previous_hash) == entry.entry_hash


def test_rows_inserted_in_bulk_are_chained_in_id_order(app, read):
    [single] = recorded(app, 1)
    with app.test_request_context():
        audit.record_inserted(None, "rooms.created", "Room", None, [(n, {"after": {"name": f"Phòng {n}"}})
                                                                    for n in range(1, 6)])
        db.session.commit()
    bulk = entries(read, AuditEvent.action == "rooms.created")
    assert len(bulk) == 5 and bulk[0].previous_hash == entries(read, AuditEvent.id == single)[0].entry_hash
    for before, after in zip(bulk, bulk[1:], strict=False):
        assert after.previous_hash == before.entry_hash
    assert all(chain.entry_hash(entry, entry.previous_hash) == entry.entry_hash for entry in bulk)


def test_an_import_chains_every_row_it_audits(app, build, read):
    school = build.school()
    build.records("equipment", school, [{"kind": "tv", "name": f"Tivi {n}"} for n in range(30)])
    assert verify(app).exit_code == 0
    assert len(entries(read, AuditEvent.action == "equipment.created", AuditEvent.entry_hash.is_not(None))) == 30


# --- audit verify ------------------------------------------------------------------------

def test_verify_reports_an_intact_chain_in_one_line(app, build):
    build.school()
    recorded(app, 3)
    result = verify(app)
    assert result.exit_code == 0
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith("entries, chain intact")


def test_verify_names_an_entry_edited_in_the_database(app):
    ids = recorded(app, 3)
    run_sql(app, "UPDATE audit_events SET details = :details WHERE id = :id",
            details='{"number": 1, "note": "Máy chiếu phòng 2B"}', id=ids[1])
    result = verify(app)
    assert result.exit_code == 1
    assert f"entry {ids[1]}: its hash does not match its contents: it was edited" in result.output
    assert "chain intact" not in result.output


def test_verify_names_the_gap_a_removed_entry_leaves(app):
    ids = recorded(app, 3)
    run_sql(app, "DELETE FROM audit_events WHERE id = :id", id=ids[1])
    result = verify(app)
    assert result.exit_code == 1
    assert f"entry {ids[2]}: its previous_hash is not the hash of entry {ids[0]}: entry {ids[1]} was removed" \
        in result.output


def test_verify_starts_after_the_entries_written_before_the_chain_existed(app):
    run_sql(app, "DELETE FROM audit_events")
    with app.app_context():  # as the entries written before the migration are: no hashes
        db.session.execute(insert(AuditEvent.__table__), [
            {"occurred_at": datetime(2024, 1, day, tzinfo=UTC), "action": "school.created", "object_type": "School",
             "details": {}} for day in (1, 2)])
        db.session.commit()
    ids = recorded(app, 2)
    result = verify(app)
    assert result.exit_code == 0
    assert result.output.strip() == (f"2 entries, chain intact; 2 older entries, written before the chain "
                                     f"existed, precede it unhashed (it begins at entry {ids[0]})")


def test_ids_are_never_reused_after_the_newest_entry_is_deleted(app):
    [newest] = recorded(app, 1)
    run_sql(app, "DELETE FROM audit_events WHERE id = :id", id=newest)
    [next_one] = recorded(app, 1)
    assert next_one > newest


@pytest.mark.real_commits
def test_two_servers_writing_at_once_keep_one_chain(app):
    """Two writers (threads with their own connections, as two app servers) each commit
    entries one by one, starting together; every entry still follows the one before."""
    start = threading.Barrier(2)
    failures = []

    def write(name: str) -> None:
        try:
            with app.test_request_context():
                start.wait()
                for number in range(25):
                    audit.record(None, "test.concurrent", None, writer=name, number=number)
                    db.session.commit()
        except Exception as error:  # noqa: BLE001  (reported to the test below)
            failures.append(error)

    writers = [threading.Thread(target=write, args=(name,)) for name in ("a", "b")]
    try:
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        assert failures == []
        with app.app_context():
            found = chain.verify(db.session)
            assert found.problems == []
    finally:
        with app.app_context():  # the newest entries are these: removing them leaves the chain whole
            db.session.execute(delete(AuditEvent).where(AuditEvent.action == "test.concurrent"))
            db.session.commit()


# --- sign-ins and refusals, logged once each -----------------------------------------------

def test_a_sign_in_is_logged_once(client, build, read):
    school = build.school()
    user = build.user(Role.STAFF, school=school)
    assert client.login(user.email).status_code == 302
    logged = entries(read, AuditEvent.action == "user.signed_in", AuditEvent.object_id == user.id)
    assert len(logged) == 1 and logged[0].actor_id == user.id and logged[0].school_id == school.id


def test_a_refused_sign_in_is_logged_once_with_the_email_typed_never_the_password(client, build, read):
    school = build.school()
    user = build.user(Role.STAFF, school=school)
    assert client.login(user.email.upper(), "mat-khau-sai-roi").status_code == 401
    logged = entries(read, AuditEvent.action == "user.sign_in_failed")
    assert len(logged) == 1
    assert logged[0].details == {"email": user.email, "reason": "wrong_credentials"}
    assert logged[0].object_id == user.id and logged[0].school_id == school.id and logged[0].actor_id is None
    assert client.login("nobody@example.edu.vn", "mat-khau-sai-roi").status_code == 401
    unknown = entries(read, AuditEvent.action == "user.sign_in_failed")[-1]
    assert unknown.details["email"] == "nobody@example.edu.vn" and unknown.object_id is None
    everything = read(lambda: db.session.scalars(select(func.count()).select_from(AuditEvent).where(
        func.lower(AuditEvent.details.cast(db.String)).contains("mat-khau-sai-roi"))).one())
    assert everything == 0


def test_each_refused_sign_in_is_logged_with_why_also_while_throttled(app, client, build, read):
    user = build.user(Role.PRINCIPAL, school=build.school())
    limit = app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    for _ in range(limit):
        client.login(user.email, "doan-mo-mat-khau")
    assert client.login(user.email).status_code == 429
    reasons = [entry.details["reason"] for entry in entries(read, AuditEvent.action == "user.sign_in_failed")]
    assert reasons == ["wrong_credentials"] * limit + ["throttled"]
    assert entries(read, AuditEvent.action == "user.signed_in") == []


def test_a_password_typed_into_the_email_field_is_not_logged(client, read):
    assert client.login("hocsinh2024!", "hocsinh2024!").status_code == 401
    [logged] = entries(read, AuditEvent.action == "user.sign_in_failed")
    assert logged.details == {"email": None, "reason": "wrong_credentials"}


def test_api_token_sign_in_and_its_refusal_are_logged(app, build, read):
    user = build.user(Role.PRINCIPAL, school=build.school())
    http = app.test_client()
    assert http.post("/api/v1/auth/token", json={"email": user.email, "password": "sai"}).status_code == 401
    assert http.post("/api/v1/auth/token", json={"email": user.email, "password": PASSWORD}).status_code == 201
    actions = [entry.action for entry in entries(read, AuditEvent.object_type.in_(["User", "ApiToken"]),
                                                 AuditEvent.action != "user.created")]
    assert actions == ["user.sign_in_failed", "user.signed_in", "token.issued"]


def test_a_refused_request_is_logged_once_with_where_it_went(client, build, read):
    school = build.school()
    staff = build.user(Role.STAFF, school=school)
    client.login(staff.email)
    assert client.get(f"/schools/{school.id}/audit").status_code == 403
    [refused] = entries(read, AuditEvent.action == "access.refused")
    assert refused.actor_id == staff.id and refused.school_id == school.id
    assert refused.details == {"endpoint": "audit.index", "method": "GET", "path": f"/schools/{school.id}/audit",
                               "status": 403}


def test_a_request_for_another_schools_data_is_logged_in_that_schools_log(client, build, read):
    school, other = build.school(), build.school()
    client.login(build.user(Role.PRINCIPAL, school=school).email)
    assert client.get(f"/schools/{other.id}/evidence").status_code == 404
    assert client.get(f"/schools/{other.id + 1000}/evidence").status_code == 404  # no such school: nothing refused
    [refused] = entries(read, AuditEvent.action == "access.refused")
    assert refused.school_id == other.id and refused.details["status"] == 404


def test_a_refused_post_saves_nothing_but_its_refusal(client, build, read):
    school = build.school()
    client.login(build.user(Role.REVIEWER, school=school).email)
    response = client.post(f"/schools/{school.id}/rooms/new", {"name": "Phòng lén", "kind": "classroom"})
    assert response.status_code == 403
    assert len(entries(read, AuditEvent.action == "access.refused")) == 1
    assert entries(read, AuditEvent.action == "rooms.created") == []


# --- the audit log page --------------------------------------------------------------------

@pytest.fixture()
def school_log(app, build):
    """A school with a principal, a staff member who added a room and changed it, an entry
    of 23:30 UTC on 5 September 2024 (6 September in Vietnam), and another school."""
    school = build.school(code="NK1")
    principal = build.user(Role.PRINCIPAL, school=school, full_name="Hiệu trưởng Lan")
    staff = build.user(Role.STAFF, school=school, full_name="Giáo viên Hùng")
    with app.test_request_context():
        room = inventory.create_record(staff, db.session.get(School, school.id), inventory.COLLECTIONS["rooms"],
                                       {"name": "Phòng Tin học", "kind": "computer_lab"})
        inventory.update_record(staff, room, {"name": "Phòng Tin học Sao Mai"})
        db.session.add(AuditEvent(occurred_at=datetime(2024, 9, 5, 23, 30, tzinfo=UTC), school_id=school.id,
                                  action="school.updated", object_type="School", object_id=school.id,
                                  details={"changes": {"students": [300, 320]}}))
        db.session.commit()
    return {"school": school, "principal": principal, "staff": staff, "room": room,
            "other": build.school(code="NK2", district="Cư Jút")}


def shown_entries(response) -> list[str]:
    """The action of each row of the log, in order."""
    page = response.get_data(as_text=True)
    table = page.split('data-testid="audit-log"', 1)[1].split("</table>", 1)[0]
    return [row.split('<td class="list-title">', 1)[1].split("</td>", 1)[0]
            for row in table.split("<tr data-entry=")[1:]]


def test_the_principal_reads_the_schools_log_newest_first_in_words(client, school_log):
    client.login(school_log["principal"].email)
    response = client.get(f"/schools/{school_log['school'].id}/audit")
    assert response.status_code == 200
    actions = shown_entries(response)
    assert actions[:3] == ["Đăng nhập", "Sửa phòng", "Thêm phòng"]
    assert "Giáo viên Hùng" in response.get_data(as_text=True)
    assert "Phòng Tin học Sao Mai" in response.get_data(as_text=True)


def test_the_log_narrows_by_who_action_kind_days_and_words(client, school_log):
    client.login(school_log["principal"].email)
    base = f"/schools/{school_log['school'].id}/audit"
    assert shown_entries(client.get(f"{base}?actor={school_log['staff'].id}")) == ["Sửa phòng", "Thêm phòng"]
    assert shown_entries(client.get(f"{base}?action=rooms.updated")) == ["Sửa phòng"]
    assert set(shown_entries(client.get(f"{base}?object_type=Room"))) == {"Sửa phòng", "Thêm phòng"}
    september = shown_entries(client.get(f"{base}?date_from=2024-09-06&date_to=2024-09-06"))
    assert september == ["Sửa thông tin trường"]
    assert shown_entries(client.get(f"{base}?date_to=2024-09-05")) == []
    assert shown_entries(client.get(f"{base}?q=tin+hoc+sao+mai")) == ["Sửa phòng"]  # no diacritics needed
    assert shown_entries(client.get(f"{base}?q=320")) == ["Sửa thông tin trường"]
    assert shown_entries(client.get(f"{base}?q=may+chieu")) == []
    assert shown_entries(client.get(f"{base}?action=rooms.updated&actor={school_log['principal'].id}")) == []
    nonsense = client.get(f"{base}?action=%27;drop&date_from=2024-13-45&actor=abc&page=999999999")
    assert nonsense.status_code == 200


def test_the_export_holds_the_filtered_rows(client, school_log):
    client.login(school_log["principal"].email)
    response = client.get(f"/schools/{school_log['school'].id}/audit/export.xlsx?object_type=Room")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    header, body = rows[0], rows[1:]
    assert [row[header.index("Thao tác")] for row in body] == ["Sửa phòng", "Thêm phòng"]
    assert all(row[header.index("Người thực hiện")] == "Giáo viên Hùng" for row in body)
    assert "Phòng Tin học Sao Mai" in body[0][header.index("Chi tiết")]
    assert all(len(row[header.index("Mã băm")]) == 64 for row in body)


def test_who_may_read_a_schools_log(client, make_client, build, school_log):
    school, other = school_log["school"], school_log["other"]
    url = f"/schools/{school.id}/audit"

    def answer(user) -> int:
        reader = make_client()
        reader.login(user.email)
        return reader.get(url).status_code

    assert answer(school_log["staff"]) == 403
    assert answer(build.user(Role.REVIEWER, school=school)) == 403
    assert answer(build.user(Role.PRINCIPAL, school=other)) == 404
    assert answer(build.user(Role.DISTRICT, district=other.district)) == 404
    assert answer(build.user(Role.DISTRICT, district=school.district)) == 200
    assert answer(build.user(Role.ADMIN)) == 200


def test_the_school_page_links_to_the_log_for_those_who_may_read_it(make_client, school_log):
    school = school_log["school"]
    for person, linked in ((school_log["principal"], True), (school_log["staff"], False)):
        reader = make_client()
        reader.login(person.email)
        page = reader.get(f"/schools/{school.id}").get_data(as_text=True)
        assert (f'href="/schools/{school.id}/audit"' in page) is linked
