"""`python -m services.demographics migrate` brings the configured database to the latest schema."""

from services.demographics.app import MIGRATIONS
from services.demographics.settings import DemographicsSettings
from services.kernel.migrations import migrate_command

if __name__ == "__main__":
    migrate_command("demographics", MIGRATIONS, DemographicsSettings().database_url)
