"""The inventory pages of every kind: search without diacritics, filters, sort, pages and
XLSX export; the record page with its history; fast entry, bulk changes, and restoring
deleted records."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.accounts.models import Role
from app.audit.models import AuditEvent
from app.extensions import db
from app.inventory import services
from app.inventory.models import Equipment, EquipmentStatus, NetworkLine
from tests.builders import PASSWORD, bearer

EXAMPLES = {
    "rooms": {"name": "Phòng Tin học 1", "kind": "computer_lab", "internet": True},
    "equipment": {"name": "Máy chiếu Epson", "kind": "projector", "acquired_on": "2023-02-15"},
    "network-lines": {"provider": "VNPT", "kind": "fiber", "download_mbps": 150, "upload_mbps": 150,
                      "monthly_cost_vnd": 350000, "started_on": "2022-08-01"},
    "software": {"name": "Google Meet", "category": "teaching", "capabilities": ["online_teaching"]},
    "materials": {"title": "Bài giảng Toán 3", "subject": "Toán", "grade": 3},
    "staff": {"full_name": "Đặng Thị Đào", "position": "teacher", "dt_team_role": "Tổ trưởng"},
}


@pytest.fixture()
def staff(client, build):
    """(signed-in page client, school) for a staff member of a fresh school."""
    school = build.school()
    client.login(build.user(Role.STAFF, school=school).email)
    return client, school


def rows_of(page: str) -> list[str]:
    """The text of each row of the list's table body, tags removed."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [" ".join(re.sub(r"<[^>]+>", " ", row).split()) for row in body.split("<tr>")[1:]]


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_kind_has_a_list_a_form_and_a_record_page(name, staff, build):
    client, school = staff
    record = build.record(name, school, EXAMPLES[name])
    base = f"/schools/{school.id}/{name}"
    named = next(value for value in EXAMPLES[name].values() if isinstance(value, str))  # its name, title, …
    listed = client.get(base)
    assert listed.status_code == 200 and named in " ".join(rows_of(listed.get_data(as_text=True)))
    assert client.get(f"{base}/new").status_code == 200
    assert client.get(f"{base}/{record.id}/edit").status_code == 200
    shown = client.get(f"{base}/{record.id}")
    assert shown.status_code == 200 and "Lịch sử thay đổi" in shown.get_data(as_text=True)


def test_search_ignores_diacritics_and_case(staff, build):
    client, school = staff
    build.records("equipment", school, [
        {"kind": "projector", "name": "Máy chiếu Epson"}, {"kind": "tv", "name": "Tivi Sony"},
        {"kind": "document_camera", "name": "Máy chiếu vật thể"}, {"kind": "other", "name": "Đầu đọc thẻ"}])
    page = client.get(f"/schools/{school.id}/equipment?q=may+CHIEU").get_data(as_text=True)
    assert [row.split()[1:3] for row in rows_of(page)] == [["Máy", "chiếu"], ["Máy", "chiếu"]]
    assert "Máy chiếu vật thể" in page and "Tivi" not in " ".join(rows_of(page))
    assert "Đầu đọc thẻ" in client.get(f"/schools/{school.id}/equipment?q=dau+doc").get_data(as_text=True)
    assert "Không có kết quả phù hợp." in client.get(
        f"/schools/{school.id}/equipment?q=%25").get_data(as_text=True)  # % is a character, not a wildcard


def test_search_finds_staff_by_a_name_typed_without_diacritics(staff, build):
    client, school = staff
    build.records("staff", school, [{"full_name": "Đặng Thị Đào"}, {"full_name": "Trần Văn Minh"}])
    page = client.get(f"/schools/{school.id}/staff?q=dang+dao").get_data(as_text=True)
    assert len(rows_of(page)) == 1 and "Đặng Thị Đào" in page


def test_filters_narrow_the_list_and_unknown_values_are_ignored(staff, build):
    client, school = staff
    room = build.record("rooms", school, name="Phòng Tin học", kind="computer_lab")
    build.records("equipment", school, [
        {"kind": "desktop", "name": "PC hỏng", "status": "broken", "room_id": room.id},
        {"kind": "desktop", "name": "PC tốt", "room_id": room.id},
        {"kind": "tv", "name": "Tivi kho", "status": "broken"}])
    base = f"/schools/{school.id}/equipment"
    broken = rows_of(client.get(f"{base}?status=broken").get_data(as_text=True))
    assert len(broken) == 2 and all("Hỏng" in row for row in broken)
    in_lab = rows_of(client.get(f"{base}?status=broken&room_id={room.id}").get_data(as_text=True))
    assert len(in_lab) == 1 and "PC hỏng" in in_lab[0]
    assert len(rows_of(client.get(f"{base}?room_id=none").get_data(as_text=True))) == 1
    bogus = client.get(f"{base}?status=lost&room_id=99999999999999999999&sort=password")
    assert bogus.status_code == 200 and len(rows_of(bogus.get_data(as_text=True))) == 3


