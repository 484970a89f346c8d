"""Every rule id the code and the tests cite has an entry in docs/reference.md, and every entry names its source.

Citation forms found in the code: ``(K7)``, ``# S9:``, ``E3/E4``, ranges ``K8-K11`` / ``O1–O6`` / ``EC1-EC5``,
``"rule": "row-29 S2 S3"`` in the JSON cases, ``row 50`` / ``Row 15`` / ``row-05`` / ``row-06-07`` for the
scenario table, ``section 12`` / ``section-12-step-4`` / ``§12`` for the reference's sections.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "reference.md"

# A rule id: family letter(s) and one or two digits, optionally a range to the same family ("K8-K11", "O1–O6").
# Case-sensitive, so "s3.amazonaws.com" and hex digits never match; at most two digits, so a Sid "S4999" does not;
# no word character or "-" on either side, so "SigV4", "_EC2_", "vpce-1" do not.
RULE = re.compile(
    r"(?<![\w-])(?P<fam>EC|[ACEIKNOPQSTX])(?P<lo>\d{1,2})(?:[ \t]?[-–][ \t]?(?P=fam)(?P<hi>\d{1,2}))?(?![\w-])"
)
# S3 and EC2 are also AWS service names ("Amazon S3", "an EC2 backend"): they count only in a citation context,
# i.e. followed by ")", ",", ":", ";", "/" or the end of the line or string, and not after "Amazon"/"AWS".
AMBIGUOUS = frozenset({"S3", "EC2"})
CITATION_END = re.compile(r"[ \t]*(?:[),:;/\n]|$)")
SERVICE_NAME_BEFORE = re.compile(r"(?:Amazon|AWS)[ \t]+$")
# A scenario-table row: "row 50", "Row 15", "row-05", "row-06-07" (rows 6 to 7).
ROW = re.compile(r"(?<![\w-])[Rr]ows?[- ](?P<lo>\d{1,2})(?:[-–](?P<hi>\d{1,2}))?(?!\d)")
# A section of the reference: "section 12", "section-12-step-4", "§12", "§ 14".
SECTION = re.compile(r"(?:(?<![\w-])[Ss]ection[- ]|§[ \t]?)(?P<n>\d{1,2})(?!\d)")

# docs/reference.md: an entry is a heading "### K7 — …" / "### Section 12 — …", or a table row "| Row 33 | …".
ENTRY_HEADING = re.compile(r"^#{2,4}[ \t]+(?P<key>(?:EC|[ACEIKNOPQSTX])\d{1,2}|Row \d{1,2}|Section \d{1,2})\b", re.M)
ENTRY_ROW = re.compile(r"^\|[ \t]*(?P<key>Row \d{1,2})[ \t]*\|", re.M)
ANY_HEADING = re.compile(r"^#{1,6}[ \t]", re.M)
URL = re.compile(r"https?://[^\s)>\]]+")


def extract(text: str) -> set[str]:
    """The canonical ids ("K7", "Row 5", "Section 12") cited in ``text``, ranges expanded."""
    ids: set[str] = set()
    for m in RULE.finditer(text):
        fam, lo, hi = m["fam"], int(m["lo"]), int(m["hi"] or m["lo"])
        before = text[max(0, m.start() - 12) : m.start()]
        ambiguous = m["hi"] is None and f"{fam}{lo}" in AMBIGUOUS
        if ambiguous and (not CITATION_END.match(text, m.end()) or SERVICE_NAME_BEFORE.search(before)):
            continue
        ids.update(f"{fam}{n}" for n in range(lo, hi + 1))
    for m in ROW.finditer(text):
        lo, hi = int(m["lo"]), int(m["hi"] or m["lo"])
        ids.update(f"Row {n}" for n in range(lo, hi + 1))
    ids.update(f"Section {int(m['n'])}" for m in SECTION.finditer(text))
    return ids


def _json_strings(node: object) -> Iterator[str]:
    """Every string value in a JSON document, except statement ids (a Sid such as "S3" is a name, not a citation)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, list):
        for item in node:
            yield from _json_strings(item)
    elif isinstance(node, dict):
        for key, value in node.items():
            if str(key).lower() != "sid":
                yield from _json_strings(value)


def _sources() -> Iterator[Path]:
    this = Path(__file__).resolve()
    for folder in ("diagnose", "tests"):
        yield from (p for p in sorted((ROOT / folder).rglob("*.py")) if p.resolve() != this)
    for folder in ("tests/cases", "fixtures"):
        yield from sorted((ROOT / folder).rglob("*.json"))


@cache
def cited() -> dict[str, frozenset[str]]:
    """Cited id -> the files (relative paths) citing it."""
    where: dict[str, set[str]] = {}
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        strings = list(_json_strings(json.loads(text))) if path.suffix == ".json" else [text]
        for cid in set().union(*(extract(s) for s in strings)):
            where.setdefault(cid, set()).add(str(path.relative_to(ROOT)))
    return {cid: frozenset(files) for cid, files in where.items()}


@cache
def entries() -> dict[str, str]:
    """docs/reference.md's entries: canonical id -> the entry's text (up to the next heading, or its table row)."""
    doc = DOC.read_text(encoding="utf-8")
    out: dict[str, str] = {}
    for m in ENTRY_HEADING.finditer(doc):
        nxt = ANY_HEADING.search(doc, m.end())
        out[m["key"]] = doc[m.start() : nxt.start() if nxt else len(doc)]
    for m in ENTRY_ROW.finditer(doc):
        out[m["key"]] = doc[m.start() : doc.find("\n", m.start())]
    return out


def resolves(cid: str) -> bool:
    return cid in entries()


def test_every_cited_id_has_an_entry() -> None:
    found = cited()
    assert {"K7", "S11", "E4", "O6", "Row 50", "Section 12"} <= found.keys()  # the scan sees the code at all
    missing = {cid: sorted(files) for cid, files in sorted(found.items()) if not resolves(cid)}
    assert not missing, f"cited but without an entry in docs/reference.md: {missing}"


def test_a_made_up_id_does_not_resolve() -> None:
    made_up = extract("the key is gone (K99); see row 77 and section 99")
    assert made_up == {"K99", "Row 77", "Section 99"}
    assert [cid for cid in sorted(made_up) if resolves(cid)] == []


def test_citation_forms_and_false_positives() -> None:
    assert extract("K1-K3, O1–O6 and E3/E4 (EC1-EC5)") == {
        *("K1", "K2", "K3"),
        *(f"O{n}" for n in range(1, 7)),
        *("E3", "E4"),
        *(f"EC{n}" for n in range(1, 6)),
    }
    assert extract("verbatim (S3); S2/S3: key forms; row-29 S2 S3") == {"S2", "S3", "Row 29"}
    assert extract("row-06-07-cross-account and Row 15: and section-12-step-4 and §14") == {
        "Row 6",
        "Row 7",
        "Row 15",
        "Section 12",
        "Section 14",
    }
    not_citations = 'Amazon S3, an S3 bucket, an EC2 backend, s3.amazonaws.com, SigV4, C:\\, sid "S4999", 1234ABCD-12AB'
    assert extract(not_citations) == set()


def test_every_entry_names_a_source() -> None:
    found = entries()
    assert len(found) > 100
    assert [key for key, text in found.items() if not URL.search(text)] == []
