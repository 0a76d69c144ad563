"""Every piece of interface text has a Vietnamese translation that keeps its placeholders."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOG = ROOT / "app" / "translations" / "vi" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")


def test_every_interface_text_is_translated_to_vietnamese(tmp_path):
    template = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run([str(pybabel), "-q", "extract", "-F", "babel.cfg", "-k", "_l",
                    "-k", "lazy_gettext", "-o", str(template), "--no-location", "."],
                   cwd=ROOT, check=True)
    with template.open("rb") as handle:
        wanted = {message.id for message in read_po(handle) if message.id}
    with CATALOG.open("rb") as handle:
        catalog = read_po(handle)
    translated = {message.id: message.string for message in catalog
                  if message.id and message.string and not message.fuzzy}
    assert sorted(wanted - translated.keys()) == []
    for msgid, text in translated.items():
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(text)), msgid
