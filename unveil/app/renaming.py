"""The Family page's rename form, without Streamlit: a member's name mistyped at enrolment, or one that changed
(marriage, a nickname), corrected without erasing them, as `unveil family rename` does (governance.family.rename:
one audit-logged transaction, their consent restated under the new name)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from governance import family

if TYPE_CHECKING:
    from fer_core.store import FamilyStore
    from governance.family import Member

RENAME_TITLE = "Correct or change a member's name"
# What stays with them, and what does not change: a kept result is the rows as they were kept, names included.
RENAME_HOW = ("For a name mistyped at enrolment, or one that changed. The member keeps their face prints, their "
              "consent (restated under the new name) and the results kept that name them; results kept before "
              "show the name they were kept with.")
NEW_NAME = "New name"
RENAME_BUTTON = "Rename {name}"
ENTER_NEW_NAME = "Enter the member's new name."
RENAMED = "{before} is now {name}."
CONSENT_RESTATED = " Their consent is kept, restated under the new name."


def rename(store: FamilyStore, member: Member, name: str) -> str:
    """Rename `member` (governance.family.rename, by their id) and say so: RENAMED, then CONSENT_RESTATED when they
    have a consent record. PersonNameError for a name enrolment refuses, RenameError for another member's name or
    their own, PersonNotFoundError when they were erased meanwhile; nothing is changed then."""
    done = family.rename(store, member.person_id, name)
    return RENAMED.format(before=done.before, name=done.name) + (CONSENT_RESTATED if done.consent_restated else "")
