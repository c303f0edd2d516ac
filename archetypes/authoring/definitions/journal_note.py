"""vgr.journal_note.v1: a journal note (journalanteckning) with the headings Swedish notes use.

COMPOSITION.encounter.v1 (event; context: start time, setting, care unit by HSA-id)
  OBSERVATION.story.v1                 Anamnes                   (0..1)
  OBSERVATION.progress_note.v1         Status                    (0..1)
  EVALUATION.clinical_synopsis.v1      Bedömning / Åtgärd/Plan   (0..2)
  EVALUATION.problem_diagnosis.v1      Diagnos, ICD-10-SE coded  (0..*)

SECTIONs are not used (no SECTION archetype in the project's CKM set): each entry carries its
Swedish heading as a run-time name constraint (LOCATABLE.name), which also tells the two
clinical synopses apart.
"""

from __future__ import annotations

from ..opt import (
    Obj,
    Root,
    Template,
    attr,
    coded,
    dv_date_time,
    element,
    multi,
    run_time_name,
    text,
    tree,
)
from .common import care_unit_context, event_category

TEMPLATE_ID = "vgr.journal_note.v1"

# openEHR terminology, group "setting"
SETTINGS = ("225", "227", "228", "229", "230", "231", "232", "233", "234", "235", "236", "237", "238")


def _observation(archetype_id: str, story_code: str, *extra, occ=(0, 1)) -> Root:
    event = Obj("EVENT", "at0002", (
        attr("data", tree("at0003", element(story_code, text(), occ=(1, 1)), cardinality=(1, None)),
             existence=(1, 1)),
    ), occurrences=(1, 1))
    history = Obj("HISTORY", "at0001", (multi("events", event, existence=(1, 1), cardinality=(1, None)),))
    return Root(archetype_id, (*extra, attr("data", history, existence=(1, 1))), occurrences=occ)


def template() -> Template:
    story = _observation("openEHR-EHR-OBSERVATION.story.v1", "at0004", run_time_name("Anamnes"))
    status = _observation("openEHR-EHR-OBSERVATION.progress_note.v1", "at0004", run_time_name("Status"))
    synopsis = Root("openEHR-EHR-EVALUATION.clinical_synopsis.v1", (
        run_time_name("Bedömning", "Åtgärd/Plan"),
        attr("data", tree("at0001", element("at0002", text(), occ=(1, 1)), cardinality=(1, None),
                          ordered=True), existence=(1, 1)),
    ), occurrences=(0, 2))
    diagnosis = Root("openEHR-EHR-EVALUATION.problem_diagnosis.v1", (
        run_time_name("Diagnos"),
        attr("data", tree(
            "at0001",
            element("at0002", coded("ICD-10-SE"), occ=(1, 1)),
            element("at0009", text(), occ=(0, 1)),
            element("at0077", dv_date_time(), occ=(0, 1)),
            element("at0073", coded("local", "at0074", "at0075", "at0076"), occ=(0, 1)),
            element("at0069", text(), occ=(0, 1)),
            cardinality=(1, None),
        ), existence=(1, 1)),
    ), occurrences=(0, None))
    root = Root("openEHR-EHR-COMPOSITION.encounter.v1", (
        event_category(),
        care_unit_context(
            attr("start_time", dv_date_time(), existence=(1, 1)),
            attr("setting", coded("openehr", *SETTINGS), existence=(1, 1)),
        ),
        multi("content", story, status, synopsis, diagnosis, existence=(1, 1), cardinality=(1, None)),
    ))
    return Template(
        template_id=TEMPLATE_ID,
        concept="Journalanteckning",
        purpose="En journalanteckning från en vårdkontakt med rubrikerna Anamnes, Status, Bedömning, "
                "Diagnos (ICD-10-SE) och Åtgärd/Plan, skriven av en identifierad författare på en "
                "vårdenhet (HSA-id).",
        use="Journalmodulen. Rubriken Bedömning respektive Åtgärd/Plan anges som namn på "
            "EVALUATION.clinical_synopsis.v1; diagnoser kodas med ICD-10-SE.",
        root=root,
    )
