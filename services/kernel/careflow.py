"""Care-flow status of an openEHR INSTRUCTION from its ACTIONs, and the transition rule on writes.

openEHR records the progress of an INSTRUCTION (a medication order, a service request) as ACTIONs,
each with an ISM_TRANSITION: a `careflow_step` (an at-code of the ACTION archetype, such as
"Medication course stopped") and the Instruction State Machine `current_state` (an openehr code:
526 planned, 245 active, ...). A module names its own statuses (active/suspended/... or
draft/sent/...) and says which careflow steps and states mean which status; this module derives
the status (that of the latest ACTION by time) and checks that a new version only appends ACTIONs
and only moves along the allowed transitions.

Pure functions on composition dicts (canonical openEHR JSON): no I/O, no framework.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from services.kernel.errors import Conflict, ErrorDetail, ServiceError, UnprocessableEntity
from services.kernel.search import entries

# The Instruction State Machine states (openEHR terminology group "instruction states").
ISM_STATES = {
    "524": "initial",
    "526": "planned",
    "527": "postponed",
    "528": "cancelled",
    "529": "scheduled",
    "245": "active",
    "530": "suspended",
    "531": "aborted",
    "532": "completed",
    "533": "expired",
}


class CareflowError(Exception):
    """A write that breaks a care-flow rule. `status_code` is what the HTTP layer should answer."""

    status_code = 409
    code = "illegal_transition"

    def __init__(self, message: str, path: str = "", pointer: str = ""):
        super().__init__(message)
        self.message = message
        self.path = path
        self.pointer = pointer

    def service_error(self) -> ServiceError:
        """The kernel's error for this (409 Conflict, or 422 for an unknown careflow step)."""
        details = [ErrorDetail(self.path, self.pointer, self.message)]
        if self.status_code == 422:
            return UnprocessableEntity(self.message, details, self.code)
        return Conflict(self.message, self.code, details)


class IllegalTransition(CareflowError):
    def __init__(
        self,
        workflow: str,
        from_status: str,
        to_status: str,
        allowed: list[str],
        path: str = "",
        pointer: str = "",
    ):
        allowed_text = ", ".join(allowed) if allowed else "none (final status)"
        super().__init__(
            f"illegal {workflow} transition {from_status} -> {to_status}; "
            f"allowed from {from_status}: {allowed_text}",
            path,
            pointer,
        )
        self.from_status = from_status
        self.to_status = to_status
        self.allowed = allowed


class ActionsRewritten(CareflowError):
    """A new version changed, removed or back-dated an earlier ACTION: ACTIONs are append-only."""

    code = "actions_rewritten"


class UnknownCareflowStep(CareflowError):
    """An ACTION whose careflow step and state map to no status of the module."""

    status_code = 422
    code = "unknown_careflow_step"


# --- walking canonical JSON -------------------------------------------------------------------


def iter_locatables(node: Any, path: str = "", pointer: str = "") -> Iterator[tuple[dict, str, str]]:
    """Depth first over every dict that has an archetype_node_id: (node, openEHR path, JSON pointer)."""
    if isinstance(node, dict):
        node_id = node.get("archetype_node_id")
        for key, value in node.items():
            if isinstance(value, (dict, list)):
                yield from _iter_attribute(value, f"{path}/{key}", f"{pointer}/{key}")
        if node_id is not None:
            yield node, path, pointer
    elif isinstance(node, list):
        yield from _iter_attribute(node, path, pointer)


def _iter_attribute(value: Any, path: str, pointer: str) -> Iterator[tuple[dict, str, str]]:
    if isinstance(value, list):
        for index, item in enumerate(value):
            node_id = item.get("archetype_node_id") if isinstance(item, dict) else None
            item_path = f"{path}[{node_id}]" if node_id else path
            yield from iter_locatables(item, item_path, f"{pointer}/{index}")
    elif isinstance(value, dict):
        node_id = value.get("archetype_node_id")
        yield from iter_locatables(value, f"{path}[{node_id}]" if node_id else path, pointer)


# Attributes whose values are data values or RM bookkeeping, never LOCATABLEs: not searched.
_LEAVES = frozenset(
    {
        "name",
        "value",
        "archetype_details",
        "language",
        "encoding",
        "subject",
        "time",
        "ism_transition",
        "uid",
        "null_flavour",
        "defining_code",
        "feeder_audit",
        "provider",
        "other_participations",
        "workflow_id",
        "guideline_id",
        "instruction_details",
        "narrative",
        "expiry_time",
        "wf_definition",
        "timing",
        "action_archetype_id",
        "origin",
        "math_function",
        "width",
    }
)


