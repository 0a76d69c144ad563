"""The base of every HTML form: CSRF (Flask-WTF), messages in the user's language,
typed text cleaned of characters the database cannot keep, and service errors shown
next to their fields."""

from __future__ import annotations

from functools import cache

from flask_babel import get_translations
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField
from wtforms.fields.core import UnboundField

from app.errors import PortalError
from app.security import strip_unprintable

# WTForms' built-in messages in the portal's words (WTForms ships no Vietnamese). Each
# keeps WTForms' placeholders, which WTForms fills in itself. Forms give a message of
# their own where the field deserves one ("Enter the room's name").
WTFORMS_MESSAGES = {
    "This field is required.": _l("Please fill in this item."),
    "Not a valid choice.": _l("Choose one of the list."),
    "Invalid Choice: could not coerce.": _l("Choose one of the list."),
    "Invalid choice(s): one or more data inputs could not be coerced.": _l("Choose one of the list."),
    "'%(value)s' is not a valid choice for this field.": _l("'%(value)s' is not one of the list."),
    "'%(value)s' are not valid choices for this field.": _l("'%(value)s' is not one of the list."),
    "Not a valid integer value.": _l("Enter a whole number."),
    "Not a valid float value.": _l("Enter a number."),
    "Not a valid decimal value.": _l("Enter a number."),
    "Not a valid date value.": _l("Enter a date as dd/mm/yyyy."),
    "Not a valid datetime value.": _l("Enter a date as dd/mm/yyyy."),
    "Number must be at least %(min)s.": _l("Enter a number of at least %(min)s."),
    "Number must be at most %(max)s.": _l("Enter a number of at most %(max)s."),
    "Number must be between %(min)s and %(max)s.": _l("Enter a number from %(min)s to %(max)s."),
    "Field cannot be longer than %(max)d character.": _l("At most %(max)d characters."),
    "Field cannot be longer than %(max)d characters.": _l("At most %(max)d characters."),
    "Field must be at least %(min)d character long.": _l("At least %(min)d characters."),
    "Field must be at least %(min)d characters long.": _l("At least %(min)d characters."),
    "Field must be between %(min)d and %(max)d characters long.": _l("From %(min)d to %(max)d characters."),
    "Invalid email address.": _l("Enter a valid email address, e.g. ten@truong.edu.vn."),
    "Invalid value, must be one of: %(values)s.": _l("Choose one of: %(values)s."),
    "Invalid value, can't be any of: %(values)s.": _l("This value is not allowed."),
    "Invalid input.": _l("This value is not valid."),
    "Invalid URL.": _l("Enter a link starting with http:// or https://."),
}


class _CatalogTranslations:
    """WTForms' messages in the user's language. The text is returned unformatted:
    WTForms fills in its own placeholders (``%(max)d``…), which Flask-Babel's gettext
    functions would try to fill with ``num`` alone, and fail."""

    def gettext(self, string):
        message = WTFORMS_MESSAGES.get(string)
        return str(message) if message is not None else get_translations().ugettext(string)

    def ngettext(self, singular, plural, n):
        message = WTFORMS_MESSAGES.get(singular if n == 1 else plural)
        return str(message) if message is not None else get_translations().ungettext(singular, plural, n)


def _clean_text(value):
    return strip_unprintable(value) if isinstance(value, str) else value


LARGEST_WHOLE_NUMBER = 2**63 - 1  # the largest any database column here holds


class _BoundedInteger:
    """Mixed into every IntegerField of a PortalForm: a number no column can hold is
    refused like one mistyped (the database, or WTForms' NumberRange, which turns it into
    a float, would fail on it instead)."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and abs(self.data) > LARGEST_WHOLE_NUMBER:
            self.data = None
            raise ValueError(_("The number is too large."))


@cache
def _bounded(field_class: type) -> type:
    return type(field_class.__name__, (_BoundedInteger, field_class), {})


class PortalForm(FlaskForm):
    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            return _CatalogTranslations()

        def bind_field(self, form, unbound_field, options):
            filters = (*unbound_field.kwargs.get("filters", ()), _clean_text)
            if issubclass(unbound_field.field_class, IntegerField):
                unbound_field = UnboundField(_bounded(unbound_field.field_class), *unbound_field.args,
                                             name=unbound_field.name, **unbound_field.kwargs)
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
