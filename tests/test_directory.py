"""The principal directory in memory: a credential made a moment ago works at once, and
unknown ones cannot make it reload more than once a second."""

import asyncio
from uuid import uuid4

from handover_kit.directory import PrincipalDirectory
from handover_shared.auth import ApiKeyUsage, Directory, DirectoryMember, Role

ISSUER = "https://id.example.com"


class Source:
    """A directory that gains a member after the first load; each load waits for `opened`."""

    def __init__(self) -> None:
        self.loads = 0
        self.opened = asyncio.Event()
        self.opened.set()
        self.members: list[DirectoryMember] = []

    async def load(self) -> Directory:
        self.loads += 1
        await self.opened.wait()
        return Directory(members=list(self.members), api_keys=[])

    async def report_usage(self, usage: ApiKeyUsage) -> None:
        pass


def _member(subject: str) -> DirectoryMember:
    return DirectoryMember(
        id=uuid4(), issuer=ISSUER, subject=subject, organization_id=uuid4(), role=Role.ADMIN
    )


async def _loaded(source: Source) -> PrincipalDirectory:
    directory = PrincipalDirectory(source, refresh_seconds=60, max_staleness_seconds=300)
    await directory.refresh()
    return directory


async def test_a_new_members_requests_that_come_together_all_wait_for_the_one_reload() -> None:
    source = Source()
    directory = await _loaded(source)
    source.members.append(_member("new-lead"))
    source.opened.clear()
    first = asyncio.create_task(directory.member(ISSUER, "new-lead"))
    await asyncio.sleep(0.01)  # the first miss is reloading, held open
    second = asyncio.create_task(directory.member(ISSUER, "new-lead"))
    await asyncio.sleep(0.01)
    source.opened.set()
    found = await asyncio.gather(first, second)
    assert [member and member.subject for member in found] == ["new-lead", "new-lead"]
    assert source.loads == 2


async def test_unknown_credentials_reload_the_directory_at_most_once_a_second() -> None:
    source = Source()
    directory = await _loaded(source)
    for n in range(20):
        assert await directory.member(ISSUER, f"nobody-{n}") is None
        assert await directory.api_key(f"{n:064x}") is None
    assert source.loads == 2