class _Enough(Exception):
    pass


def _collect(node: Any, node_id: str, trail: list, hits: list, inside: bool, first: bool) -> None:
    """Pre-order (document order) search for dicts with that archetype_node_id, keeping their trail.

    With `inside`, the search stays within the archetype it starts in: at-codes belong to one
    archetype, so it does not descend into nested archetype roots (slots filled by other archetypes).
    With `first`, it stops at the first hit.
    """
    if isinstance(node, dict):
        found = node.get("archetype_node_id")
        if found == node_id:
            hits.append((node, tuple(trail)))
            if first:
                raise _Enough
        if inside and trail and isinstance(found, str) and found.startswith("openEHR-"):
            return
        for key, value in node.items():
            if key not in _LEAVES and isinstance(value, (dict, list)):
                trail.append(key)
                _collect(value, node_id, trail, hits, inside, first)
                trail.pop()
    elif isinstance(node, list):
        for index, item in enumerate(node):
            if isinstance(item, (dict, list)):
                trail.append(index)
                _collect(item, node_id, trail, hits, inside, first)
                trail.pop()


def _locate(root: Any, trail: tuple) -> tuple[str, str]:
    """The openEHR path and JSON pointer of the node at `trail` below `root`."""
    path, pointer, node = "", "", root
    for step in trail:
        child = node[step]
        node_id = child.get("archetype_node_id") if isinstance(child, dict) else None
        if isinstance(step, int):
            path += f"[{node_id}]" if node_id else ""
        else:
            path += f"/{step}" + (f"[{node_id}]" if node_id else "")
        pointer += f"/{step}"
        node = child
    return path, pointer


def _found(node: Any, node_id: str, inside: bool = False, first: bool = False) -> list[tuple[dict, tuple]]:
    hits: list = []
    with contextlib.suppress(_Enough):
        _collect(node, node_id, [], hits, inside, first)
    return hits


def find_archetyped(composition: Mapping, archetype_id: str) -> list[tuple[dict, str, str]]:
    """Every node (with its path and pointer) whose archetype_node_id is `archetype_id`, in document
    order (the order of the canonical JSON: depth first, lists by index)."""
    return [(node, *_locate(composition, trail)) for node, trail in _found(composition, archetype_id)]


def find_entries(composition: Mapping, archetype_id: str) -> list[tuple[dict, str, str]]:
    """The composition's ENTRYs (content, and items of SECTIONs) of an archetype, in document order:
    like `find_archetyped`, without walking into the entries themselves."""
    hits = entries(composition, lambda entry: entry.get("archetype_node_id") == archetype_id)
    return [(node, *_locate(composition, trail)) for node, trail in hits]


def element_value(node: Any, at_code: str) -> dict | None:
    """The value of the first ELEMENT with node id `at_code` in `node`'s archetype (document order)."""
    hits = _found(node, at_code, inside=True, first=True)
    value = hits[0][0].get("value") if hits else None
    return value if isinstance(value, dict) else None


def elements(node: Any, at_code: str) -> list[dict]:
    """ELEMENTs (any node) with that at-code in the archetype `node` belongs to, in document order."""
    return [hit for hit, _ in _found(node, at_code, inside=True)]


# Canonical JSON parses into dicts: these helpers check for `dict`, as `isinstance` against the Mapping
# ABC costs several times as much, and they run for every ACTION and index field of every write.
def code_string(value: dict | None) -> str | None:
    """The code of a DV_CODED_TEXT (or None for anything else)."""
    if not isinstance(value, dict):
        return None
    code = value.get("defining_code")
    if isinstance(code, dict):
        text = code.get("code_string")
        return text if isinstance(text, str) else None
    return None


def terminology(value: dict | None) -> str | None:
    if not isinstance(value, dict) or not isinstance(value.get("defining_code"), dict):
        return None
    terminology_id = value["defining_code"].get("terminology_id")
    if isinstance(terminology_id, dict):
        return terminology_id.get("value")
    return None


def parse_datetime(text: Any) -> datetime | None:
    """An ISO 8601 date or date-time as an aware datetime (naive means UTC); None when unparsable."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def dv_value(value: dict | None) -> Any:
    return value.get("value") if isinstance(value, dict) else None


def context_start_time(composition: Mapping) -> datetime | None:
    context = composition.get("context")
    if not isinstance(context, dict):
        return None
    return parse_datetime(dv_value(context.get("start_time")))


# --- the care flow ----------------------------------------------------------------------------

# A write derives a composition's steps for the transition check and again for each index field
# (status, receiver): within `steps_derived_once()`, each composition's are derived once.
_derived: ContextVar[dict | None] = ContextVar("careflow_steps", default=None)


@contextlib.contextmanager
def steps_derived_once() -> Iterator[None]:
    """Within this block, each composition's steps are derived once: the compositions must not change."""
    token = _derived.set({})
    try:
        yield
    finally:
        _derived.reset(token)



