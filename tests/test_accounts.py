"""Signing in and out, throttling, sessions, passwords and managing users."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import delete, event, select, update

from app.accounts.models import LoginFailure, Role, User
from app.audit.models import AuditEvent
from app.extensions import db, utcnow
from tests.builders import PASSWORD

WRONG = "Email hoặc mật khẩu không đúng."


def test_staff_signs_in_and_sees_their_name(client, build):
    school = build.school()
    user = build.user(Role.STAFF, school=school, full_name="Trần Văn Minh")
    response = client.login(user.email)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Trần Văn Minh" in client.get("/").get_data(as_text=True)


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(client, build):
    user = build.user(Role.ADMIN)
    assert client.get("/schools").headers["Location"].startswith("/login?next=/schools")
    response = client.post("/login", {"email": user.email, "password": PASSWORD, "next": "/schools"})
    assert response.headers["Location"] == "/schools"
    client.logout()
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post("/login", {"email": user.email, "password": PASSWORD, "next": target})
        assert response.headers["Location"] == "/"
        client.logout()


def test_unknown_email_and_wrong_password_get_the_same_answer(client, build):
    user = build.user(Role.ADMIN)
    wrong_password = client.login(user.email, "not-the-password")
    unknown_user = client.login("nobody@example.edu.vn", PASSWORD)
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert WRONG in wrong_password.get_data(as_text=True)
    assert WRONG in unknown_user.get_data(as_text=True)


def test_passwords_are_stored_as_argon2id_hashes(build, read):
    user = build.user(Role.ADMIN)
    stored = read(lambda: db.session.get(User, user.id).password_hash)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_session_changes_at_sign_in_and_drops_what_was_planted_before(client, build):
    user = build.user(Role.ADMIN)
    client.get("/login")
    with client.http.session_transaction() as session:
        session["planted"] = "by an attacker"
    before = client.http.get_cookie("portal_session", domain="portal.test").value
    client.login(user.email)
    assert client.http.get_cookie("portal_session", domain="portal.test").value != before
    with client.http.session_transaction() as session:
        assert "planted" not in session


def test_session_cookie_is_httponly_samesite_and_secure_over_https(app, build):
    user = build.user(Role.ADMIN)
    for base_url, secure in (("http://portal.test", False), ("https://portal.test", True)):
        http = app.test_client()
        page = http.get("/login", base_url=base_url).get_data(as_text=True)
        token = page.split('name="csrf_token" value="')[1].split('"')[0]
        response = http.post("/login", base_url=base_url, headers={"Referer": f"{base_url}/login"},
                             data={"email": user.email, "password": PASSWORD, "csrf_token": token})
        cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("portal_session="))
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is secure


def test_account_is_throttled_after_repeated_failures_even_with_the_right_password(app, client, build, read):
    user = build.user(Role.PRINCIPAL, school=build.school())
    limit = app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    for _ in range(limit):
        assert client.login(user.email, "guess-guess").status_code == 401
    throttled = client.login(user.email)
    assert throttled.status_code == 429
    assert "Đăng nhập sai quá nhiều lần" in throttled.get_data(as_text=True)
    assert int(throttled.headers["Retry-After"]) > 0


def test_throttle_ends_by_itself_when_the_window_passes(app, client, build, read):
    user = build.user(Role.STAFF, school=build.school())
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
        client.login(user.email, "guess-guess")
    assert client.login(user.email).status_code == 429

    def age_failures():
        window = timedelta(minutes=app.config["LOGIN_FAILURE_WINDOW_MINUTES"] + 1)
        db.session.execute(update(LoginFailure).values(failed_at=utcnow() - window))
        db.session.commit()
    read(age_failures)
    assert client.login(user.email).status_code == 302


def test_one_client_guessing_many_accounts_is_throttled_but_others_can_still_sign_in(app, build, make_client,
                                                                                        monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_CLIENT", 3)
    victim = build.user(Role.STAFF, school=build.school())
    attacker = make_client()
    for number in range(3):
        attacker.login(f"someone{number}@example.edu.vn", "guess-guess")
    assert attacker.login(victim.email).status_code == 429

    elsewhere = make_client()
    elsewhere.http.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    assert elsewhere.login(victim.email).status_code == 302


@pytest.mark.real_commits  # the session forgets what it committed, as in a served portal
def test_a_sign_in_whose_record_a_parallel_sign_in_cleared_still_gets_its_answer(app, build, make_client,
                                                                                 monkeypatch):
    """Many sign-ins to one account at once (a class behind the school's one address):
    one that succeeds clears this client's records of the account, among them those of
    attempts still being checked. Each of those still gets its own answer, not an error."""
    email = f"giaovien-{uuid.uuid4().hex[:8]}@example.edu.vn"
    with app.app_context():
        build.user(Role.STAFF, school=build.school(), email=email)
        engine = db.engine
    cleared = []

    def cleared_in_parallel(_connection, cursor, statement, _parameters, _context, _many):
        """Right after this attempt is recorded, a parallel success removes its record."""
        if statement.lstrip().startswith("SELECT") and "FROM login_failures" in statement and not cleared:
            cleared.append(statement)
            cursor.execute("DELETE FROM login_failures WHERE id = (SELECT max(id) FROM login_failures)")

    def sign_in(client):
        cleared.clear()
        event.listen(engine, "before_cursor_execute", cleared_in_parallel)
        try:
            return client.login(email)
        finally:
            event.remove(engine, "before_cursor_execute", cleared_in_parallel)

    address = f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"  # no other test counts its failures

    def school_address():
        client = make_client()
        client.http.environ_base["REMOTE_ADDR"] = address
        return client

    try:
        assert sign_in(school_address()).status_code == 302 and cleared
        shared = school_address()
        for number in range(4):
            shared.login(f"someone{number}@example.edu.vn", "guess-guess")
        monkeypatch.setitem(app.config, "LOGIN_MAX_FAILURES_PER_CLIENT", 3)
        assert sign_in(shared).status_code == 429 and cleared
    finally:
        with app.app_context():
            db.session.execute(delete(LoginFailure).where(LoginFailure.client == address))
            db.session.commit()


def test_disabled_account_cannot_sign_in(client, build, read):
    admin = build.user(Role.ADMIN)
    user = build.user(Role.STAFF, school=build.school())

    def disable():
        from app.accounts import services
        services.update_user(db.session.get(User, admin.id), db.session.get(User, user.id),
                             full_name=user.full_name, role=Role.STAFF, active=False,
                             school=db.session.get(User, user.id).school)
    read(disable)
    response = client.login(user.email)
    assert response.status_code == 401 and "đã bị khoá" in response.get_data(as_text=True)


def test_signing_out_ends_the_users_other_sessions_too(make_client, build):
    user = build.user(Role.REVIEWER, school=build.school())
    laptop, phone = make_client(), make_client()
    laptop.login(user.email)
    phone.login(user.email)
    assert phone.get("/account").status_code == 200
    laptop.logout()
    assert laptop.get("/account").status_code == 302
    assert phone.get("/account").headers["Location"].startswith("/login")


def test_changing_the_password_keeps_this_session_and_ends_the_others(make_client, build):
    user = build.user(Role.PRINCIPAL, school=build.school())
    laptop, phone = make_client(), make_client()
    laptop.login(user.email)
    phone.login(user.email)
    response = laptop.post("/account/password", {"current_password": PASSWORD, "new_password": "a-new-long-secret",
                                                 "confirm": "a-new-long-secret"})
    assert response.status_code == 302
    assert laptop.get("/account").status_code == 200
    assert phone.get("/account").status_code == 302
    assert make_client().login(user.email, "a-new-long-secret").status_code == 302


def test_password_change_refuses_a_wrong_current_password_and_a_weak_new_one(client, build):
    user = build.user(Role.STAFF, school=build.school())
    client.login(user.email)
    wrong = client.post("/account/password", {"current_password": "nope-nope", "new_password": "a-new-long-secret",
                                              "confirm": "a-new-long-secret"})
    assert wrong.status_code == 400 and "Mật khẩu hiện tại không đúng." in wrong.get_data(as_text=True)
    weak = client.post("/account/password", {"current_password": PASSWORD, "new_password": "12345678",
                                             "confirm": "12345678"})
    assert weak.status_code == 400 and "Mật khẩu này nằm trong danh sách mật khẩu phổ biến." in weak.get_data(
        as_text=True)
    assert client.get("/account").status_code == 200  # still signed in with the old password


def test_principal_adds_a_teacher_to_their_school(client, build, read):
    school = build.school()
    principal = build.user(Role.PRINCIPAL, school=school)
    client.login(principal.email)
    form = client.get("/users/new").get_data(as_text=True)
    assert 'value="admin"' not in form and 'value="district"' not in form
    response = client.post("/users/new", {"full_name": "Lê Văn Nam", "email": "Nam@Example.edu.vn",
                                          "role": "staff", "school_id": school.id, "password": "mat-khau-rieng"})
    assert response.status_code == 302
    created = read(lambda: db.session.scalar(select(User).where(User.email == "nam@example.edu.vn")))
    assert created.role == Role.STAFF and created.school_id == school.id
    assert "Lê Văn Nam" in client.get("/users").get_data(as_text=True)
    actions = read(lambda: db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == created.id,
                                                                              AuditEvent.object_type == "User")).all())
    assert "user.created" in actions


def test_principal_cannot_create_an_admin_or_place_someone_in_another_school(client, build, read):
    school, other = build.school(), build.school()
    principal = build.user(Role.PRINCIPAL, school=school)
    client.login(principal.email)
    as_admin = client.post("/users/new", {"full_name": "X", "email": "x@example.edu.vn", "role": "admin",
                                          "school_id": school.id, "password": "mat-khau-rieng"})
    elsewhere = client.post("/users/new", {"full_name": "Y", "email": "y@example.edu.vn", "role": "staff",
                                           "school_id": other.id, "password": "mat-khau-rieng"})
    assert as_admin.status_code == elsewhere.status_code == 400
    assert read(lambda: db.session.scalar(select(User).where(User.email.in_(["x@example.edu.vn",
                                                                             "y@example.edu.vn"])))) is None


def test_duplicate_email_is_refused_next_to_the_field(client, build):
    build.user(Role.STAFF, school=build.school(), email="trung@example.edu.vn")
    client.login(build.user(Role.ADMIN).email)
    response = client.post("/users/new", {"full_name": "Trùng", "email": "TRUNG@example.edu.vn", "role": "admin",
                                          "password": "mat-khau-rieng"})
    assert response.status_code == 400
    assert "Email này đã được dùng cho tài khoản khác." in response.get_data(as_text=True)


def test_nobody_disables_themselves_and_the_last_admin_stays(client, build):
    admin = build.user(Role.ADMIN)
    client.login(admin.email)
    response = client.post(f"/users/{admin.id}/edit", {"full_name": "Admin", "role": "staff", "active": "y"})
    assert response.status_code == 400
    assert "Bạn không thể khoá tài khoản của chính mình" in response.get_data(as_text=True)


def test_admin_sets_a_new_password_and_the_persons_sessions_end(make_client, build):
    admin = build.user(Role.ADMIN)
    staff = build.user(Role.STAFF, school=build.school())
    staff_client, admin_client = make_client(), make_client()
    staff_client.login(staff.email)
    admin_client.login(admin.email)
    assert admin_client.post(f"/users/{staff.id}/password", {"password": "mat-khau-moi-123"}).status_code == 302
    assert staff_client.get("/account").status_code == 302
    assert make_client().login(staff.email, "mat-khau-moi-123").status_code == 302


def test_cli_creates_accounts_for_each_kind_of_role(app, build, read):
    build.school(code="THCVA", district="Đắk Song", province="Đắk Nông")
    runner = app.test_cli_runner()
    for args in (["--role", "principal", "--school", "thcva"], ["--role", "admin"],
                 ["--role", "district", "--district", "Đắk Song"]):
        email = f"{args[1]}@cli.edu.vn"
        result = runner.invoke(args=["accounts", "create", "--email", email, "--password", "mat-khau-cli", *args])
        assert result.exit_code == 0, result.output
    district_officer = read(lambda: db.session.scalar(select(User).where(User.email == "district@cli.edu.vn")))
    assert district_officer.district_id is not None


def test_cli_explains_what_is_wrong(app, build):
    runner = app.test_cli_runner()
    missing_school = runner.invoke(args=["accounts", "create", "--email", "a@b.vn", "--password", "mat-khau-cli",
                                         "--role", "staff", "--school", "NOPE"])
    assert missing_school.exit_code != 0 and "No school with code 'NOPE'" in missing_school.output
    weak = runner.invoke(args=["accounts", "create", "--email", "a@b.vn", "--password", "123", "--role", "admin"])
    assert weak.exit_code != 0 and "password" in weak.output
    bad_role = runner.invoke(args=["accounts", "create", "--email", "a@b.vn", "--password", "mat-khau-cli",
                                   "--role", "king"])
    assert bad_role.exit_code == 2


def test_cli_token_works_with_the_api(app, build):
    user = build.user(Role.STAFF, school=build.school())
    result = app.test_cli_runner().invoke(args=["accounts", "token", user.email])
    assert result.exit_code == 0
    token = result.output.strip()
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.get_json()["email"] == user.email


def test_cli_unlock_lifts_the_throttle(app, client, build):
    user = build.user(Role.STAFF, school=build.school())
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
        client.login(user.email, "guess-guess")
    assert client.login(user.email).status_code == 429
    assert app.test_cli_runner().invoke(args=["accounts", "unlock", user.email]).exit_code == 0
    assert client.login(user.email).status_code == 302


def test_a_throttled_account_can_still_sign_in_from_another_client(app, build, make_client):
    user = build.user(Role.PRINCIPAL, school=build.school())
    guesser = make_client()
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
        guesser.login(user.email, "guess-guess")
    assert guesser.login(user.email).status_code == 429

    owner = make_client()
    owner.http.environ_base["REMOTE_ADDR"] = "10.9.8.7"
    assert owner.login(user.email).status_code == 302


def test_the_owners_sign_in_elsewhere_does_not_clear_a_guessers_failures(app, build, make_client):
    user = build.user(Role.PRINCIPAL, school=build.school())
    limit = app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    guesser = make_client()
    for _ in range(limit - 3):
        assert guesser.login(user.email, "guess-guess").status_code == 401

    owner = make_client()
    owner.http.environ_base["REMOTE_ADDR"] = "10.9.8.7"
    assert owner.login(user.email).status_code == 302

    for _ in range(3):  # the guesser has the 3 guesses it had left, not a fresh 10
        assert guesser.login(user.email, "guess-guess").status_code == 401
    assert guesser.login(user.email, "guess-guess").status_code == 429
    assert guesser.login(user.email).status_code == 429


def test_signing_in_clears_the_failures_of_that_client_only(app, build, make_client, read):
    user = build.user(Role.STAFF, school=build.school())
    limit = app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    guesser, owner = make_client(), make_client()
    owner.http.environ_base["REMOTE_ADDR"] = "10.9.8.7"
    for _ in range(2):
        guesser.login(user.email, "guess-guess")
    for _ in range(limit - 1):  # the owner mistypes, then gets it right
        assert owner.login(user.email, "typo-typo").status_code == 401
    assert owner.login(user.email).status_code == 302
    assert read(lambda: db.session.scalars(select(LoginFailure.client)).all()) == ["127.0.0.1"] * 2

    owner.logout()
    for _ in range(limit):  # a fresh count for the owner's client
        assert owner.login(user.email, "typo-typo").status_code == 401
    assert owner.login(user.email).status_code == 429


def test_changing_the_password_clears_only_this_clients_failures(app, build, make_client):
    user = build.user(Role.STAFF, school=build.school())
    limit = app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    guesser = make_client()
    for _ in range(limit - 1):
        guesser.login(user.email, "guess-guess")
    owner = make_client()
    owner.http.environ_base["REMOTE_ADDR"] = "10.9.8.7"
    owner.login(user.email)
    assert owner.post("/account/password", {"current_password": PASSWORD, "new_password": "a-new-long-secret",
                                            "confirm": "a-new-long-secret"}).status_code == 302
    assert guesser.login(user.email, "guess-guess").status_code == 401
    assert guesser.login(user.email, "a-new-long-secret").status_code == 429


def test_guessing_the_current_password_on_the_change_form_is_throttled(app, client, build):
    user = build.user(Role.STAFF, school=build.school())
    client.login(user.email)
    change = {"new_password": "a-new-long-secret", "confirm": "a-new-long-secret"}
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
        assert client.post("/account/password", {"current_password": "guess-guess", **change}).status_code == 400
    assert client.post("/account/password", {"current_password": PASSWORD, **change}).status_code == 429


@pytest.mark.parametrize("how", ["own change", "reset by admin", "account disabled"])
def test_api_tokens_stop_working_after_a_new_password_or_a_disabled_account(how, app, build, make_client):
    admin = build.user(Role.ADMIN)
    user = build.user(Role.STAFF, school=build.school())
    token = build.token(user)
    api = app.test_client()
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    if how == "own change":
        person = make_client()
        person.login(user.email)
        person.post("/account/password", {"current_password": PASSWORD, "new_password": "a-new-long-secret",
                                          "confirm": "a-new-long-secret"})
    else:
        admin_client = make_client()
        admin_client.login(admin.email)
        if how == "reset by admin":
            admin_client.post(f"/users/{user.id}/password", {"password": "mat-khau-moi-123"})
        else:
            admin_client.post(f"/users/{user.id}/edit", {"full_name": user.full_name, "role": "staff",
                                                         "school_id": user.school_id})
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
