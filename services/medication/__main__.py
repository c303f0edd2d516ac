"""`python -m services.medication migrate` brings the configured database to the latest schema."""

from services.kernel.migrations import migrate_command
from services.medication.app import MIGRATIONS
from services.medication.settings import MedicationSettings

if __name__ == "__main__":
    migrate_command("medication", MIGRATIONS, MedicationSettings().database_url)
