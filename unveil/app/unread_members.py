"""What the Family page says of members who cannot be read (a damaged row, a destroyed key). governance.family.members
leaves them out, so a page that only listed it would drop them silently: the household would take them for not
stored, and find no way to erase them. Said as `unveil family list` says it (unveil.cli.family.MEMBERS_NOT_READ), with
what to do; damage is never a reason to delete or change anything."""
from __future__ import annotations

from collections.abc import Sized

from fer_core.store import FamilyStore

MEMBERS_NOT_READ = ("{count} member(s) could not be read (damaged, or their key destroyed), so they are not listed "
                    "here; nothing was deleted. `unveil family check` lists them by id, and `unveil family purge ID` "
                    "still erases one. To get them back, restore the store from a backup made before the damage, with "
                    "every Unveil program closed (README, \"Backing up, restoring, moving to a new computer\").")


def unread_count(store: FamilyStore, members: Sized) -> int:
    """How many of those enrolled in `store` are not in `members` (governance.family.members(store)): their ids are
    stored in the clear (random, they say nothing), so they are counted even when nothing else of them can be read."""
    # Not below 0: someone enrolled in another session between the two reads.
    return max(0, len(store.person_ids()) - len(members))
