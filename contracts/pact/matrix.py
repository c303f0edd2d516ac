"""The verification matrix without a broker: one JSON line per verification in
`contracts/verifications/<provider>.jsonl` (provider, provider version, consumer, pact file, the
sha256 of the normalised pact, result, failures, time), and the can-i-deploy decision from it."""

from __future__ import annotations

import hashlib
import json
import subprocess
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from contracts.pact.verify import PACT_DIR, VerificationResult

ROOT = Path(__file__).resolve().parents[2]
VERIFICATIONS_DIR = ROOT / "contracts" / "verifications"


def normalised(pact: dict) -> dict:
    """A pact without what varies between writers of the same contract (library versions), its
    interactions in a stable order."""
    pact = json.loads(json.dumps(pact))
    pact.get("metadata", {}).pop("pactRust", None)
    pact["interactions"] = sorted(pact["interactions"], key=lambda i: (i["description"], json.dumps(i, sort_keys=True)))
    return pact


def pact_hash(path: Path) -> str:
    pact = normalised(json.loads(path.read_text(encoding="utf-8")))
    return hashlib.sha256(json.dumps(pact, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def current_version() -> str:
    """The version of this checkout: pyproject's version + the commit (`+dirty` with local changes)."""
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"], cwd=ROOT, capture_output=True, text=True,
            check=True,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return version
    return f"{version}+{described}"


def record(
    result: VerificationResult,
    provider_version: str,
    directory: Path = VERIFICATIONS_DIR,
    *,
    now: datetime | None = None,
) -> list[dict]:
    """Append one line per verified pact of `result` to `<directory>/<provider>.jsonl`."""
    directory.mkdir(parents=True, exist_ok=True)
    time = (now or datetime.now(UTC)).isoformat(timespec="seconds").replace("+00:00", "Z")
    lines = []
    for path in result.pacts:
        consumer = json.loads(path.read_text(encoding="utf-8"))["consumer"]["name"]
        passed = result.by_consumer.get(consumer, False)
        lines.append(
            {
                "provider": result.provider,
                "provider_version": provider_version,
                "consumer": consumer,
                "pact": path.name,
                "pact_sha256": pact_hash(path),
                "result": "passed" if passed else "failed",
                "failures": [f for f in result.failures if f.startswith(f"{consumer}:")],
                "time": time,
            }
        )
    with (directory / f"{result.provider}.jsonl").open("a", encoding="utf-8") as out:
        for line in lines:
            out.write(json.dumps(line, ensure_ascii=False, sort_keys=True) + "\n")
    return lines


def load(directory: Path = VERIFICATIONS_DIR) -> list[dict]:
    rows = []
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rows.append(json.loads(line))
    return rows


def current_pacts(pact_dir: Path = PACT_DIR) -> list[tuple[str, str, Path, str]]:
    """(consumer, provider, file, sha256) of every committed pact."""
    found = []
    for path in sorted(pact_dir.glob("*.json")):
        pact = json.loads(path.read_text(encoding="utf-8"))
        found.append((pact["consumer"]["name"], pact["provider"]["name"], path, pact_hash(path)))
    return found


@dataclass
class Decision:
    module: str
    version: str
    deployable: bool
    reasons: list[str] = field(default_factory=list)  # why not (or what was checked, when yes)

    def __str__(self) -> str:
        head = f"{'yes' if self.deployable else 'no'}: {self.module} {self.version} "
        head += "can be deployed" if self.deployable else "cannot be deployed"
        return "\n".join([head, *(f"  - {r}" for r in self.reasons)])


def can_i_deploy(
    module: str, version: str, *, verifications: list[dict] | None = None, pact_dir: Path = PACT_DIR
) -> Decision:
    """Yes when every current pact naming `module` as provider has a passed verification of
    exactly that pact content by `version`, and every pact of `module` as consumer has been
    verified (passed) by some version of its provider. The latest record of a pair counts."""
    rows = load() if verifications is None else verifications
    decision = Decision(module, version, True)
    pacts = current_pacts(pact_dir)
    as_provider = [p for p in pacts if p[1] == module]
    as_consumer = [p for p in pacts if p[0] == module]
    if not as_provider and not as_consumer:
        decision.reasons.append(f"no pact names {module} (nothing to check)")
    for consumer, _, path, digest in as_provider:
        mine = [r for r in rows if r["provider"] == module and r["provider_version"] == version
                and r["consumer"] == consumer]  # fmt: skip
        same = [r for r in mine if r["pact_sha256"] == digest]
        if same:
            latest = max(same, key=lambda r: r["time"])
            if latest["result"] == "passed":
                decision.reasons.append(f"{consumer} pact ({path.name}, {digest[:12]}) verified {latest['time']}")
                continue
            decision.deployable = False
            failures = "; ".join(latest.get("failures") or []) or "no detail recorded"
            decision.reasons.append(f"{consumer} pact ({path.name}) FAILED verification by {version}: {failures}")
        elif mine:
            decision.deployable = False
            decision.reasons.append(
                f"{consumer} pact ({path.name}) changed since {version} was verified "
                f"(verified {mine[-1]['pact_sha256'][:12]}, now {digest[:12]}): unverified"
            )
        else:
            decision.deployable = False
            decision.reasons.append(f"{consumer} pact ({path.name}, {digest[:12]}) was never verified by {version}")
    for _, provider, path, digest in as_consumer:
        passed = [r for r in rows if r["provider"] == provider and r["consumer"] == module
                  and r["pact_sha256"] == digest and r["result"] == "passed"]  # fmt: skip
        if passed:
            latest = max(passed, key=lambda r: r["time"])
            decision.reasons.append(
                f"its pact with {provider} ({digest[:12]}) verified by {provider} {latest['provider_version']}"
            )
        else:
            decision.deployable = False
            decision.reasons.append(
                f"its pact with {provider} ({path.name}, {digest[:12]}) is verified by no {provider}"
            )
    return decision


def matrix_table(rows: list[dict] | None = None, pact_dir: Path = PACT_DIR) -> str:
    """The latest result per provider, provider version and consumer; `*` marks the current pact."""
    rows = load() if rows is None else rows
    current = {(c, p): d for c, p, _, d in current_pacts(pact_dir)}
    latest: dict[tuple, dict] = {}
    for row in rows:
        key = (row["provider"], row["provider_version"], row["consumer"])
        if key not in latest or row["time"] >= latest[key]["time"]:
            latest[key] = row
    lines = [f"{'provider':<13} {'version':<30} {'consumer':<11} {'pact':<14} {'result':<7} time"]
    for key in sorted(latest):
        row = latest[key]
        mark = "*" if current.get((row["consumer"], row["provider"])) == row["pact_sha256"] else " "
        lines.append(
            f"{row['provider']:<13} {row['provider_version']:<30} {row['consumer']:<11} "
            f"{row['pact_sha256'][:12]}{mark} {row['result']:<7} {row['time']}"
        )
    lines.append("(* = the committed pact's current content)")
    return "\n".join(lines)
