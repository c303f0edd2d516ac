"""Declaring a module's search index: which values the module's queries filter and sort on.

A module declares its index once, e.g. for the journal:

    SearchIndex(
        clinical_time=time_at("context", "start_time", "value"),
        fields={
            "diagnosis_code": coded_values("ICD-10-SE", within="openEHR-EHR-EVALUATION.problem_diagnosis"),
        },
    )

Fields may also be `IndexField(extractor, description=..., allowed=(...))`; the query endpoint
offers each field as a parameter (documented in OpenAPI, checked against `allowed`).

The store extracts these values at commit time, in the commit's transaction, into the module's own
index tables; the query endpoint filters on them. Every field may hold several values (a note can
carry several diagnoses); a filter matches when any value equals it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

Extractor = Callable[[dict], Iterable[str]]
TimeExtractor = Callable[[dict], datetime | None]

# The largest OFFSET both databases take (SQL's BIGINT): a larger one is refused (400), not passed on to
# fail in the driver. Not written into the OpenAPI documents: the released contracts declare no maximum,
# and the check against them counts a new one as a breaking change, for a bound no client can reach.
LARGEST_OFFSET = 2**63 - 1


@dataclass(frozen=True)
class IndexedValues:
    clinical_time: datetime | None
    values: dict[str, list[str]]


@dataclass(frozen=True)
class IndexField:
    extract: Extractor
    description: str = ""
    allowed: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SearchIndex:
    clinical_time: TimeExtractor
    fields: Mapping[str, Extractor | IndexField] = field(default_factory=dict)

    @property
    def declared(self) -> dict[str, IndexField]:
        return {name: f if isinstance(f, IndexField) else IndexField(f) for name, f in self.fields.items()}

    def extract(self, composition: dict) -> IndexedValues:
        values = {
            name: sorted({str(v) for v in f.extract(composition) if v is not None})
            for name, f in self.declared.items()
        }
        return IndexedValues(self.clinical_time(composition), values)


def value_at(node: object, *attributes: str) -> object:
    """The value at a chain of attribute names in canonical JSON, or None when any step is missing."""
    for attribute in attributes:
        if not isinstance(node, dict):
            return None
        node = node.get(attribute)
    return node


def parse_iso_datetime(text: str) -> datetime:
    """An openEHR DV_DATE_TIME value; a time without zone is taken as UTC so that values stay comparable."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def time_at(*attributes: str) -> TimeExtractor:
    def extract(composition: dict) -> datetime | None:
        text = value_at(composition, *attributes)
        try:
            return parse_iso_datetime(text) if isinstance(text, str) else None
        except ValueError:
            return None  # the validator reports the bad value; the index just has no date for it

    return extract


def coded_values(terminology: str, *, within: str | None = None) -> Extractor:
    """Codes of a terminology (e.g. ICD-10-SE) anywhere in a composition, or only where the nearest
    enclosing archetype root's id starts with `within` (a CLUSTER archetyped inside it is not "within").

    One recursive walk that collects as it goes, testing exact types (a 9 KB note, 134 objects: 26 us,
    against 62 us for a walk listing every object first). When `within` names an ENTRY archetype, only
    those entries are walked, not the whole composition: the RM keeps entries in the content and in its
    SECTIONs, never inside another entry or in the context (the same note's two diagnoses: 44 -> 21 us)."""
    entry_level = within is not None and _ENTRY_ARCHETYPE.match(within) is not None

    def extract(composition: dict) -> list[str]:
        codes: list[str] = []
        if type(composition) is not dict:
            return codes
        if not entry_level:
            _collect_codes(composition, within is None, terminology, within, codes)
            return codes
        for entry, _ in entries(composition, lambda entry: _archetype_of(entry).startswith(within)):
            _collect_codes(entry, True, terminology, within, codes)
        return codes

    return extract


_ENTRY_ARCHETYPE = re.compile(r"openEHR-EHR-(OBSERVATION|EVALUATION|INSTRUCTION|ACTION|ADMIN_ENTRY)\.")


def _archetype_of(entry: dict) -> str:
    # An entry's archetype_node_id is its archetype's id. The validator does not demand archetype_details
    # on archetype roots (the RM does not), and a diagnosis entry without them was not indexed.
    archetype = value_at(entry.get("archetype_details"), "archetype_id", "value")
    if type(archetype) is not str:
        archetype = entry.get("archetype_node_id")
    return archetype if type(archetype) is str else ""


def entries(composition: Mapping, matches: Callable[[dict], bool]) -> list[tuple[dict, tuple]]:
    """The composition's ENTRYs that `matches` accepts (its content, and items of SECTIONs), each with
    its trail of keys and indexes from the composition, in document order."""
    hits: list = []
    _visit_entries(composition.get("content"), ("content",), matches, hits)
    return hits


def _visit_entries(items: object, trail: tuple, matches: Callable[[dict], bool], hits: list) -> None:
    # A module-level function, not a closure calling itself: such a closure is a reference cycle
    # (function, cell, function) that kept `hits`, and with it parts of every committed document,
    # alive until the garbage collector's next pass (~90 objects per commit, pauses of milliseconds).
    for index, item in enumerate(items if isinstance(items, list) else ()):
        if not isinstance(item, dict):
            continue
        if matches(item):
            hits.append((item, (*trail, index)))
        elif item.get("_type") == "SECTION" or "items" in item and "data" not in item:
            _visit_entries(item.get("items"), (*trail, index, "items"), matches, hits)


# Module-level functions, not closures calling each other: those form reference cycles that only the
# garbage collector frees, and a commit made one per extraction.
def _collect_codes(node: dict, inside: bool, terminology: str, within: str | None, codes: list[str]) -> None:
    details = node.get("archetype_details")
    if type(details) is dict and within is not None:
        archetype = value_at(details, "archetype_id", "value")
        if type(archetype) is str:
            inside = archetype.startswith(within)
    code = node.get("defining_code") if inside else None
    if type(code) is dict and value_at(code, "terminology_id", "value") == terminology:
        code_string = code.get("code_string")
        if type(code_string) is str:
            codes.append(code_string)
    for child in node.values():
        if type(child) is dict:
            _collect_codes(child, inside, terminology, within, codes)
        elif type(child) is list:
            _collect_codes_in(child, inside, terminology, within, codes)


def _collect_codes_in(items: list, inside: bool, terminology: str, within: str | None, codes: list[str]) -> None:
    for item in items:
        if type(item) is dict:
            _collect_codes(item, inside, terminology, within, codes)
        elif type(item) is list:
            _collect_codes_in(item, inside, terminology, within, codes)


def text_at(*attributes: str) -> Extractor:
    def extract(composition: dict) -> Iterable[str]:
        value = value_at(composition, *attributes)
        return [value] if isinstance(value, str) else []

    return extract
