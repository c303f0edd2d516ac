"""The registry of resources, interactions and search parameters.

Routes register what they implement here, and the CapabilityStatement is generated from the
same registry, so `/fhir/metadata` lists exactly what works.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# interaction codes (http://hl7.org/fhir/type-restful-interaction)
READ, VREAD, UPDATE, DELETE, HISTORY_INSTANCE, CREATE, SEARCH = (
    "read",
    "vread",
    "update",
    "delete",
    "history-instance",
    "create",
    "search-type",
)


@dataclass(frozen=True)
class SearchParam:
    name: str
    type: str  # token | string | date | reference | number | uri ...
    documentation: str
    modifiers: tuple[str, ...] = ()
    definition: str | None = None


@dataclass
class ResourceDef:
    type: str
    interactions: list[str] = field(default_factory=list)
    search_params: dict[str, SearchParam] = field(default_factory=dict)
    conditional_create: bool = False
    profile: str | None = None
    documentation: str = ""
    operations: list[tuple[str, str]] = field(default_factory=list)  # (name, definition url)
    search_include: list[str] = field(default_factory=list)
    search_rev_include: list[str] = field(default_factory=list)

    def supports(self, interaction: str) -> bool:
        return interaction in self.interactions


_ID = SearchParam(
    "_id", "token", "Logical id of the resource", definition="http://hl7.org/fhir/SearchParameter/Resource-id"
)


class Registry:
    def __init__(self) -> None:
        self.resources: dict[str, ResourceDef] = {}
        self.system_interactions: list[str] = []  # transaction, batch, ...

    def register(self, definition: ResourceDef) -> ResourceDef:
        self.resources[definition.type] = definition
        return definition

    def __getitem__(self, resource_type: str) -> ResourceDef:
        return self.resources[resource_type]

    def __contains__(self, resource_type: str) -> bool:
        return resource_type in self.resources


def id_param() -> SearchParam:
    return _ID