@dataclass(frozen=True)
class Step:
    """One ACTION seen as a care-flow step."""

    time: datetime | None
    careflow_step: str | None  # local at-code
    current_state: str | None  # openehr ISM code
    status: str | None  # the module's status, None when unmapped
    path: str
    pointer: str

    @property
    def key(self) -> tuple:
        """What identifies an ACTION when comparing versions (formatting may differ)."""
        return (self.time, self.careflow_step, self.current_state, self.status)


Classifier = Callable[[Mapping], "str | None"]


def classify_by_codes(by_step: Mapping[str, str], by_state: Mapping[str, str]) -> Classifier:
    """Status of an ACTION from its careflow_step at-code, else from its ISM current_state code."""

    def classify(action: Mapping) -> str | None:
        transition = action.get("ism_transition") or {}
        step = code_string(transition.get("careflow_step"))
        if step in by_step:
            return by_step[step]
        return by_state.get(code_string(transition.get("current_state")))

    return classify


@dataclass(frozen=True)
class Workflow:
    """A module's care flow: its statuses, how ACTIONs map to them, and the allowed transitions.

    `initial` is the status of an INSTRUCTION with no ACTION yet. `transitions[s]` lists the
    statuses reachable from s by one added ACTION (s itself included when an ACTION may record
    progress without changing the status, e.g. a dose administered while the order stays active).
    A status with no transitions is final.
    """

    name: str
    instruction_archetype: str
    action_archetype: str
    initial: str
    transitions: Mapping[str, frozenset[str]]
    classify: Classifier
    statuses: tuple[str, ...] = field(default=())
    # The careflow step ((at-code, text), ISM state code) written for each status.
    canonical: Mapping[str, tuple[tuple[str, str], str]] = field(default_factory=dict)
    # Whether an ACTION acts on the composition's INSTRUCTION (given, or None): default every one does.
    belongs: Callable[[Mapping, Mapping | None], bool] | None = None

    def __post_init__(self):
        if not self.statuses:
            object.__setattr__(self, "statuses", tuple(self.transitions))

    def instruction(self, composition: Mapping) -> dict | None:
        """The (first) INSTRUCTION the workflow's ACTIONs act on, or None."""
        hits = find_entries(composition, self.instruction_archetype)
        return hits[0][0] if hits else None

    def allowed(self, status: str) -> list[str]:
        """Reachable statuses from `status`, in the workflow's declared order."""
        reachable = self.transitions.get(status, frozenset())
        return [s for s in self.statuses if s in reachable]

    def action(self, prototype: Mapping, status: str, time: str) -> dict:
        """A new ACTION recording `status` at `time` (ISO 8601), a copy of `prototype` otherwise."""
        action = copy.deepcopy(dict(prototype))
        careflow_step, current_state = self.canonical[status]
        set_transition(action, careflow_step, current_state)
        action["time"] = {"_type": "DV_DATE_TIME", "value": time}
        return action

    def is_final(self, status: str) -> bool:
        return not self.transitions.get(status)

    def steps(self, composition: Mapping) -> list[Step]:
        """The composition's ACTIONs on its INSTRUCTION, oldest first (stable for equal times)."""
        derived = _derived.get()
        if derived is None:
            return self._steps(composition)
        key = (id(self), id(composition))
        if key not in derived or derived[key][0] is not composition:
            derived[key] = (composition, self._steps(composition))
        return list(derived[key][1])

    def _steps(self, composition: Mapping) -> list[Step]:
        steps = []
        instruction = self.instruction(composition) if self.belongs is not None else None
        for action, path, pointer in find_entries(composition, self.action_archetype):
            if self.belongs is not None and not self.belongs(action, instruction):
                continue
            transition = action.get("ism_transition") or {}
            steps.append(
                Step(
                    time=parse_datetime(dv_value(action.get("time"))),
                    careflow_step=code_string(transition.get("careflow_step")),
                    current_state=code_string(transition.get("current_state")),
                    status=self.classify(action),
                    path=path,
                    pointer=pointer,
                )
            )
        epoch = datetime.min.replace(tzinfo=UTC)
        return sorted(steps, key=lambda step: step.time or epoch)

    def status(self, composition: Mapping) -> str:
        """The status of the latest ACTION by time (`initial` when there is none).

        Raises UnknownCareflowStep when the latest ACTION maps to no status.
        """
        steps = self.steps(composition)
        if not steps:
            return self.initial
        return self._known(steps[-1]).status

    def _known(self, step: Step) -> Step:
        if step.status is None:
            raise UnknownCareflowStep(
                f"{self.name}: ACTION with careflow_step {step.careflow_step!r} and current_state "
                f"{step.current_state!r} maps to no status ({', '.join(self.statuses)})",
                f"{step.path}/ism_transition",
                f"{step.pointer}/ism_transition",
            )
        return step

    def check(self, previous: Mapping | None, new: Mapping) -> str:
        """Check a write: `previous` the stored latest version (None on create), `new` the one sent.

        ACTIONs are append-only: every earlier ACTION must still be there, unchanged, and the added
        ones may not be older than the latest earlier one. Each added ACTION must be an allowed
        transition from the status before it. Returns the new status.
        """
        old_steps = self.steps(previous) if previous is not None else []
        new_steps = self.steps(new)
        new_keys = [step.key for step in new_steps]
        for step in old_steps:
            if step.key not in new_keys:
                raise ActionsRewritten(
                    f"{self.name}: the ACTION at {step.path} (careflow_step {step.careflow_step}, "
                    f"time {step.time.isoformat() if step.time else None}) was removed or changed; "
                    "ACTIONs are append-only, record a change as a new ACTION",
                    step.path,
                    step.pointer,
                )
            new_keys.remove(step.key)
        old_keys = [step.key for step in old_steps]
        added = []
        for step in new_steps:
            if step.key in old_keys:
                old_keys.remove(step.key)
            else:
                added.append(step)
        status = self._known(old_steps[-1]).status if old_steps else self.initial
        latest = old_steps[-1].time if old_steps else None
        for step in added:
            if latest is not None and step.time is not None and step.time < latest:
                raise ActionsRewritten(
                    f"{self.name}: the added ACTION at {step.path} is dated {step.time.isoformat()}, "
                    f"before the latest earlier ACTION ({latest.isoformat()})",
                    f"{step.path}/time",
                    f"{step.pointer}/time",
                )
            target = self._known(step).status
            if target not in self.transitions.get(status, frozenset()):
                raise IllegalTransition(
                    self.name, status, target, self.allowed(status), step.path, step.pointer
                )
            status = target
        return status


