from handover_kit.migrations import run_env
from handover_talent.db import Table
from handover_talent.requisitions import models as _requisitions  # noqa: F401 - registers tables

run_env(Table.metadata)
