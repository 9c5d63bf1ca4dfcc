"""The demo's people: who they are, the identity numbers tests and the bench name them by, and
the population register (SPAR) the demo's delivery asks. All numbers are fictional.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from infra.adapters import SparAddress, SparPerson
from infra.outbox import DemoPopulationRegister

# Role -> canonical identity number. All numbers are fictional; 191212121212 is Skatteverket's
# well-known test number.
DEMO_SUBJECTS: dict[str, str] = {
    "tolvan": "191212121212",
    "coordination": "198503672340",  # samordningsnummer: day of birth 07 + 60
    "protected": "197908144822",
    "joint_a": "196805230643",
    "joint_b": "196611020576",
    "marketing_only": "199502111280",
    "unknown": "199007303119",  # valid, but in no system
}

# Other demo people (surname -> id), so that "no row of anyone else" in a test means something.
FILLER_SUBJECTS: dict[str, str] = {
    "holm": "195804191335",
    "sjoberg": "197212012467",
    "nystrom": "198306303754",
    "hassan": "199109094228",
    "akesson": "194901272197",
    "bjork": "200103151601",
    "hedlund": "198810052970",
    "falk": "194407220880",
    "karimi": "197602294519",
    "lund": "199911113026",
}


# --- The synthetic population -------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A demo person and what they have with the company; flags drive the generator."""

    personal_number: str
    name: str
    street: str
    postal_code: str
    city: str
    email: str
    phone: str
    customer: bool = True  # in billing (and network, if they have a contract)
    protected: bool = False
    electricity: str | None = None  # 'long' (reading_years hourly) or 'short' (30 days)
    electricity_ended: date | None = None
    fibre: bool = False
    credit_risk_class: int | None = None
    outage_channel: str | None = None


def seeded_personal_data() -> list[str]:
    """Every identity number (12 and 10 digits), name, street, e-mail and phone of the demo
    population: what must never be found in the clear where the engine keeps its own data."""
    found: list[str] = []
    for person in PEOPLE:
        number = person.personal_number
        short = number[2:]
        found += [number, short, f"{short[:6]}-{short[6:]}", f"{short[:6]}+{short[6:]}"]
        found += [person.name, person.street]
        found += [person.email, person.phone]
    found += [address.utdelningsadress1 for address in _MOVED.values()]
    return found


# Where the population register (SPAR) has someone at another address than the customer record:
# Karin Lindqvist has moved and not told the company; a letter goes to where she lives now.
_MOVED: dict[str, SparAddress] = {
    DEMO_SUBJECTS["joint_a"]: SparAddress("Vallmovägen 3", "724 60", "Västerås"),
}
# Who has protected personal data in the population register: Sanna Ek a sekretessmarkering
# (also on her customer record); Sofia Lund skyddad folkbokföring, which the company's systems
# do not know of.
_SEKRETESSMARKERING = frozenset({DEMO_SUBJECTS["protected"]})
_SKYDDAD_FOLKBOKFORING = frozenset({FILLER_SUBJECTS["lund"]})
# Known to the register but without an address in Sweden (emigrated): no letter can go.
_EMIGRATED = frozenset({DEMO_SUBJECTS["unknown"]})


def population_register() -> DemoPopulationRegister:
    """The demo's SPAR: every demo person by identity number, with the address they are
    registered at (folkbokföringsadress), which is not always the customer record's."""
    people: dict[str, SparPerson] = {}
    for person in PEOPLE:
        first, _, last = person.name.partition(" ")
        moved = _MOVED.get(person.personal_number)
        people[person.personal_number] = SparPerson(
            id_nummer=person.personal_number,
            fornamn=first,
            efternamn=last,
            folkbokforingsadress=None
            if person.personal_number in _EMIGRATED
            else moved or SparAddress(person.street, person.postal_code, person.city),
            sekretessmarkering=person.personal_number in _SEKRETESSMARKERING,
            skyddad_folkbokforing=person.personal_number in _SKYDDAD_FOLKBOKFORING,
        )
    return DemoPopulationRegister(people)