# --- building ACTIONs -------------------------------------------------------------------------


def set_transition(action: dict, careflow_step: tuple[str, str], current_state: str) -> dict:
    """Set an ACTION's ISM_TRANSITION to a careflow step (at-code, text) and ISM state code, in place."""
    at_code, text = careflow_step
    action["ism_transition"] = {
        "_type": "ISM_TRANSITION",
        "current_state": dv_coded_text(ISM_STATES[current_state], current_state, "openehr"),
        "careflow_step": dv_coded_text(text, at_code, "local"),
    }
    return action


def dv_coded_text(text: str, code: str, terminology: str) -> dict:
    """A canonical-JSON DV_CODED_TEXT."""
    return {
        "_type": "DV_CODED_TEXT",
        "value": text,
        "defining_code": {
            "_type": "CODE_PHRASE",
            "terminology_id": {"_type": "TERMINOLOGY_ID", "value": terminology},
            "code_string": code,
        },
    }


def with_added_action(composition: Mapping, action: Mapping) -> dict:
    """A copy of the composition with `action` appended to its `content`."""
    result = copy.deepcopy(dict(composition))
    content = result.setdefault("content", [])
    content.append(copy.deepcopy(dict(action)))
    return result


# --- adapters to the kernel's module declaration -----------------------------------------------


def transition_rule(workflow: Workflow) -> Callable[[dict | None, dict | None], None]:
    """The `ClinicalModule.check_transition` of a workflow: `(latest or None, new or None)`.

    Deleting is not a care-flow step (the composition's lifecycle, not the order's status), so a
    delete (`new` None) is always let through; a refused write raises the kernel's 409 or 422.
    """

    def check(previous: dict | None, new: dict | None) -> None:
        if new is None:
            return
        try:
            workflow.check(previous, new)
        except CareflowError as error:
            raise error.service_error() from error

    return check


def status_values(workflow: Workflow) -> Callable[[dict], list[str]]:
    """A search-index extractor: the workflow status, or nothing when it cannot be derived."""

    def extract(composition: dict) -> list[str]:
        try:
            return [workflow.status(composition)]
        except CareflowError:
            return []

    return extract
