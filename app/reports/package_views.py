"""The evidence package's pages: the download of a year's package (streamed, with its
exact length) and the page where anyone signed in, district officers first, uploads a
package to have it checked (app.reports.package.verify_package)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms.validators import ValidationError

from app.accounts.policy import requires
from app.evidence.downloads import content_disposition
from app.extensions import csrf, db
from app.forms import PortalForm
from app.reports import package as packages
from app.schools.models import School
from app.schools.years import is_school_year
from app.storage import TooLarge, spool

bp = Blueprint("packages", __name__, template_folder="templates")
MIB = packages.MIB
# What a verification shows of each kind of difference.
KIND_LABELS = {packages.CHANGED: _l("Changed file"), packages.MISSING: _l("Missing file"),
               packages.ADDED: _l("Added file"), packages.DISAGREES: _l("Manifest differs from the snapshot")}
# The manifest's fields, as a verification names those that differ (app.reports.package.Problem.field).
FIELD_LABELS = {"school.code": _l("School code"), "school.name": _l("School"), "year": _l("School year"),
                "sealed": _l("Approved (sealed)"), "snapshot_sha256": _l("Snapshot hash (SHA-256)"),
                "approved_at": _l("Approved on"), "approved_by": _l("Approved by"), "path": _l("Path in the package"),
                "sha256": "SHA-256", "size": _l("Size"), "version": _l("Version"), "codes": _l("Evidence codes")}


class VerifyPackageForm(PortalForm):
    package = FileField(_l("Evidence package (ZIP)"), validators=[FileRequired(_l("Choose the package's ZIP file."))],
                        render_kw={"accept": ".zip,application/zip"})

    def __init__(self, *args, limit_mb: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.package.description = _l("A .zip file of at most %(mb)d MB, as it was downloaded from the portal.",
                                      mb=limit_mb)


@bp.route("/schools/<id:school_id>/assessments/<year>/package.zip")
@requires("assessments.view")
def download(school_id, year):
    """The year's package as an attachment with its Content-Length; a sealed package's
    download is audited before the first byte. 503 when a file it needs is missing."""
    if not is_school_year(year):
        abort(404)
    package = packages.package_of(db.session.get(School, school_id), year)
    if request.method == "GET":  # a HEAD sends no bytes: it downloads nothing
        packages.record_download(current_user, package)
    response = Response(package, mimetype="application/zip", direct_passthrough=True)
    response.headers["Content-Length"] = str(package.size)
    response.headers["Content-Disposition"] = content_disposition("attachment", package.filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


# The page checks its CSRF token itself, before a byte of the body is read: CSRFProtect (and
# the form) would first read the whole upload, up to PACKAGE_VERIFY_MAX_MB, from anyone. The
# token comes in the X-CSRFToken header (scripts) or in the query string of the form's action,
# which the page's upload script and a plain form post (without JavaScript) both send. A token
# in a URL is acceptable here: it is bound to the session and useless without its cookie, and
# every response carries Referrer-Policy: same-origin and no-store, so it leaves the portal in
# no Referer and no cache; it shows only in the user's own history and the server's access log.
@bp.route("/packages/verify", methods=["GET", "POST"])
@requires("packages.verify")
@csrf.exempt
def verify():
    """The upload form; after a POST, the verdict as a table (400 with a message next to
    the field for a file that is not a package). A POST without a valid token (400) or
    with a Content-Length above PACKAGE_VERIFY_MAX_MB (413) is refused unread."""
    limit_mb = current_app.config["PACKAGE_VERIFY_MAX_MB"]
    request.max_content_length = (limit_mb + 1) * MIB  # room for the form's other fields
    if request.method == "POST":
        try:
            validate_csrf(request.headers.get("X-CSRFToken") or request.args.get("csrf_token"))
        except ValidationError:
            form = VerifyPackageForm(formdata=None, limit_mb=limit_mb, meta={"csrf": False})
            form.form_errors.append(_l("The form expired. Please submit it again."))
            return _page(form, 400)
        if (request.content_length or 0) > request.max_content_length:
            return _too_large(limit_mb)
    try:
        form = VerifyPackageForm(limit_mb=limit_mb, meta={"csrf": False})  # its token is checked above
    except RequestEntityTooLarge:
        return _too_large(limit_mb)
    verdict = None
    if form.validate_on_submit():
        try:
            with spool(form.package.data.stream, limit_mb * MIB) as spooled:
                verdict = packages.verify_package(spooled.file)
        except TooLarge:
            return _too_large(limit_mb)
        if verdict.error:
            form.package.errors.append(verdict.error)
            verdict = None
    return _page(form, 400 if form.errors else 200, verdict, form.package.data.filename if verdict else "")


def _too_large(limit_mb: int):
    form = VerifyPackageForm(formdata=None, limit_mb=limit_mb, meta={"csrf": False})
    form.package.errors = [_l("The package is larger than %(mb)d MB, the most this page checks. Check it on the "
                              "server with: flask package verify FILE.zip", mb=limit_mb)]
    return _page(form, 413)


def _page(form: VerifyPackageForm, status: int, verdict=None, filename: str = ""):
    return render_template("reports/package_verify.html", form=form, verdict=verdict, kind_labels=KIND_LABELS,
                           field_labels=FIELD_LABELS, filename=filename), status
