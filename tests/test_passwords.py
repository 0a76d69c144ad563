"""Password strength: every way a password is set refuses an easily guessed one and
says why in Vietnamese; the demo keeps its published password."""

from __future__ import annotations

import secrets

import pytest
from sqlalchemy import select
from zxcvbn import matching as zxcvbn_matching

from app import demo
from app.accounts import passwords, services
from app.accounts.models import Role, User
from app.extensions import db
from tests.builders import PASSWORD

ADVICE = "Thêm vài từ không liên quan hoặc ký tự."
COMMON = "Mật khẩu này nằm trong danh sách mật khẩu phổ biến."
SUBSTITUTED = "Mật khẩu này là một mật khẩu phổ biến chỉ thay vài chữ (như @ cho a, 0 cho o)."
VIETNAMESE = "Mật khẩu dựa trên một từ hay mật khẩu rất hay dùng ở Việt Nam"
PERSONAL = "Mật khẩu chứa họ tên, email của tài khoản hoặc tên, mã trường"
KEYBOARD = "Chuỗi bàn phím như qwerty dễ đoán."
REPEATED = "Ký tự hay cụm lặp lại (như aaa, abcabc) dễ đoán."
SEQUENCE = "Dãy liên tiếp như abc hay 1234 dễ đoán."
DATE = "Ngày tháng và năm dễ đoán."
ENGLISH = ("common password", "easy to guess", "Add another word", "Avoid", "This is")

# A weak password and the reason the page gives for it.
WEAK = {
    "P@ssw0rd": SUBSTITUTED,
    "Abcd1234": COMMON,
    "qwerty123": COMMON,
    "matkhau1": VIETNAMESE,
    "123456a@": VIETNAMESE,
    "anhyeuem2024": VIETNAMESE,
    "Emyeuanh@": VIETNAMESE,
    "hocsinh123": VIETNAMESE,
    "giaovien2023": VIETNAMESE,
    "Hanoi@2024": VIETNAMESE,
    "zxcvbnm,./": KEYBOARD,
    "xyzxyzxyzxyz": REPEATED,
    "opqrstuvwxyz": SEQUENCE,
    "25/12/1998": DATE,
}


def say_why(html: str, reason: str) -> None:
    assert reason in html and ADVICE in html
    assert not any(text in html for text in ENGLISH), html


@pytest.mark.parametrize("password, reason", WEAK.items(), ids=list(WEAK))
def test_a_weak_new_password_is_refused_with_the_reason_in_vietnamese(client, build, password, reason):
    user = build.user(Role.STAFF, school=build.school())
    client.login(user.email)
    response = client.post("/account/password", {"current_password": PASSWORD, "new_password": password,
                                                 "confirm": password})
    assert response.status_code == 400
    say_why(response.get_data(as_text=True), reason)
    assert client.get("/account").status_code == 200  # the old password still stands


def test_the_persons_own_name_email_or_school_is_refused(client, build):
    school = build.school(code="THCVA", name="Trường Tiểu học Chu Văn An")
    principal = build.user(Role.PRINCIPAL, school=school, email="hieutruong@thcva.edu.vn")
    client.login(principal.email)
    for password in ("ChuVanAn@2023", "Thcva#2024", "hoa@thcva.edu.vn", "hieutruong@thcva.edu.vn",
                     "Hoa.NguyenThi99", "nguyenthihoa1990", "Hoa@1990"):
        response = client.post("/users/new", {"full_name": "Nguyễn Thị Hoa", "email": "hoa@thcva.edu.vn",
                                              "role": "staff", "school_id": school.id, "password": password})
        assert response.status_code == 400, password
        say_why(response.get_data(as_text=True), PERSONAL)
    own = client.post("/account/password", {"current_password": PASSWORD, "new_password": "ChuVanAn@2023",
                                            "confirm": "ChuVanAn@2023"})
    say_why(own.get_data(as_text=True), PERSONAL)