def test_sorting_by_a_column_both_ways(staff, build):
    client, school = staff
    build.records("staff", school, [{"full_name": name} for name in ("Bình", "An", "Cường")])
    base = f"/schools/{school.id}/staff"
    ascending = [row.split()[0] for row in rows_of(client.get(f"{base}?sort=full_name").get_data(as_text=True))]
    descending = [row.split()[0] for row in rows_of(
        client.get(f"{base}?sort=full_name&dir=desc").get_data(as_text=True))]
    assert ascending == ["An", "Bình", "Cường"] and descending == ["Cường", "Bình", "An"]


def test_lists_are_paged_and_keep_the_search_in_page_links(staff, build):
    client, school = staff
    build.records("equipment", school, [{"kind": "desktop", "name": f"Máy tính {i}"} for i in range(30)]
                  + [{"kind": "tv", "name": "Tivi"}])
    first = client.get(f"/schools/{school.id}/equipment?q=may+tinh").get_data(as_text=True)
    assert len(rows_of(first)) == 25 and "Tổng cộng 30" in first
    assert "page=2" in first and "q=may+tinh" in first
    second = client.get(f"/schools/{school.id}/equipment?q=may+tinh&page=2").get_data(as_text=True)
    assert len(rows_of(second)) == 5


def test_the_export_is_an_xlsx_of_the_filtered_list(staff, build):
    client, school = staff
    build.records("equipment", school, [
        {"kind": "projector", "name": "=HYPERLINK(\"http://x\")", "status": "broken", "acquired_on": "2023-02-15"},
        {"kind": "tv", "name": "Tivi", "status": "in_use"}])
    response = client.get(f"/schools/{school.id}/equipment/export.xlsx?status=broken")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    assert f"{school.code}-danh-sach-thiet-bi.xlsx" in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("Mã tài sản", "Tên", "Loại", "Trạng thái")
    assert len(rows) == 2
    tag, name, kind, status, _room, _serial, acquired, _funding = rows[1]
    assert (tag, kind, status) == ("MC-0001", "Máy chiếu", "Hỏng")
    assert name == "=HYPERLINK(\"http://x\")" and sheet.cell(2, 2).data_type == "s"  # text, never a formula
    assert acquired.date() == date(2023, 2, 15)


def test_the_record_page_shows_who_changed_what(staff, build):
    client, school = staff
    item = build.record("equipment", school, kind="desktop", name="PC 1")
    edited = client.post(f"/schools/{school.id}/equipment/{item.id}/edit", {
        "kind": "desktop", "name": "PC 1", "asset_tag": item.asset_tag, "status": "broken", "room_id": ""})
    assert edited.status_code == 302
    page = client.get(f"/schools/{school.id}/equipment/{item.id}").get_data(as_text=True)
    history = page.split('data-testid="history"', 1)[1]
    assert history.index("Đã sửa") < history.index("Đã tạo")  # newest first
    changed = " ".join(re.sub(r"<[^>]+>", " ", history).split())
    assert "Trạng thái Đang sử dụng Hỏng" in changed


def test_fast_entry_adds_identical_items_with_their_own_tags(staff, read):
    client, school = staff
    added = client.post(f"/schools/{school.id}/equipment/new", {
        "kind": "desktop", "name": "Máy tính Dell Optiplex", "status": "in_use", "room_id": "", "quantity": "21"})
    assert added.status_code == 302
    tags = read(lambda: list(db.session.scalars(select(Equipment.asset_tag).where(
        Equipment.school_id == school.id).order_by(Equipment.asset_tag))))
    assert tags == [f"PC-{n:04d}" for n in range(1, 22)]


@pytest.mark.parametrize("fields, message", [
    ({"asset_tag": "PC-7", "quantity": "3"}, "Để trống mã tài sản khi thêm nhiều thiết bị"),
    ({"quantity": "201"}, "200"),
    ({"quantity": "0"}, "1"),
])
def test_fast_entry_refuses_what_it_cannot_do_and_adds_nothing(staff, read, fields, message):
    client, school = staff
    response = client.post(f"/schools/{school.id}/equipment/new", {
        "kind": "desktop", "name": "Máy tính", "status": "in_use", "room_id": "", **fields})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert read(lambda: db.session.scalar(select(func.count(Equipment.id)))) == 0