PEOPLE: tuple[Person, ...] = (
    Person(
        DEMO_SUBJECTS["tolvan"], "Tolvan Tolvansson", "Blåklintsgränd 12", "722 12", "Västerås",
        "tolvan.tolvansson@example.se", "070-121 21 21",
        electricity="long", fibre=True, credit_risk_class=2, outage_channel="sms",
    ),
    Person(
        DEMO_SUBJECTS["coordination"], "Aleksander Nowak", "Sjöbodsvägen 3", "725 97", "Västerås",
        "a.nowak@example.pl", "+48 600 123 456", electricity="short",
    ),
    Person(
        DEMO_SUBJECTS["protected"], "Sanna Ek", "Gläntans väg 6", "753 20", "Uppsala",
        "sanna.ek@example.se", "073-482 48 20", protected=True, electricity="short",
    ),
    Person(
        DEMO_SUBJECTS["joint_a"], "Karin Lindqvist", "Rönnbärsstigen 7", "724 66", "Västerås",
        "karin.lindqvist@example.se", "070-523 06 43", electricity="long", fibre=True,
    ),
    Person(
        DEMO_SUBJECTS["joint_b"], "Johan Lindqvist", "Rönnbärsstigen 7", "724 66", "Västerås",
        "johan.lindqvist@example.se", "070-110 25 76", outage_channel="sms",
    ),
    Person(
        DEMO_SUBJECTS["marketing_only"], "Elsa Berglund", "Tranbärsgatan 21", "754 31", "Uppsala",
        "elsa.berglund@example.se", "076-211 12 80", customer=False,
    ),
    Person(
        DEMO_SUBJECTS["unknown"], "Viktor Okänd", "Ingenstans 1", "722 00", "Västerås",
        "viktor@example.se", "070-000 00 00", customer=False,
    ),
    Person(
        FILLER_SUBJECTS["holm"], "Anders Holm", "Kvarnfallsgatan 4", "722 14", "Västerås",
        "anders.holm@example.se", "070-419 13 35",
        electricity="long", credit_risk_class=1,
    ),
    Person(
        FILLER_SUBJECTS["sjoberg"], "Maria Sjöberg", "Lärkträdsvägen 18", "723 48", "Västerås",
        "maria.sjoberg@example.se", "072-120 12 46", electricity="long", fibre=True,
    ),
    Person(
        FILLER_SUBJECTS["nystrom"], "Erik Nyström", "Glasbruksgränd 9", "753 36", "Uppsala",
        "erik.nystrom@example.se", "070-630 37 54", fibre=True,
    ),
    Person(
        FILLER_SUBJECTS["hassan"], "Fatima Hassan", "Mjölnarvägen 25", "724 70", "Västerås",
        "fatima.hassan@example.se", "073-909 42 28",
        electricity="short", credit_risk_class=4, outage_channel="email",
    ),
    Person(
        FILLER_SUBJECTS["akesson"], "Per Åkesson", "Stenhuggargatan 2", "752 28", "Uppsala",
        "per.akesson@example.se", "018-27 21 97",
        electricity="short", electricity_ended=date(2025, 12, 31),
        credit_risk_class=3, outage_channel="phone",
    ),
    Person(
        FILLER_SUBJECTS["bjork"], "Lina Björk", "Humlegårdsgränd 5", "753 19", "Uppsala",
        "lina.bjork@example.se", "076-315 16 01", fibre=True,
    ),
    Person(
        FILLER_SUBJECTS["hedlund"], "Oskar Hedlund", "Kopparslagargatan 11", "722 19", "Västerås",
        "oskar.hedlund@example.se", "070-005 29 70", electricity="short", fibre=True,
    ),
    Person(
        FILLER_SUBJECTS["falk"], "Birgitta Falk", "Syrengången 8", "723 55", "Västerås",
        "birgitta.falk@example.se", "021-22 08 80", electricity="short", outage_channel="phone",
    ),
    Person(
        FILLER_SUBJECTS["karimi"], "Ahmed Karimi", "Skvaltkvarnsvägen 14", "754 49", "Uppsala",
        "ahmed.karimi@example.se", "070-229 45 19", electricity="short", credit_risk_class=3,
    ),
    Person(
        FILLER_SUBJECTS["lund"], "Sofia Lund", "Tegelbruksgatan 30", "724 81", "Västerås",
        "sofia.lund@example.se", "073-111 30 26", fibre=True,
    ),
)  # fmt: skip
