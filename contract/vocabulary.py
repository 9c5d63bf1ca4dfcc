"""The engine's words that its clients share: the kinds of request, the channels, the fields a
subject may have corrected, the grounds and decisions a handler gives. Standard library only, so
the command line (cli/) can offer them as choices without importing the engine's models; the
models (contract/) use these very classes."""

from __future__ import annotations

from enum import StrEnum

CASE_NUMBER_PATTERN = r"^DSR-\d{4}-\d{6}$"


class Kind(StrEnum):
    ACCESS = "access"
    RECTIFICATION = "rectification"
    RESTRICTION = "restriction"
    OBJECTION = "objection"
    ERASURE = "erasure"
    PORTABILITY = "portability"
    # Official documents under offentlighetsprincipen (TF 2 kap.): anyone may ask, no subject.
    PUBLIC_ACCESS = "public_access"


class RectifiableField(StrEnum):
    NAME = "name"
    STREET = "street"
    POSTAL_CODE = "postal_code"
    CITY = "city"
    EMAIL = "email"
    PHONE = "phone"


class RestrictionGround(StrEnum):
    """Art. 18(1): the four grounds on which a subject may have processing restricted."""

    ACCURACY_CONTESTED = "a"
    UNLAWFUL_NO_ERASURE = "b"
    NEEDED_FOR_LEGAL_CLAIMS = "c"
    OBJECTION_PENDING = "d"


class RectificationDecision(StrEnum):
    ACCEPT = "accept"
    PARTLY = "partly"
    REJECT = "reject"


class Channel(StrEnum):
    E_SERVICE = "e-service"
    LETTER = "letter"
    EMAIL = "email"
    PHONE = "phone"
    IN_PERSON = "in-person"


class IdentityMethod(StrEnum):
    BANKID = "bankid"
    SIGNED_LETTER = "signed_letter"
    ID_CHECKED = "id_checked"
    REGISTERED_CONTACT = "registered_contact"


class SecrecyGround(StrEnum):
    """Grounds in offentlighets- och sekretesslagen (OSL) a reviewer may give for a mask or a
    withheld document. No blanket secrecy for grid customers: each document is decided.

    The security of the grid and the city network rests on OSL 18:8: a description of the
    security measures for the company's installations (substations, nodes, locks, alarms,
    cable routes' protection) whose purpose would be defeated if it were made known. OSL 18:13
    is narrower, for risk and vulnerability analyses and planning for peacetime crises; it is
    kept for those (and for reviews made before 18:8 was offered)."""

    PROTECTED_IDENTITY = "OSL 21:3"  # skyddade personuppgifter: a protected address
    PERSONAL_INTEGRITY = "OSL 21:7"  # a release would be unlawful processing under the GDPR
    BUSINESS_RELATIONS = "OSL 31:16"  # a party's business or operating conditions
    OWN_BUSINESS = "OSL 19:1"  # the company's own business in competition
    SECURITY = "OSL 18:8"  # security measures for the grid's and the network's installations
    RISK_ANALYSIS = "OSL 18:13"  # risk and vulnerability analyses, crisis planning


class ReviewDecision(StrEnum):
    RELEASE = "release"
    MASK = "mask"  # release with the named parts masked
    WITHHOLD = "withhold"
