"""Marshmallow's default validation messages, made translatable (marshmallow has no
Vietnamese): lazy strings are formatted in the request, in the user's language."""

from __future__ import annotations

import marshmallow as ma
from flask_babel import lazy_gettext as _l

_FIELD_MESSAGES = {
    ma.fields.Field: {
        "required": _l("This field is required."),
        "null": _l("This field may not be empty."),
        "validator_failed": _l("Invalid value."),
    },
    ma.fields.String: {"invalid": _l("Must be text.")},
    ma.fields.Integer: {"invalid": _l("Must be a whole number."), "too_large": _l("The number is too large.")},
    ma.fields.Number: {"invalid": _l("Must be a number."), "too_large": _l("The number is too large.")},
    ma.fields.Boolean: {"invalid": _l("Must be true or false.")},
    ma.fields.Email: {"invalid": _l("Enter a valid email address.")},
    ma.fields.Date: {"invalid": _l("Must be a date in the form YYYY-MM-DD."),
                     "format": _l("Must be a date in the form YYYY-MM-DD.")},
    ma.fields.Enum: {"unknown": _l("Must be one of: {choices}.")},
    ma.fields.List: {"invalid": _l("Must be a list.")},
    ma.fields.Nested: {"type": _l("Must be an object.")},
}

for field_class, messages in _FIELD_MESSAGES.items():
    field_class.default_error_messages = {**field_class.default_error_messages, **messages}

ma.Schema._default_error_messages = {
    **ma.Schema._default_error_messages,
    "type": _l("The request body must be a JSON object."),
    "unknown": _l("Unknown field."),
}

_make_error = ma.fields.Field.make_error


def _make_translated_error(self, key: str, **kwargs) -> ma.ValidationError:
    """marshmallow fills ``{choices}`` and the like only into plain strings: a lazy
    (translated) message is rendered in the request's language first."""
    message = self.error_messages.get(key)
    if kwargs and message is not None and not isinstance(message, str | bytes):
        return ma.ValidationError(str(message).format(**kwargs))
    return _make_error(self, key, **kwargs)


ma.fields.Field.make_error = _make_translated_error

ma.validate.OneOf.default_message = _l("Must be one of: {choices}.")


class Range(ma.validate.Range):
    """Inclusive range with a message translated when it is raised."""

    def _format_error(self, value, message) -> str:
        if self.min is not None and self.max is not None:
            text = _l("Must be between {min} and {max}.")
        elif self.min is not None:
            text = _l("Must be at least {min}.")
        else:
            text = _l("Must be at most {max}.")
        return str(self.error or text).format(input=value, min=self.min, max=self.max)


class Length(ma.validate.Length):
    """Length bounds with a message translated when it is raised."""

    def _format_error(self, value, message) -> str:
        if self.min is not None and self.max is not None:
            text = _l("Must have between {min} and {max} characters.")
        elif self.min is not None:
            text = _l("Must have at least {min} characters.")
        else:
            text = _l("Must have at most {max} characters.")
        return str(self.error or text).format(input=value, min=self.min, max=self.max)
