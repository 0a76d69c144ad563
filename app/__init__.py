"""The portal's application factory."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter, ValidationError

from app import config as portal_config
from app import ops, security
from app.db_types import MAX_ID
from app.storage import UploadRequest


def create_app(config: dict | None = None) -> Flask:
    """Build the app; ``config`` overrides every other configuration layer. The instance
    folder (instance/config.py, the generated secret key, the SQLite files) is
    ``config["INSTANCE_PATH"]``, else ``PORTAL_INSTANCE_PATH``, else ``instance/``.

    Raises ``ConfigError`` when the configuration must not run (e.g. production without
    a real SECRET_KEY)."""
    instance_path = ((config or {}).get("INSTANCE_PATH") or os.environ.get("PORTAL_INSTANCE_PATH")
                     or portal_config.PROJECT_ROOT / "instance")
    app = Flask(__name__, instance_relative_config=True, instance_path=str(instance_path))
    app.request_class = UploadRequest  # uploaded files are hashed while they arrive (app.storage)
    portal_config.load(app, config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config["TRUSTED_PROXIES"]:
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops)

    app.url_map.converters["id"] = RecordIdConverter
    ops.register(app)  # first: every request gets its id and its log line, refused ones too
    security.register(app)
    register_extensions(app)
    register_blueprints(app)
    register_commands(app)
    from app.errors import register_error_handlers
    register_error_handlers(app)
    return app


class RecordIdConverter(IntegerConverter):
    """``<id:name>``: a record id; anything outside the database's integer range is a 404."""

    def __init__(self, url_map):
        super().__init__(url_map, min=1, max=MAX_ID)

    def to_python(self, value: str) -> int:
        # Not werkzeug's ValidationError: after trying the GET rule of the same path, it
        # would answer a PATCH or DELETE of such an id with 405 instead.
        try:
            return super().to_python(value)
        except ValidationError:
            raise NotFound() from None


def register_extensions(app: Flask) -> None:
    from app import i18n
    from app.api import api
    from app.extensions import babel, csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(portal_config.PROJECT_ROOT / "migrations"))
    login_manager.init_app(app)
    login_manager.session_protection = None  # sessions end by token rotation, see accounts.sessions
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale, default_translation_directories="translations")
    i18n.register(app)
    api.init_app(app)


def register_blueprints(app: Flask) -> None:
    from app.accounts.views import bp as accounts_bp
    from app.api import register_api
    from app.api.auth import blp as auth_api
    from app.assessments.api import blp as score_api
    from app.assessments.views import bp as assessments_bp
    from app.audit.views import bp as audit_bp
    from app.dashboard.views import bp as dashboard_bp
    from app.districts.api import blp as districts_api
    from app.districts.views import bp as districts_bp
    from app.evidence.api import blp as evidence_api
    from app.evidence.views import bp as evidence_bp
    from app.framework.views import bp as framework_bp
    from app.inventory.api import blp as inventory_api
    from app.inventory.views import bp as inventory_bp
    from app.notifications.views import bp as notifications_bp
    from app.planner.api import blp as planner_api
    from app.planner.views import bp as planner_bp
    from app.reports.package_views import bp as packages_bp
    from app.reports.views import bp as reports_bp
    from app.schools.api import blp as schools_api
    from app.schools.views import bp as schools_bp

    app.register_blueprint(dashboard_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(schools_bp)
    app.register_blueprint(inventory_bp)
    app.register_blueprint(evidence_bp)
    app.register_blueprint(framework_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(packages_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(assessments_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(planner_bp)
    app.register_blueprint(districts_bp)
    register_api(app, [auth_api, schools_api, inventory_api, evidence_api, score_api, planner_api, districts_api])


def register_commands(app: Flask) -> None:
    from app.accounts.cli import accounts_cli
    from app.assessments.cli import assessments_cli
    from app.audit.cli import audit_cli
    from app.backup.cli import backup_cli
    from app.demo.cli import demo_cli
    from app.evidence.jobs import jobs_cli
    from app.framework.cli import framework_cli, scores_cli
    from app.ops.serve import serve
    from app.reports.package_cli import package_cli
    from app.storage.cli import storage_cli

    app.cli.add_command(accounts_cli)
    app.cli.add_command(assessments_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(backup_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(framework_cli)
    app.cli.add_command(scores_cli)
    app.cli.add_command(storage_cli)
    app.cli.add_command(package_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(serve)
