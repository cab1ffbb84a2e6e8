from handover_kit.migrations import run_env
from handover_kpi.db import Table
from handover_kpi.hiring import models as _hiring  # noqa: F401 - registers tables
from handover_kpi.metrics import models as _metrics  # noqa: F401 - registers tables
from handover_kpi.points import models as _points  # noqa: F401 - registers tables
from handover_kpi.targets import models as _targets  # noqa: F401 - registers tables

run_env(Table.metadata)
