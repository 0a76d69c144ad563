"""Language and formats: Vietnamese by default, English on request; dd/mm/yyyy dates and
VND amounts in both."""

from __future__ import annotations

import functools
from datetime import date, datetime

from babel import Locale
from babel.numbers import parse_pattern
from flask import current_app, has_request_context, session
from flask_babel import format_decimal, get_locale, to_user_timezone
from flask_babel import lazy_gettext as _l
from flask_login import current_user

NUMBER_PATTERN = parse_pattern("#,##0.#")


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    if not has_request_context():  # command line: the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    for candidate in (getattr(current_user, "locale", None), session.get("locale")):
        if candidate in languages:
            return candidate
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def format_day(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = to_user_timezone(value)
    return value.strftime("%d/%m/%Y")


def format_moment(value: datetime | None) -> str:
    if value is None:
        return ""
    return to_user_timezone(value).strftime("%d/%m/%Y %H:%M")


def format_vnd(amount: int | None) -> str:
    if amount is None:
        return ""
    return f"{format_decimal(amount, format='#,##0')} ₫"


def format_number(value: int | float | None) -> str:
    """A number in the user's locale (Vietnamese: 1.234,5); whole numbers without decimals."""
    if value is None:
        return ""
    return _formatted(value, str(get_locale()))


@functools.lru_cache(maxsize=4096)
def _formatted(value: int | float, locale: str) -> str:
    """Pages show the same few points hundreds of times (a district's heat map): each is
    formatted once per language, with the pattern parsed once."""
    return NUMBER_PATTERN.apply(value, Locale.parse(locale))


def register(app) -> None:
    app.jinja_env.filters.update(day=format_day, moment=format_moment, vnd=format_vnd, number=format_number)
    app.jinja_env.globals.update(get_locale=get_locale)


# WTForms' own messages (it ships no Vietnamese); listed so extraction keeps them in our catalog.
WTFORMS_MESSAGES = [
    _l("This field is required."),
    _l("Not a valid integer value."),
    _l("Not a valid decimal value."),
    _l("Not a valid float value."),
    _l("Not a valid date value."),
    _l("Not a valid choice."),
    _l("Invalid Choice: could not coerce."),
    _l("The CSRF token is missing."),
    _l("The CSRF token is invalid."),
    _l("The CSRF token has expired."),
    _l("The CSRF session token is missing."),
    _l("The CSRF tokens do not match."),
]
