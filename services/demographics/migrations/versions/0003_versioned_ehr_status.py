"""EHR_STATUS becomes a versioned object in the store (VERSIONED_EHR_STATUS); the EHR row points at it.

Each EHR's stored EHR_STATUS becomes version 1 of its versioned object, with the uid it already had
and the EHR's creation time, so ETags and uids handed out before stay valid. The `ehr_status`
column goes: the store holds every version, the latest included.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

import uuid

import sqlalchemy as sa
from alembic import op

from services.kernel.schema import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The tables as this revision knows them (frozen here: later schema changes must not change it).
ehr = sa.table(
    "ehr",
    sa.column("ehr_id", sa.String),
    sa.column("system_id", sa.String),
    sa.column("time_created", UtcDateTime()),
    sa.column("ehr_status", sa.JSON),
    sa.column("ehr_status_id", sa.String),
)
versioned_object = sa.table(
    "versioned_object", sa.column("id", sa.String), sa.column("ehr_id", sa.String),
    sa.column("time_created", UtcDateTime()),
)  # fmt: skip
contribution = sa.table(
    "contribution", sa.column("id", sa.String), sa.column("time_committed", UtcDateTime()),
    sa.column("committer_name", sa.String), sa.column("committer_hsa_id", sa.String),
    sa.column("change_type", sa.String),
)  # fmt: skip
original_version = sa.table(
    "original_version", sa.column("object_id", sa.String), sa.column("version", sa.Integer),
    sa.column("system_id", sa.String), sa.column("contribution_id", sa.String),
    sa.column("time_committed", UtcDateTime()), sa.column("committer_name", sa.String),
    sa.column("committer_hsa_id", sa.String), sa.column("change_type", sa.String),
    sa.column("lifecycle_state", sa.String), sa.column("template_id", sa.String), sa.column("data", sa.JSON),
)  # fmt: skip


def _first_version(row: sa.Row) -> tuple[str, str, dict]:
    """(object id, system id, data) of an EHR's stored EHR_STATUS as its first version."""
    data = dict(row.ehr_status)
    uid = (data.pop("uid", None) or {}).get("value", "")
    object_id, _, rest = uid.partition("::")
    system_id = rest.rpartition("::")[0]
    try:
        return str(uuid.UUID(object_id)), system_id or row.system_id, data
    except ValueError:  # no uid of ours: the status gets one now
        return str(uuid.uuid4()), row.system_id, data


def upgrade() -> None:
    op.add_column("ehr", sa.Column("ehr_status_id", sa.String(36), nullable=True))
    connection = op.get_bind()
    for row in connection.execute(sa.select(ehr.c.ehr_id, ehr.c.system_id, ehr.c.time_created, ehr.c.ehr_status)):
        object_id, system_id, data = _first_version(row)
        connection.execute(ehr.update().where(ehr.c.ehr_id == row.ehr_id).values(ehr_status_id=object_id))
        kept = sa.select(versioned_object.c.id).where(versioned_object.c.id == object_id)
        if connection.execute(kept).first() is not None:
            continue  # its versions survived a downgrade (the old schema cannot change a status)
        contribution_id = str(uuid.uuid4())
        connection.execute(versioned_object.insert().values(id=object_id, ehr_id=row.ehr_id,
                                                            time_created=row.time_created))  # fmt: skip
        connection.execute(contribution.insert().values(
            id=contribution_id, time_committed=row.time_created, committer_name="unknown",
            committer_hsa_id="unknown", change_type="creation",
        ))  # fmt: skip
        connection.execute(original_version.insert().values(
            object_id=object_id, version=1, system_id=system_id, contribution_id=contribution_id,
            time_committed=row.time_created, committer_name="unknown", committer_hsa_id="unknown",
            change_type="creation", lifecycle_state="complete", template_id=None, data=data,
        ))  # fmt: skip
    with op.batch_alter_table("ehr") as batch:
        batch.alter_column("ehr_status_id", existing_type=sa.String(36), nullable=False)
        batch.create_foreign_key("fk_ehr_status", "versioned_object", ["ehr_status_id"], ["id"])
        batch.drop_column("ehr_status")


def downgrade() -> None:
    # The latest EHR_STATUS goes back into the EHR row; its versions stay in the store (append-only), and
    # an upgrade links them again.
    op.add_column("ehr", sa.Column("ehr_status", sa.JSON, nullable=True))
    connection = op.get_bind()
    for row in connection.execute(sa.select(ehr.c.ehr_id, ehr.c.ehr_status_id)):
        latest = connection.execute(
            sa.select(original_version.c.version, original_version.c.system_id, original_version.c.data)
            .where(original_version.c.object_id == row.ehr_status_id)
            .order_by(original_version.c.version.desc())
            .limit(1)
        ).one()
        uid = {"_type": "OBJECT_VERSION_ID", "value": f"{row.ehr_status_id}::{latest.system_id}::{latest.version}"}
        connection.execute(
            ehr.update().where(ehr.c.ehr_id == row.ehr_id).values(ehr_status={**latest.data, "uid": uid})
        )
    with op.batch_alter_table("ehr") as batch:
        batch.alter_column("ehr_status", existing_type=sa.JSON, nullable=False)
        batch.drop_constraint("fk_ehr_status", type_="foreignkey")
        batch.drop_column("ehr_status_id")
