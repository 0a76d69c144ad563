"""What audit entries read as on the audit log page and in its export: each action and
each kind of object in words. An action missing here shows as its code."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

ACTION_LABELS = {
    # Signing in and refusals
    "user.signed_in": _l("Signed in"),
    "user.sign_in_failed": _l("Sign-in refused"),
    "user.signed_out": _l("Signed out"),
    "access.refused": _l("Access refused"),
    # Accounts and tokens
    "user.created": _l("Created an account"),
    "user.updated": _l("Changed an account"),
    "user.password_reset": _l("Set an account's password"),
    "user.password_changed": _l("Changed their own password"),
    "token.issued": _l("Issued an API token"),
    "token.revoked": _l("Revoked an API token"),
    # Schools and districts
    "school.created": _l("Created the school"),
    "school.updated": _l("Changed the school's details"),
    "school.year_started": _l("Started a school year"),
    "district.created": _l("Created a district"),
    "district.updated": _l("Changed a district"),
    "framework.loaded": _l("Loaded an index file"),
    # The inventory
    "inventory.imported": _l("Imported the inventory from a file"),
    "rooms.created": _l("Added a room"),
    "rooms.updated": _l("Changed a room"),
    "rooms.deleted": _l("Deleted a room"),
    "rooms.restored": _l("Restored a room"),
    "equipment.created": _l("Added equipment"),
    "equipment.updated": _l("Changed equipment"),
    "equipment.deleted": _l("Deleted equipment"),
    "equipment.restored": _l("Restored equipment"),
    "network-lines.created": _l("Added an Internet line"),
    "network-lines.updated": _l("Changed an Internet line"),
    "network-lines.deleted": _l("Deleted an Internet line"),
    "network-lines.restored": _l("Restored an Internet line"),
    "software.created": _l("Added software"),
    "software.updated": _l("Changed software"),
    "software.deleted": _l("Deleted software"),
    "software.restored": _l("Restored software"),
    "materials.created": _l("Added a learning material"),
    "materials.updated": _l("Changed a learning material"),
    "materials.deleted": _l("Deleted a learning material"),
    "materials.restored": _l("Restored a learning material"),
    "staff.created": _l("Added a staff member"),
    "staff.updated": _l("Changed a staff member"),
    "staff.deleted": _l("Deleted a staff member"),
    "staff.restored": _l("Restored a staff member"),
    # Evidence
    "evidence.created": _l("Added evidence"),
    "evidence.updated": _l("Changed evidence details"),
    "evidence.file_added": _l("Added a new version of an evidence file"),
    "evidence.removed": _l("Deleted an evidence document"),
    "evidence.restored": _l("Restored evidence"),
    "evidence.linked": _l("Linked evidence to a criterion"),
    "evidence.unlinked": _l("Unlinked evidence from a criterion"),
    "evidence.reviewed": _l("Reviewed evidence"),
    "evidence.records_changed": _l("Inventory records it concerns changed"),
    "evidence.carried_over": _l("Carried evidence over from the previous school year"),
    "package.downloaded": _l("Downloaded the sealed evidence package"),
    # The self-assessment of a school year
    "assessment.start_review": _l("Started the review of the self-assessment"),
    "assessment.submit": _l("Submitted the self-assessment for approval"),
    "assessment.send_back": _l("Sent the self-assessment back to review"),
    "assessment.approve": _l("Approved and sealed the self-assessment"),
    "assessment.reopen": _l("Reopened the self-assessment"),
    "assessment.evaluate": _l("Evaluated the self-assessment (district office)"),
    "assessment.recognise": _l("Recognised the levels (district office)"),
    # The planner
    "plan.created": _l("Saved a plan"),
    "plan.updated": _l("Changed a plan"),
    "plan.deleted": _l("Deleted a plan"),
    "unit_prices.changed": _l("Changed unit prices"),
}

OBJECT_LABELS = {
    "School": _l("School"),
    "District": _l("District"),
    "User": _l("Account"),
    "ApiToken": _l("API token"),
    "StoredFramework": _l("Index file"),
    "Room": _l("Room"),
    "Equipment": _l("Equipment"),
    "NetworkLine": _l("Internet line"),
    "Software": _l("Software"),
    "Material": _l("Learning material"),
    "StaffMember": _l("Staff member"),
    "EvidenceDocument": _l("Evidence"),
    "Assessment": _l("Self-assessment"),
    "SealedResult": _l("Sealed result"),
    "Plan": _l("Plan"),
}


def action_label(action: str) -> str:
    return str(ACTION_LABELS[action]) if action in ACTION_LABELS else action


def object_label(object_type: str) -> str:
    return str(OBJECT_LABELS[object_type]) if object_type in OBJECT_LABELS else object_type
