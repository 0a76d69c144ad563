"""The base of every HTML form: CSRF (Flask-WTF), messages in the user's language,
typed text cleaned of characters the database cannot keep, and service errors shown
next to their fields."""

from __future__ import annotations

from flask_babel import gettext, ngettext
from flask_wtf import FlaskForm

from app.errors import PortalError
from app.security import strip_unprintable


class _CatalogTranslations:
    """WTForms' own messages through the portal's catalog (WTForms ships no Vietnamese)."""

    def gettext(self, string):
        return gettext(string)

    def ngettext(self, singular, plural, n):
        return ngettext(singular, plural, n)


def _clean_text(value):
    return strip_unprintable(value) if isinstance(value, str) else value


class PortalForm(FlaskForm):
    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            return _CatalogTranslations()

        def bind_field(self, form, unbound_field, options):
            filters = (*unbound_field.kwargs.get("filters", ()), _clean_text)
            return unbound_field.bind(form=form, filters=filters, **options)

    def show_errors(self, error: PortalError, renames: dict[str, str] | None = None) -> None:
        """Show a refused service call: each per-field message next to its field (field
        names mapped through ``renames``), the rest and a field-less message above the form."""
        renames = renames or {}
        fields = {renames.get(name, name): text for name, text in error.fields.items()} or {"": error.message}
        for name, message in fields.items():
            field = getattr(self, name, None)
            if field is not None and hasattr(field, "errors"):
                field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
            else:
                self.form_errors.append(message)
