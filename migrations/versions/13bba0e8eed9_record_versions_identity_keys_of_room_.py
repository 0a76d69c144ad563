"""Record versions, identity keys of room names and asset tags, asset tag counters; unknown line figures; staff in Vietnamese order

Revision ID: 13bba0e8eed9
Revises: ec8f2fd3ad3f
Create Date: 2026-12-02 04:51:29.448529

"""
import re
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '13bba0e8eed9'
down_revision = 'ec8f2fd3ad3f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('asset_tag_counters',
    sa.Column('school_id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['school_id'], ['schools.id'], name=op.f('fk_asset_tag_counters_school_id_schools'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('school_id', 'prefix', name=op.f('pk_asset_tag_counters'))
    )
    for table in ('equipment', 'materials', 'network_lines', 'rooms', 'software', 'staff_members'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
            if table in KEYS:
                key, _field, length = KEYS[table]
                batch_op.add_column(sa.Column(key, sa.String(length=length), nullable=True))

    for table, (key, field, length) in KEYS.items():
        fill_keys(table, key, field, length)

    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('name_sort', sa.Text(), nullable=False, server_default=''))
    connection = op.get_bind()
    names = connection.execute(sa.text("SELECT id, full_name FROM staff_members")).all()
    if names:
        connection.execute(sa.text("UPDATE staff_members SET name_sort = :key WHERE id = :id"),
                           [{"id": row_id, "key": sort_key(name or "")} for row_id, name in names])

    with op.batch_alter_table('equipment', schema=None, **never_reused_ids()) as batch_op:
        batch_op.alter_column('asset_tag_key', existing_type=sa.String(length=40), nullable=False)
        batch_op.drop_constraint(batch_op.f('uq_equipment_school_id_asset_tag'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_equipment_school_id_asset_tag_key'), ['school_id', 'asset_tag_key'])

    # An Internet line's speeds and cost may be unknown: empty, not 0.
    with op.batch_alter_table('network_lines', schema=None, **never_reused_ids()) as batch_op:
        for column, kind in LINE_FIGURES.items():
            batch_op.alter_column(column, existing_type=kind, nullable=True)

    with op.batch_alter_table('rooms', schema=None, **never_reused_ids()) as batch_op:
        batch_op.alter_column('name_key', existing_type=sa.String(length=120), nullable=False)
        batch_op.drop_constraint(batch_op.f('uq_rooms_school_id_name'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_rooms_school_id_name_key'), ['school_id', 'name_key'])


def never_reused_ids() -> dict:
    """On SQLite a rebuilt table keeps AUTOINCREMENT (see revision 62fcd9f5aa71)."""
    if op.get_bind().dialect.name == "sqlite":
        return {"recreate": "always", "table_kwargs": {"sqlite_autoincrement": True}}
    return {}


LINE_FIGURES = {'download_mbps': sa.Float(), 'upload_mbps': sa.Float(), 'monthly_cost_vnd': sa.BigInteger()}

# The identity key columns, and app.text.identity_key as of this revision.
KEYS = {"equipment": ("asset_tag_key", "asset_tag", 40), "rooms": ("name_key", "name", 120)}
INVISIBLE_MARKS = re.compile("[\ufe00-\ufe0f\U000e0100-\U000e01ef\u034f]")


def clean(text):
    shown = INVISIBLE_MARKS.sub("", unicodedata.normalize("NFC", text))
    return " ".join("".join(char for char in shown if unicodedata.category(char) != "Cf").split())


def identity_key(text):
    return unicodedata.normalize("NFKC", clean(text)).casefold()


# app.text.sort_key as of this revision.
ALPHABET = "aăâbcdđeêfghijklmnoôơpqrstuưvwxyz"
TONES = {"": 0, "\u0300": 1, "\u0309": 2, "\u0303": 3, "\u0301": 4, "\u0323": 5}
LETTER_MARKS = {"\u0306", "\u0302", "\u031b"}


def sort_key(text):
    letters, tones = [], []
    for char in clean(text).casefold():
        parts = unicodedata.normalize("NFD", char)
        base = unicodedata.normalize("NFC", parts[0] + "".join(mark for mark in parts[1:] if mark in LETTER_MARKS))
        tone = next((TONES[mark] for mark in parts[1:] if mark in TONES), 0)
        if base in ALPHABET:
            letters.append(0x40 + ALPHABET.index(base))
        elif base.isascii() and base.isdigit():
            letters.append(0x10 + int(base))
        else:
            letters.append(0x01 if base == " " else 0x0F)
        tones.append(tone)
    return "".join(f"{code:02x}" for code in letters) + "00" + "".join(str(tone) for tone in tones)


def fill_keys(table, key, field, length):
    """Each row's key, cut to the column's ``length`` (folding may lengthen text); rows
    of one school whose values already look alike keep them (a person tells them apart
    later), their key marked with the row's id to stay unique."""
    connection = op.get_bind()
    rows = connection.execute(sa.text(f"SELECT id, school_id, {field} FROM {table} ORDER BY id")).all()
    seen = set()
    values = []
    for row_id, school_id, value in rows:
        key_value = identity_key(value or "")[:length]
        if (school_id, key_value) in seen:
            mark = f"#{row_id}"
            key_value = key_value[:length - len(mark)] + mark
        seen.add((school_id, key_value))
        values.append({"id": row_id, "key": key_value})
    if values:
        connection.execute(sa.text(f"UPDATE {table} SET {key} = :key WHERE id = :id"), values)


def downgrade():
    with op.batch_alter_table('staff_members', schema=None) as batch_op:
        batch_op.drop_column('name_sort')
        batch_op.drop_column('version')

    with op.batch_alter_table('software', schema=None) as batch_op:
        batch_op.drop_column('version')

    with op.batch_alter_table('rooms', schema=None, **never_reused_ids()) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_rooms_school_id_name_key'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_rooms_school_id_name'), ['school_id', 'name'])
        batch_op.drop_column('version')
        batch_op.drop_column('name_key')

    for column in LINE_FIGURES:
        op.execute(f"UPDATE network_lines SET {column} = 0 WHERE {column} IS NULL")
    with op.batch_alter_table('network_lines', schema=None, **never_reused_ids()) as batch_op:
        for column, kind in LINE_FIGURES.items():
            batch_op.alter_column(column, existing_type=kind, nullable=False)
        batch_op.drop_column('version')

    with op.batch_alter_table('materials', schema=None) as batch_op:
        batch_op.drop_column('version')

    with op.batch_alter_table('equipment', schema=None, **never_reused_ids()) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_equipment_school_id_asset_tag_key'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_equipment_school_id_asset_tag'), ['school_id', 'asset_tag'])
        batch_op.drop_column('version')
        batch_op.drop_column('asset_tag_key')

    op.drop_table('asset_tag_counters')
