"""journal, medication and referrals as consumers of demographics: the EHR lookup of
services/kernel/ehr_directory.py, driven through the real `EhrDirectory`."""

from __future__ import annotations

from pact import match

from contracts.pact.consumer import (
    API,
    EHR_ID,
    PERSONNUMMER,
    UNKNOWN_EHR,
    Interaction,
    datetime_value,
    state_path,
    uuid,
)
from services.kernel.ehr_directory import EhrDirectory

CONSUMERS = ("journal", "medication", "referrals")


async def _exists(base: str, ehr_id: str, expected: bool) -> None:
    directory = EhrDirectory(base, ttl_seconds=0)
    found = await directory.exists(ehr_id)
    assert found is expected, f"EhrDirectory.exists({ehr_id}) = {found}, expected {expected}"


def interactions() -> list[Interaction]:
    def known(i):
        (
            i.with_request("GET", state_path(f"{API}/ehr/{EHR_ID}", f"{API}/ehr/${{ehr_id}}"))
            .will_respond_with(200)
            .with_body(
                {
                    "ehr_id": {"value": uuid(EHR_ID)},
                    "system_id": {"value": match.str("demographics.vgr.se")},
                    "time_created": {"value": datetime_value()},
                    # a commit to an EHR whose EHR_STATUS is not modifiable is refused (409)
                    "ehr_status": {"is_modifiable": match.bool(True)},
                },
                content_type="application/json",
            )
        )

    def unknown(i):
        i.with_request("GET", f"{API}/ehr/{UNKNOWN_EHR}").will_respond_with(404)

    return [
        Interaction(
            "a lookup of a known EHR", f"an EHR exists for {PERSONNUMMER}", known,
            lambda base: _exists(base, EHR_ID, True),
        ),
        Interaction(
            "a lookup of an unknown EHR", f"no EHR exists with id {UNKNOWN_EHR}", unknown,
            lambda base: _exists(base, UNKNOWN_EHR, False),
        ),
    ]  # fmt: skip