def test_bulk_status_change_and_move_apply_to_the_selected_items_only(staff, build, read):
    client, school = staff
    lab = build.record("rooms", school, name="Phòng Tin học", kind="computer_lab")
    first, second, third = build.records("equipment", school, [{"kind": "desktop", "name": f"PC {i}"}
                                                               for i in range(3)])
    base = f"/schools/{school.id}/equipment"
    marked = client.post(f"{base}/bulk", {"ids": [first.id, second.id], "status": "broken"})
    assert marked.status_code == 302
    moved = client.post(f"{base}/bulk", {"ids": [second.id, third.id], "room_id": str(lab.id)})
    assert moved.status_code == 302

    def state():
        return {item.name: (item.status, item.room_id) for item in db.session.scalars(select(Equipment))}
    assert read(state) == {"PC 0": (EquipmentStatus.BROKEN, None), "PC 1": (EquipmentStatus.BROKEN, lab.id),
                           "PC 2": (EquipmentStatus.IN_USE, lab.id)}
    history = client.get(f"{base}/{second.id}").get_data(as_text=True)
    assert history.count("Đã sửa") == 2


def test_bulk_changes_refuse_another_schools_items_and_change_nothing(staff, build, read):
    client, school = staff
    mine = build.record("equipment", school, kind="tv", name="Tivi")
    theirs = build.record("equipment", build.school(), kind="tv", name="Tivi khác")
    response = client.post(f"/schools/{school.id}/equipment/bulk", {"ids": [mine.id, theirs.id],
                                                                     "status": "retired"},
                           follow_redirects=True)
    assert "không phải thiết bị của trường này" in response.get_data(as_text=True)
    huge = client.post(f"/schools/{school.id}/equipment/bulk", {"ids": [mine.id, "99999999999999999999"],
                                                                 "status": "retired"}, follow_redirects=True)
    assert "không phải thiết bị của trường này" in huge.get_data(as_text=True)
    assert read(lambda: {item.status for item in db.session.scalars(select(Equipment))}) == {EquipmentStatus.IN_USE}


def test_a_principal_restores_a_deleted_record_as_it_was(client, build, read):
    school = build.school()
    client.login(build.user(Role.PRINCIPAL, school=school).email)
    room = build.record("rooms", school, name="Phòng Tin học", kind="computer_lab")
    item = build.record("equipment", school, kind="desktop", name="PC 1", room_id=room.id, serial="SN-1")
    base = f"/schools/{school.id}/equipment"
    assert client.post(f"{base}/{item.id}/delete").status_code == 302
    deleted = client.get(f"{base}/deleted").get_data(as_text=True)
    assert "PC 1 (PC-0001)" in deleted
    event_id = int(re.search(r'name="event_id" value="(\d+)"', deleted).group(1))

    restored = client.post(f"{base}/restore", {"event_id": event_id})
    assert restored.status_code == 302 and restored.headers["Location"].endswith(f"{base}/{item.id}")
    back = read(lambda: db.session.get(Equipment, item.id))
    assert (back.asset_tag, back.serial, back.room_id) == ("PC-0001", "SN-1", room.id)
    page = client.get(f"{base}/{item.id}").get_data(as_text=True)
    assert all(word in page for word in ("Đã tạo", "Đã xoá", "Đã khôi phục"))
    again = client.post(f"{base}/restore", {"event_id": event_id})
    assert again.status_code == 409
    assert "Không có bản ghi đã xoá nào có thể khôi phục." in client.get(f"{base}/deleted").get_data(as_text=True)


def test_restoring_refuses_a_clash_and_another_schools_deletion(client, build, read):
    school, other = build.school(), build.school()
    client.login(build.user(Role.PRINCIPAL, school=school).email)
    item = build.record("equipment", school, kind="desktop", name="PC 1")
    client.post(f"/schools/{school.id}/equipment/{item.id}/delete")
    build.record("equipment", school, kind="laptop", name="Laptop", asset_tag="PC-0001")  # the tag, reused
    event_id = int(re.search(r'name="event_id" value="(\d+)"',
                             client.get(f"/schools/{school.id}/equipment/deleted").get_data(as_text=True)).group(1))
    clash = client.post(f"/schools/{school.id}/equipment/restore", {"event_id": event_id})
    assert clash.status_code == 409 and "PC-0001" in clash.get_data(as_text=True)  # the reason, on the page
    assert read(lambda: db.session.get(Equipment, item.id)) is None

    theirs = build.record("equipment", other, kind="tv", name="Tivi")
    with client.app.test_request_context():
        services.delete_record(None, db.session.get(Equipment, theirs.id))
    their_event = read(lambda: db.session.scalar(select(AuditEvent.id).where(
        AuditEvent.action == "equipment.deleted", AuditEvent.object_id == theirs.id)))
    foreign = client.post(f"/schools/{school.id}/equipment/restore", {"event_id": their_event})
    assert foreign.status_code == 404
    for nonsense in ("99999999999999999999", "2147483648", "-1", "abc"):
        assert client.post(f"/schools/{school.id}/equipment/restore", {"event_id": nonsense}).status_code == 404
    assert read(lambda: db.session.get(Equipment, theirs.id)) is None


