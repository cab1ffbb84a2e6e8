import sys

from handover_kit.cli import run
from handover_kpi.config import Settings
from handover_kpi.db import MIGRATIONS


def main() -> None:
    sys.exit(run("kpi", Settings, MIGRATIONS, "handover_kpi.main:create_app"))


if __name__ == "__main__":
    main()
