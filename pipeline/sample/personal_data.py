"""Synthetic personal data of the kinds GDPR/CCPA scrubbing must find, with valid checksums.

Card numbers pass Luhn, IBANs pass ISO 13616 mod-97, SSNs avoid the ranges the SSA never issues,
IP addresses are public (not private or documentation ranges), phone numbers follow each country's
numbering plan, so a checksum-validating detector has no excuse to miss them.
"""

from __future__ import annotations

import random
import string

FIRST_NAMES = (
    "Amelia Bruno Clara Dmitri Elena Farid Greta Hiro Ingrid Jonas Kamala Lukas Mireille Nadia "
    "Oskar Priya Quentin Rosa Stefan Tamsin Ulrich Valentina Wendell Ximena Yusuf Zofia"
).split()
LAST_NAMES = (
    "Abernathy Brennecke Castellano Delacroix Eriksen Fairweather Gallagher Hartmann Iwasaki "
    "Jankowski Kowalczyk Lindqvist Marchetti Nakamura Oyelaran Pemberton Quiroga Rasmussen "
    "Schultheiss Thornbury Umarov Vasquez Whitcombe Yamamoto Zielinski"
).split()
MAIL_DOMAINS = ["mailbox.org", "postfach.de", "courrier.fr", "inbox.co.uk", "fastmail.com", "correo.es"]
US_AREA_CODES = ["212", "312", "415", "503", "617", "206", "303", "512", "702", "919"]
PUBLIC_IPV4_FIRST_OCTETS = [23, 31, 45, 62, 78, 81, 93, 109, 145, 151, 178, 185, 193, 212, 217]
IPV6_GLOBAL_PREFIXES = ["2a02", "2a01", "2600", "2604", "2800", "2c0f", "2405", "2a00"]

ENTITY_TYPES = (
    "PERSON",
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "IP_ADDRESS",
    "US_SSN",
)


def luhn_check_digit(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 0:  # every second digit from the right, counting the check digit to come
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def iban_check_digits(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    return f"{98 - int(numeric) % 97:02d}"


class PersonalData:
    """Draws one value of a personal-data type at a time from a seeded RNG."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def _digits(self, count: int) -> str:
        return "".join(self.rng.choice(string.digits) for _ in range(count))

    def person(self) -> str:
        return f"{self.rng.choice(FIRST_NAMES)} {self.rng.choice(LAST_NAMES)}"

    def email(self) -> str:
        first, last = self.rng.choice(FIRST_NAMES).lower(), self.rng.choice(LAST_NAMES).lower()
        local = self.rng.choice([f"{first}.{last}", f"{first[0]}{last}", f"{first}{self.rng.randint(1, 99)}"])
        return f"{local}@{self.rng.choice(MAIL_DOMAINS)}"

    def phone(self) -> str:
        style = self.rng.choice(["us", "uk", "de", "fr", "us_intl"])
        if style in ("us", "us_intl"):
            area = self.rng.choice(US_AREA_CODES)
            exchange = f"{self.rng.randint(2, 9)}{self.rng.randint(0, 9)}{self.rng.randint(1, 9)}"
            line = self._digits(4)
            return f"({area}) {exchange}-{line}" if style == "us" else f"+1 {area} {exchange} {line}"
        if style == "uk":
            return f"+44 20 7{self._digits(3)} {self._digits(4)}"
        if style == "de":
            return f"+49 30 {self._digits(4)} {self._digits(4)}"
        return f"+33 1 {' '.join(self._digits(2) for _ in range(4))}"

    def credit_card(self) -> str:
        prefix, length = self.rng.choice([("4", 16), ("51", 16), ("55", 16), ("37", 15)])
        body = prefix + self._digits(length - len(prefix) - 1)
        number = body + luhn_check_digit(body)
        if length == 15:
            groups = [number[:4], number[4:10], number[10:]]
        else:
            groups = [number[i : i + 4] for i in range(0, 16, 4)]
        return self.rng.choice([" ", "-", ""]).join(groups)

    def iban(self) -> str:
        country = self.rng.choice(["DE", "GB", "FR"])
        if country == "DE":
            bban = self._digits(18)
        elif country == "GB":
            bban = "".join(self.rng.choice(string.ascii_uppercase) for _ in range(4)) + self._digits(14)
        else:
            bban = self._digits(23)
        compact = country + iban_check_digits(country, bban) + bban
        return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))

    def ip_address(self) -> str:
        if self.rng.random() < 0.7:
            octets = [self.rng.choice(PUBLIC_IPV4_FIRST_OCTETS)] + [self.rng.randint(1, 254) for _ in range(3)]
            return ".".join(map(str, octets))
        groups = [self.rng.choice(IPV6_GLOBAL_PREFIXES)] + [f"{self.rng.randint(1, 0xFFFF):x}" for _ in range(7)]
        return ":".join(groups)

    def us_ssn(self) -> str:
        area = self.rng.choice([a for a in range(101, 900) if a != 666])
        return f"{area:03d}-{self.rng.randint(10, 99):02d}-{self.rng.randint(1000, 9999):04d}"

    def draw(self, entity_type: str) -> str:
        return getattr(self, _METHOD_BY_TYPE[entity_type])()


_METHOD_BY_TYPE = {
    "PERSON": "person",
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "CREDIT_CARD": "credit_card",
    "IBAN_CODE": "iban",
    "IP_ADDRESS": "ip_address",
    "US_SSN": "us_ssn",
}

# How each type is introduced in running text; context words also help presidio's scoring.
PHRASES = {
    "PERSON": "Our reporter {value} spoke to residents on Tuesday.",
    "EMAIL_ADDRESS": "Readers can write to {value} with further questions.",
    "PHONE_NUMBER": "The office can be reached by phone at {value} during the week.",
    "CREDIT_CARD": "A leaked order listed the credit card number {value} in plain text.",
    "IBAN_CODE": "Donations go to the IBAN {value} of the local association.",
    "IP_ADDRESS": "The server logs showed requests from the IP address {value} overnight.",
    "US_SSN": "The form still showed the social security number {value} of the applicant.",
}