def test_internet_lines_through_the_api(app, build, read):
    school = build.school()
    auth = bearer(build.token(build.user(Role.STAFF, school=school)))
    http = app.test_client()
    base = f"/api/v1/schools/{school.id}/network-lines"
    created = http.post(base, headers=auth, json=EXAMPLES["network-lines"])
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["status"] == "active" and created.get_json()["download_mbps"] == 150
    for bad, field in [({"download_mbps": -1}, "download_mbps"),
                       ({"monthly_cost_vnd": "350.000"}, "monthly_cost_vnd"), ({"kind": "pigeon"}, "kind"),
                       ({"started_on": "2023-01-01", "ended_on": "2022-01-01"}, "ended_on"),
                       ({"provider": ""}, "provider")]:
        refused = http.post(base, headers=auth, json={**EXAMPLES["network-lines"], **bad})
        assert refused.status_code == 400 and field in refused.get_json()["error"]["fields"], bad
    assert read(lambda: db.session.scalar(select(func.count(NetworkLine.id)))) == 1


def labels_of(page: str) -> list[str]:
    """The text of each printed label, tags removed."""
    sheet = page.split('data-testid="labels"', 1)[1]
    return [" ".join(re.sub(r"<[^>]+>", " ", label.split(">", 1)[1].split("</figure>")[0]).split())
            for label in sheet.split('data-testid="label"')[1:]]


def test_labels_of_the_selected_items_show_tag_name_room_and_a_code_each(staff, build):
    client, school = staff
    lab = build.record("rooms", school, name="Phòng Tin học", kind="computer_lab")
    first, second, unticked = build.records("equipment", school, [
        {"kind": "desktop", "name": "Máy tính 1", "asset_tag": "PC-0001", "room_id": lab.id},
        {"kind": "projector", "name": "Máy chiếu Epson", "asset_tag": "MC-0001"},
        {"kind": "desktop", "name": "Máy tính 2", "asset_tag": "PC-0002", "room_id": lab.id}])
    theirs = build.record("equipment", build.school(), kind="tv", name="Tivi trường khác", asset_tag="TV-0001")
    response = client.post(f"/schools/{school.id}/equipment/labels", {"ids": [second.id, first.id, theirs.id]})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert labels_of(page) == [f"PC-0001 Máy tính 1 Phòng Tin học {school.name}",
                               f"MC-0001 Máy chiếu Epson Không có phòng {school.name}"]
    assert page.split("<main")[1].count("<svg") == 2 and "Tivi trường khác" not in page and "PC-0002" not in page
    # One item's label is a link on its page.
    record = client.get(f"/schools/{school.id}/equipment/{unticked.id}").get_data(as_text=True)
    single = re.search(r'href="([^"]*/labels\?ids=\d+)"', record).group(1)
    assert labels_of(client.get(single).get_data(as_text=True)) == [f"PC-0002 Máy tính 2 Phòng Tin học {school.name}"]


def test_labels_need_a_selection_of_reasonable_size(staff, build):
    client, school = staff
    nothing = client.post(f"/schools/{school.id}/equipment/labels", {}, follow_redirects=True)
    assert "Hãy đánh dấu các thiết bị cần in nhãn." in nothing.get_data(as_text=True)
    too_many = client.get(f"/schools/{school.id}/equipment/labels?" + "&".join(f"ids={n}" for n in range(1, 302)),
                          follow_redirects=True)
    assert "Tối đa 300 nhãn mỗi lần" in too_many.get_data(as_text=True)
    item = build.record("equipment", school, kind="tv", name="Tivi")
    repeated = client.get(f"/schools/{school.id}/equipment/labels?" + "&".join(f"ids={item.id}" for _ in range(400)))
    assert len(labels_of(repeated.get_data(as_text=True))) == 1  # the same item once, however often asked
    for nonsense in ("99999999999999999999", "2147483648", "0", "-1", "abc"):
        refused = client.get(f"/schools/{school.id}/equipment/labels?ids={nonsense}", follow_redirects=True)
        assert "Hãy đánh dấu các thiết bị cần in nhãn." in refused.get_data(as_text=True)


