from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from app.forms import PortalForm


class LoginForm(PortalForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email.")), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password.")),
                                                         Length(max=1000)])
    next = HiddenField()


class ChangePasswordForm(PortalForm):
    current_password = PasswordField(_l("Current password"),
                                     validators=[DataRequired(_l("Enter your current password."))])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(_l("Enter the new password."))],
                                 description=_l("At least 8 characters and hard to guess: a few unrelated words, "
                                                "not a name, an email or the school's name."))
    confirm = PasswordField(_l("New password again"),
                            validators=[DataRequired(_l("Enter the new password again.")),
                                        EqualTo("new_password", _l("The two passwords differ."))])


class SetPasswordForm(PortalForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(_l("Enter the new password."))],
                             description=_l("At least 8 characters and hard to guess: a few unrelated words, "
                                            "not a name, an email or the school's name."))


class TokenForm(PortalForm):
    name = StringField(_l("What is the token for?"),
                       validators=[DataRequired(_l("Say what the token is for.")), Length(max=100)],
                       description=_l("e.g. district dashboard script"))


class UserForm(PortalForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(_l("Enter the full name.")), Length(max=200)])
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter the email.")), Length(max=254)])
    role = SelectField(_l("Role"))
    school_id = SelectField(_l("School"), coerce=int, validators=[Optional()])
    district_id = SelectField(_l("District"), coerce=int, validators=[Optional()])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter a password."))],
                             description=_l("At least 8 characters and hard to guess (not the person's name, "
                                            "email or school). Give it to the person privately."))
    active = BooleanField(_l("Account active"), default=True)

    def __init__(self, *args, roles=(), schools=(), districts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.role.choices = [SelectChoice(role.value, role.label) for role in roles]
        none = SelectChoice(0, "—")
        self.school_id.choices = [none, *(SelectChoice(school.id, f"{school.name} ({school.code})")
                                          for school in schools)]
        self.district_id.choices = [none, *(SelectChoice(district.id, str(district)) for district in districts)]
