from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length

from app.forms import PortalForm
from app.schools.models import SchoolLevel


class SchoolCountsForm(PortalForm):
    """What a principal keeps up to date each year."""

    students = IntegerField(_l("Pupils"), validators=[InputRequired()], default=0)
    teachers = IntegerField(_l("Teachers"), validators=[InputRequired()], default=0)
    classes = IntegerField(_l("Classes"), validators=[InputRequired()], default=0)
    largest_class_size = IntegerField(_l("Pupils in the largest class"), validators=[InputRequired()], default=0,
                                      description=_l("Used to judge whether the computer lab is large enough."))


class SchoolForm(SchoolCountsForm):
    name = StringField(_l("School name"), validators=[DataRequired(), Length(max=200)])
    code = StringField(_l("School code"), validators=[DataRequired(), Length(max=32)],
                       description=_l("Unique short code, e.g. THCVA."))
    level = SelectField(_l("Level"))
    district_id = SelectField(_l("District"), coerce=int, validators=[InputRequired()])

    def __init__(self, *args, districts=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.level.choices = [SelectChoice(level.value, level.label) for level in SchoolLevel]
        self.district_id.choices = [SelectChoice(district.id, str(district)) for district in districts]


class DistrictForm(PortalForm):
    name = StringField(_l("District"), validators=[DataRequired(), Length(max=120)])
    province = StringField(_l("Province"), validators=[DataRequired(), Length(max=120)])
