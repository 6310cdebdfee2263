"""The sources the rules cite, by a title people can read, with a web address where known.

``local`` names the local copy the project ships: ``seed 004`` is described, in the
project's own words and with the short passages the rules rest on, in ``docs/sources.md``
(the seed documents the rules were first written from). A project decision (where the
sources are silent) cites :data:`DECIDED` or :data:`DECIDED_2026`, which ``docs/rules.md``
explains.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    """Where a rule comes from: a readable title, a web address if known, a local copy."""

    title: str
    url: str | None = None
    local: str | None = None

    def as_json(self) -> dict[str, str | None]:
        return {"title": self.title, "url": self.url, "local": self.local}


COR_VS_SECOR = Source("COR / SECOR: what's the difference? (an auditor's explainer)",
                      local="seed 000")
SECOR_GUIDE = Source("SECOR Certification: Small Employer Guide to COR", local="seed 001")
GO2HR_SECOR = Source("go2HR: How to participate in SECOR", "https://www.go2hr.ca",
                     "seed 002")
AMHSA_SECOR = Source("AMHSA: Small Employer COR (SECOR)", "https://www.amhsa.net",
                     "seed 003")
BCCSA_FAQ = Source("BCCSA COR FAQ", "https://www.bccsa.ca", "seed 004")
WSBC_INCENTIVES = Source("WorkSafeBC: COR financial incentives",
                         "https://www.worksafebc.com")
WSBC_2020_WAIVER = Source(
    "WorkSafeBC: Information for COR certified employers (2020-03-30)",
    "https://www.worksafebc.com")
DECIDED = Source("corledger decision: the cycle and precise rules (first set)",
                 local="docs/rules.md")
DECIDED_2026 = Source("corledger decision: precise rules, second set (2026-11-29)",
                      local="docs/rules.md")

ALL_SOURCES: tuple[Source, ...] = (
    COR_VS_SECOR, SECOR_GUIDE, GO2HR_SECOR, AMHSA_SECOR, BCCSA_FAQ, WSBC_INCENTIVES,
    WSBC_2020_WAIVER, DECIDED, DECIDED_2026)