def test_a_scanned_label_opens_the_record_after_signing_in(app, build, make_client):
    school = build.school()
    item = build.record("equipment", school, kind="tv", name="Tivi phòng 6A", asset_tag="TV-0006")
    staff = build.user(Role.STAFF, school=school)
    address = f"/schools/{school.id}/equipment/{item.id}"
    phone = make_client()
    scanned = phone.get(address)
    assert scanned.status_code == 302 and "/login" in scanned.location
    login = phone.get(scanned.location).get_data(as_text=True)
    then = re.search(r'name="next"[^>]*value="([^"]*)"', login).group(1)
    signed_in = phone.post("/login", {"email": staff.email, "password": PASSWORD, "next": then})
    assert signed_in.status_code == 302 and signed_in.location.endswith(address)
    assert "Tivi phòng 6A" in phone.get(address).get_data(as_text=True)


def test_label_codes_point_where_phones_can_reach_the_portal(staff, build, app):
    client, school = staff
    item = build.record("equipment", school, kind="tv", name="Tivi")

    def sheet_for(public_url):
        app.config["PUBLIC_URL"] = public_url
        try:
            return client.get(f"/schools/{school.id}/equipment/labels?ids={item.id}").get_data(as_text=True)
        finally:
            app.config["PUBLIC_URL"] = None
    for address in ("http://127.0.0.1:5000", "http://localhost:5000", "http://[::1]:8000"):
        assert 'data-testid="labels-unreachable"' in sheet_for(address)  # no phone reaches this computer's own name
    for address, shown in (("http://192.168.1.10:5000", "http://192.168.1.10:5000"),
                           ("https://cds.thcva.edu.vn/", "https://cds.thcva.edu.vn")):
        page = sheet_for(address)
        assert f"Mã QR mở trang tại {shown}." in page and 'data-testid="labels-unreachable"' not in page


def test_staff_are_listed_in_vietnamese_alphabetical_order(client, build):
    school = build.school()
    build.records("staff", school, [{"full_name": name} for name in (
        "Vũ Thị Lan", "Đỗ Văn Hùng", "Đặng Thị Mai", "Dương Văn Nam", "Bùi Thị Hoa", "Ân Văn Tú", "An Văn Sơn")])
    client.login(build.user(Role.STAFF, school=school).email)
    expected = ["An Văn Sơn", "Ân Văn Tú", "Bùi Thị Hoa", "Dương Văn Nam", "Đặng Thị Mai", "Đỗ Văn Hùng", "Vũ Thị Lan"]
    for query, order in (("", expected), ("?sort=full_name", expected), ("?sort=full_name&dir=desc", expected[::-1])):
        page = client.get(f"/schools/{school.id}/staff{query}").get_data(as_text=True)
        assert sorted(expected, key=page.index) == order, query


def test_number_fields_left_empty_stay_empty(client, build, read):
    from app.inventory.models import NetworkLine

    school = build.school()
    client.login(build.user(Role.STAFF, school=school).email)
    new = client.get(f"/schools/{school.id}/network-lines/new").get_data(as_text=True)
    assert re.search(r'name="download_mbps"[^>]*value="0"', new) is None
    saved = client.post(f"/schools/{school.id}/network-lines/new", {
        "provider": "VNPT", "kind": "fiber", "status": "active", "download_mbps": "", "upload_mbps": "",
        "monthly_cost_vnd": ""})
    assert saved.status_code == 302
    line = read(lambda: db.session.scalar(select(NetworkLine).where(NetworkLine.school_id == school.id)))
    assert (line.download_mbps, line.upload_mbps, line.monthly_cost_vnd) == (None, None, None)
    edit = client.get(f"/schools/{school.id}/network-lines/{line.id}/edit").get_data(as_text=True)
    assert re.search(r'name="monthly_cost_vnd"[^>]*value="0"', edit) is None
    assert client.get(f"/schools/{school.id}/inventory/summary").status_code == 200
    line = build.record("network-lines", school, provider="Viettel", download_mbps=150, upload_mbps=2.5)
    edit = client.get(f"/schools/{school.id}/network-lines/{line.id}/edit").get_data(as_text=True)
    assert re.search(r'name="download_mbps"[^>]*value="150"', edit) and re.search(r'value="2.5"', edit)
