"""Pages' forms for evidence documents. They render and carry CSRF; the values are checked
by the same schema as the API (app.evidence.services.validated)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired, MultipleFileField
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional
from wtforms.widgets import TextInput

from app.evidence.models import DocType
from app.forms import PortalForm
from app.inventory.forms import CheckboxListField, options

DAY_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d")


class DayField(DateField):
    """A date typed as dd/mm/yyyy in a text box (also 16-02-2023, 16.02.2023 or ISO), shown
    back as dd/mm/yyyy whatever the browser's language."""

    widget = TextInput()

    def __init__(self, label=None, validators=None, **kwargs):
        super().__init__(label, validators, format=list(DAY_FORMATS), **kwargs)

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        return self.data.strftime("%d/%m/%Y") if self.data else ""

    def process_formdata(self, valuelist):
        if not valuelist or not "".join(valuelist).strip():
            self.data = None
            return
        text = " ".join(valuelist).strip()
        for day_format in DAY_FORMATS:
            try:
                self.data = datetime.strptime(text, day_format).date()
                return
            except ValueError:
                continue
        self.data = None
        raise ValueError(str(_l("Enter a date as dd/mm/yyyy, e.g. 16/02/2023.")))


class EvidenceForm(PortalForm):
    """A document's details: what DocumentSchema takes, typed on a page."""

    NOT_DOCUMENT_FIELDS = frozenset({"csrf_token", "version", "file", "criteria"})

    # The version of the document the form was filled from: a save based on an older one
    # is refused with what changed meanwhile.
    version = HiddenField()
    title = StringField(_l("Evidence title"), description=_l("e.g. Quyết định thành lập Ban chỉ đạo chuyển đổi số"))
    doc_type = SelectField(_l("Type"), choices=options(DocType), default=DocType.OTHER.value)
    number = StringField(_l("Number"), description=_l("As written on the document, e.g. 11/QĐ-THCVA."))
    issued_on = DayField(_l("Issued on"), validators=[Optional()], description=_l("dd/mm/yyyy"))
    issuer = StringField(_l("Issued by"), description=_l("e.g. Trường THCS Chu Văn An"))
    description = TextAreaField(_l("Description"))
    url = StringField(_l("Address (link)"), description=_l("For evidence that is a web page: https://…"))
    criteria = CheckboxListField(_l("Criteria it proves"), choices=[], validate_choice=False)

    ORDER = ("title", "url", "doc_type", "number", "issued_on", "issuer", "description")

    def detail_fields(self) -> list:
        """The form's fields of a document's details, in the order people fill them."""
        return [self._fields[name] for name in self.ORDER if name in self._fields]

    def document_data(self, with_criteria: bool = True) -> dict:
        """The submitted values as DocumentSchema expects them (dates as ISO text, absent
        text as ""); ``criteria`` too unless ``with_criteria`` is off."""
        data = {}
        for name, field in self._fields.items():
            if name in self.NOT_DOCUMENT_FIELDS:
                continue
            value = field.data
            if isinstance(field, DateField):
                value = value.isoformat() if value else None
            elif isinstance(field, StringField):
                value = value or ""
            data[name] = value
        if with_criteria and "criteria" in self._fields:
            data["criteria"] = [code for code in (self.criteria.data or []) if code]
        return data


class EditEvidenceForm(EvidenceForm):
    """The record page's form: the details only (links have their own forms)."""

    title = StringField(_l("Evidence title"), validators=[DataRequired(_l("Enter the title."))])
    criteria = None


# The types a document with a file can be: a link is evidence without one (its own form).
def _file_types():
    return [choice for choice in options(DocType)() if choice.value != DocType.LINK.value]


class CardForm(EvidenceForm):
    """The details of one uploaded file on the upload page, with its criteria."""

    title = StringField(_l("Evidence title"), validators=[DataRequired(_l("Enter the title."))])
    doc_type = SelectField(_l("Type"), choices=_file_types, default=DocType.OTHER.value)
    url = None


class UploadForm(EvidenceForm):
    """The upload page without JavaScript: one document, its files, details and criteria."""

    file = MultipleFileField(_l("Files"))
    doc_type = SelectField(_l("Type"), choices=_file_types, default=DocType.OTHER.value)
    url = None


class LinkEvidenceForm(EvidenceForm):
    """Evidence that is a web page (a portal, a public page of the school): no file."""

    title = StringField(_l("Evidence title"), validators=[DataRequired(_l("Enter the title."))],
                        description=_l("e.g. Trang tuyển sinh trực tuyến của trường"))
    url = StringField(_l("Address (link)"), validators=[DataRequired(_l("Enter the address (https://…)."))],
                      description=_l("The full address, starting with https://"))
    doc_type = None


class CriterionForm(PortalForm):
    """A criterion or sub-item to link (the service checks the code)."""

    criterion = SelectField(_l("Criterion"), validate_choice=False,
                            validators=[DataRequired(_l("Choose a criterion."))])


class ReviewForm(PortalForm):
    """A reviewer's decision on one link, and why (required to reject)."""

    decision = StringField()  # the button pressed: accepted or rejected (the service checks it)
    comment = TextAreaField(_l("Comment"), description=_l("Required to reject: say what to fix."))
    version = HiddenField()


class FileForm(PortalForm):
    """A new version of a document's file."""

    file = FileField(_l("New version"), validators=[FileRequired(_l("Choose a file."))])