def test_every_way_of_setting_a_password_checks_its_strength(app, make_client, build, read):
    school = build.school()
    admin = build.user(Role.ADMIN)
    staff = build.user(Role.STAFF, school=school)
    pages = make_client()
    pages.login(admin.email)

    created = pages.post("/users/new", {"full_name": "Lê Văn Nam", "email": "nam@example.edu.vn",
                                        "role": "staff", "school_id": school.id, "password": "Abcd1234"})
    assert created.status_code == 400
    say_why(created.get_data(as_text=True), COMMON)

    reset = pages.post(f"/users/{staff.id}/password", {"password": "P@ssw0rd"})
    assert reset.status_code == 400
    say_why(reset.get_data(as_text=True), SUBSTITUTED)

    runner = app.test_cli_runner()
    cli_create = runner.invoke(args=["accounts", "create", "--email", "cli@example.edu.vn",
                                     "--password", "matkhau1", "--role", "admin"])
    assert cli_create.exit_code != 0 and VIETNAMESE in cli_create.output
    cli_reset = runner.invoke(args=["accounts", "set-password", staff.email], input="qwerty123\nqwerty123\n")
    assert cli_reset.exit_code != 0 and COMMON in cli_reset.output

    emails = read(lambda: db.session.scalars(select(User.email)).all())
    assert "nam@example.edu.vn" not in emails and "cli@example.edu.vn" not in emails
    assert make_client().login(staff.email).status_code == 302  # neither reset took


@pytest.mark.parametrize("password", [
    PASSWORD, "mat-khau-rieng", "Cá vàng bơi trong chậu sứ", "tre xanh-xanh tận chân trời",
    secrets.token_urlsafe(12), "x" + secrets.token_hex(63) + "!",
], ids=["builders", "hyphenated", "diacritics", "phrase", "random 16", "random 128"])
def test_strong_passwords_are_accepted(ctx, password):
    assert services.password_problem(password) is None


def test_the_length_limits_stay(ctx):
    assert services.password_problem("Xk9#vQ2") == "Mật khẩu phải có ít nhất 8 ký tự."
    assert services.password_problem("x" + secrets.token_hex(64)) == "Mật khẩu tối đa 128 ký tự."


@pytest.mark.parametrize("password", [
    "4@8({[<3691!|0$5+7%2" * 7,  # every character zxcvbn reads as a letter in disguise
    "".join(secrets.choice("4@8({[<3691!|0$5+7%2aeilostbgxz") for _ in range(128)),
    "ChuVanAn" + "4@8({[<3691!|0$5+7%2" * 6,  # the school's name, then the same: rated twice
    secrets.token_hex(64), "1" * 128, "19901231" * 16,
], ids=["disguised letters", "random disguised letters", "school then disguised letters", "hex", "one digit",
        "dates"])
def test_a_password_too_costly_to_rate_whole_is_rated_by_its_start(ctx, monkeypatch, password):
    """zxcvbn's work grows with the length squared times the letters-in-disguise readings
    (13 s for the first of these, unbounded); what is rated stays within the budget.
    (How long that takes is measured outside the tests: about 0.1 s.)"""
    rated = []
    real = passwords.zxcvbn
    monkeypatch.setattr(passwords, "zxcvbn", lambda text, **kwargs: rated.append(text) or real(text, **kwargs))
    password = password[:128]
    services.password_problem(password, ["Nguyễn Thị Hoa", "hoa@thcva.edu.vn", "Trường Tiểu học Chu Văn An"])
    for text in rated:
        readings = len(zxcvbn_matching.enumerate_l33t_subs(
            zxcvbn_matching.relevant_l33t_subtable(text, zxcvbn_matching.L33T_TABLE)))
        assert len(text) <= passwords._MIN_RATED_LENGTH or len(text) ** 2 * (readings + 7) <= passwords._WORK_BUDGET
    assert rated


def test_the_demo_keeps_its_published_password(client, read):
    """The demo's password names its school, so the pages would refuse it; the demo
    creates its accounts without the strength check, and `make run` prints them."""
    read(demo.load)
    assert read(lambda: services.password_problem(demo.DEMO_PASSWORD, ["Trường Tiểu học Chu Văn An"]))
    for _role, email, password in demo.logins():
        assert client.login(email, password).status_code == 302, email
        client.logout()
