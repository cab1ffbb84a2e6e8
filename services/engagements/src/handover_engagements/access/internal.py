"""What the other services ask about principals. Reachable with a service token only."""

from fastapi import APIRouter, status

from handover_engagements.access.router import Service
from handover_kit.auth import ServiceCaller
from handover_kit.directory import DIRECTORY_PATH, USAGE_PATH
from handover_shared.auth import ApiKeyUsage, Directory

router = APIRouter(tags=["internal"], include_in_schema=False, dependencies=[ServiceCaller])


@router.get(DIRECTORY_PATH)
async def get_directory(service: Service) -> Directory:
    return await service.directory()


@router.post(USAGE_PATH, status_code=status.HTTP_204_NO_CONTENT)
async def record_api_key_usage(usage: ApiKeyUsage, service: Service) -> None:
    await service.record_use(usage)
