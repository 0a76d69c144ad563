"""Sign-in, one's own account, language, and the management of users."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user
from sqlalchemy import select

from app.accounts import services
from app.accounts.forms import ChangePasswordForm, LoginForm, SetPasswordForm, TokenForm, UserForm
from app.accounts.models import ApiToken, Role, User
from app.accounts.policy import PUBLIC, SIGNED_IN, requires
from app.accounts.sessions import safe_next, sign_in
from app.errors import PortalError, TooManyAttempts
from app.extensions import db
from app.paging import paginate, search_text
from app.schools.models import District, School

# The service's field names for a placement, and the form's.
SERVICE_FIELDS = {"school": "school_id", "district": "district_id"}
bp = Blueprint("accounts", __name__, template_folder="templates")


@bp.route("/login", methods=["GET", "POST"])
@requires(PUBLIC)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    form = LoginForm(next=request.args.get("next", ""))
    status, headers = 200, {}
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data, client=request.remote_addr)
        except PortalError as error:
            form.form_errors.append(error.message)
            status, headers = error.status, error.headers
        else:
            sign_in(user)
            return redirect(safe_next(form.next.data) or url_for("dashboard.home"))
    elif request.method == "POST":
        status = 400
    return render_template("accounts/login.html", form=form), status, headers


@bp.route("/logout", methods=["POST"])
@requires(SIGNED_IN)
def logout():
    services.sign_out(current_user)
    logout_user()
    session.clear()
    flash(_("You have signed out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/language", methods=["POST"])
@requires(PUBLIC)
def set_language():
    locale = request.form.get("locale", "")
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            services.set_locale(current_user, locale)
    return redirect(safe_next(request.form.get("next")) or url_for("dashboard.home"))


@bp.route("/account")
@requires(SIGNED_IN)
def account():
    return render_template("accounts/account.html", tokens=services.tokens_of(current_user),
                           token_form=TokenForm(), new_token=None)


@bp.route("/account/password", methods=["GET", "POST"])
@requires(SIGNED_IN)
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_own_password(current_user, form.current_password.data, form.new_password.data,
                                         client=request.remote_addr)
        except TooManyAttempts:
            raise  # the 429 page, with Retry-After
        except PortalError as error:
            form.show_errors(error)
        else:
            sign_in(current_user._get_current_object())  # this session goes on; the others have ended
            flash(_("Password changed. You were signed out everywhere else."), "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/password.html", form=form), 400 if form.errors else 200


@bp.route("/account/tokens", methods=["POST"])
@requires(SIGNED_IN)
def create_token():
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        _token, new_token = services.issue_token(current_user, form.name.data)
    status = 201 if new_token else 400
    return render_template("accounts/account.html", tokens=services.tokens_of(current_user),
                           token_form=form, new_token=new_token), status


@bp.route("/account/tokens/<id:token_id>/revoke", methods=["POST"])
@requires(SIGNED_IN)
def revoke_token(token_id):
    services.revoke_token(current_user, db.get_or_404(ApiToken, token_id))
    flash(_("Token revoked."), "success")
    return redirect(url_for("accounts.account"))


# --- managing users (admins: everyone; principals: their school) -----------------

@bp.route("/users")
@requires("users.view")
def users():
    q = search_text()
    page = paginate(services.search_users(services.users_visible_to(current_user), q))
    return render_template("accounts/users.html", page=page, q=q)


def _user_form(user: User | None) -> UserForm:
    if current_user.role == Role.ADMIN:
        schools = db.session.scalars(select(School).order_by(School.name))
        districts = db.session.scalars(select(District).order_by(District.province, District.name))
    else:
        schools, districts = [current_user.school], []
    form = UserForm(obj=user, roles=services.assignable_roles(current_user), schools=schools, districts=districts)
    if user is not None:
        del form.password  # set on its own form
        del form.email  # the sign-in name stays as created
        if request.method == "GET":
            form.role.data = user.role.value
            form.school_id.data = user.school_id or 0
            form.district_id.data = user.district_id or 0
    elif current_user.role == Role.PRINCIPAL and request.method == "GET":
        form.school_id.data = current_user.school_id
    return form


def _placement(form: UserForm) -> dict:
    return {"school": db.session.get(School, form.school_id.data or 0),
            "district": db.session.get(District, form.district_id.data or 0)}


@bp.route("/users/new", methods=["GET", "POST"])
@requires("users.manage")
def create_user():
    form = _user_form(None)
    if form.validate_on_submit():
        try:
            user = services.create_user(current_user, email=form.email.data, full_name=form.full_name.data,
                                        password=form.password.data, role=form.role.data, **_placement(form))
        except PortalError as error:
            form.show_errors(error, renames=SERVICE_FIELDS)
        else:
            flash(_("Account %(email)s created.", email=user.email), "success")
            return redirect(url_for("accounts.users"))
    return render_template("accounts/user_form.html", form=form, user=None), 400 if form.errors else 200


@bp.route("/users/<id:user_id>/edit", methods=["GET", "POST"])
@requires("users.manage")
def edit_user(user_id):
    user = db.get_or_404(User, user_id)
    form = _user_form(user)
    if form.validate_on_submit():
        try:
            services.update_user(current_user, user, full_name=form.full_name.data, role=form.role.data,
                                 active=form.active.data, **_placement(form))
        except PortalError as error:
            form.show_errors(error, renames=SERVICE_FIELDS)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("accounts.users"))
    return render_template("accounts/user_form.html", form=form, user=user,
                           password_form=SetPasswordForm()), 400 if form.errors else 200


@bp.route("/users/<id:user_id>/password", methods=["POST"])
@requires("users.manage")
def set_user_password(user_id):
    user = db.get_or_404(User, user_id)
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            services.set_password(current_user, user, form.password.data)
        except PortalError as error:
            form.show_errors(error)
        else:
            flash(_("Password set. The person's open sessions have ended."), "success")
            return redirect(url_for("accounts.edit_user", user_id=user.id))
    return render_template("accounts/user_form.html", form=_user_form(user), user=user,
                           password_form=form), 400
