"""The agency a debtor deals with, as the payment page names it: from the tenant's branding.

The law asks a debt collector to say who it is and that it collects a debt (the FDCPA's
"mini-Miranda", 15 U.S.C. 1692e(11)); the page carries that notice with the agency's name,
its phone and hours, how to dispute, and its privacy notice.
"""

from __future__ import annotations

import msgspec

from domain.tenancy.schemas import Tenant

# The notice every communication from a debt collector carries (15 U.S.C. 1692e(11)).
DEBT_COLLECTOR_NOTICE = (
    "This is a communication from a debt collector. This is an attempt to collect a debt, "
    "and any information obtained will be used for that purpose."
)


class Agency(msgspec.Struct, kw_only=True):
    """Who collects: name, how to reach them, and what the law asks the page to say."""

    name: str
    phone: str
    hours: str
    privacy_url: str
    logo_url: str
    notice: str = DEBT_COLLECTOR_NOTICE


def agency_of(tenant: Tenant) -> Agency:
    branding = tenant.settings.branding
    return Agency(
        name=branding.name.strip() or tenant.name,
        phone=branding.phone,
        hours=branding.hours.strip(),
        privacy_url=branding.privacy_url,
        logo_url=branding.logo_url,
    )


def whom_to_call(agency: Agency) -> str:
    """Whom a debtor whose link no longer works asks for a new one, in one sentence."""
    if not agency.phone:
        return f"Ask {agency.name} for a new one."
    hours = f" ({agency.hours})" if agency.hours else ""
    return f"For a new one, call {agency.name} on {agency.phone}{hours}."
