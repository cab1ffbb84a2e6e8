from handover_engagements.access import models as _access  # noqa: F401 - registers tables
from handover_engagements.db import Table
from handover_engagements.engagements import models as _engagements  # noqa: F401
from handover_engagements.organizations import models as _organizations  # noqa: F401
from handover_kit.migrations import run_env

run_env(Table.metadata)
