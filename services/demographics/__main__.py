"""`python -m services.demographics migrate` brings the configured database to the latest schema."""

from __future__ import annotations

import argparse

from services.demographics.app import MIGRATIONS
from services.demographics.settings import DemographicsSettings
from services.kernel.migrations import upgrade


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.demographics")
    parser.add_argument("command", choices=["migrate"])
    parser.parse_args()
    settings = DemographicsSettings()
    upgrade(MIGRATIONS, settings.database_url)
    print(f"demographics: {settings.database_url} is at the latest schema")


if __name__ == "__main__":
    main()
