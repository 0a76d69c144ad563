"""The base of every HTML form: CSRF (Flask-WTF), messages in the user's language, and
service errors shown next to their fields."""

from __future__ import annotations

from flask_babel import gettext, ngettext
from flask_wtf import FlaskForm


class _CatalogTranslations:
    """WTForms' own messages through the portal's catalog (WTForms ships no Vietnamese)."""

    def gettext(self, string):
        return gettext(string)

    def ngettext(self, singular, plural, n):
        return ngettext(singular, plural, n)


class PortalForm(FlaskForm):
    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            return _CatalogTranslations()

    def show_errors(self, fields: dict[str, str]) -> None:
        """Attach a service's per-field messages to the matching fields (others to the form)."""
        for name, message in fields.items():
            field = getattr(self, name, None)
            if field is not None and hasattr(field, "errors"):
                field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
            else:
                self.form_errors.append(message)
