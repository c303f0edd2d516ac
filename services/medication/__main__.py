"""`python -m services.medication migrate` brings the configured database to the latest schema."""

from services.kernel.clinical_app import migrate_main
from services.medication.app import MIGRATIONS
from services.medication.settings import MedicationSettings

if __name__ == "__main__":
    migrate_main("medication", MedicationSettings(), MIGRATIONS)
