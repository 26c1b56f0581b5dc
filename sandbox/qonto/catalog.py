"""Fixed data of the Qonto demo organisation: accounts, members, labels, counterparties.

Names and amounts are made up but shaped like a small Paris design studio's banking.
"""

import hashlib
from functools import lru_cache

ORG_ID = "6c1f4d2a-8e3b-4f57-9a21-0d5e7b3c4a18"
LOGIN = "atelier-lumiere-4821"
DEFAULT_SECRET = "sandbox-qonto-secret"
ORGANIZATION = {
    "id": ORG_ID,
    "name": "Atelier Lumière SAS",
    "slug": LOGIN,
    "legal_name": "Atelier Lumière SAS",
    "locale": "fr",
    "legal_share_capital": 10000,
    "legal_country": "FR",
    "legal_registration_date": "2019-03-12",
    "legal_form": "SAS",
    "legal_address": "12 Rue Des Lilas 75011 Paris FRANCE",
    "legal_sector": "7410Z",
    "contract_signed_at": "2019-04-02T09:14:27.512Z",
    "legal_number": "85234567800014",
}
QONTO_BANK, QONTO_BRANCH, QONTO_BIC = "16958", "00001", "QNTOFRP1XXX"

# (position, uuid, name, 11-char account number, main, opening balance in cents)
ACCOUNTS = (
    (1, "0d3f5a8e-2b41-4c7a-9e13-5f6a7b8c9d01", "Compte principal", "38274615021", True,
     4_825_000),
    (2, "4a9b2c7d-6e15-4f83-b2a4-1c3d5e7f9a02", "Compte projets", "52910473886", False,
     1_240_000),
    (3, "8e7d6c5b-4a39-4b21-8c0f-2e4d6f8a0b03", "Réserve TVA", "70641925347", False,
     1_800_000),
)
MAIN, PROJECTS, VAT_RESERVE = 1, 2, 3

# (membership id, name, card last digits)
MEMBERS = (
    ("3b6e1f0a-7c24-4d59-8a13-6f2e9b0c1d11", "Camille Durand", "7391"),
    ("9c2d4e6f-1a35-4b78-9c02-3d5f7a9b1c22", "Julien Moreau", "0456"),
    ("5e8f0a2b-3c47-4d91-ae24-5f7b9c1d3e33", "Sarah Benali", "2284"),
)

# id -> (name, parent id); parent_id is null for top-level labels, as in Qonto's example.
_PROJECTS_LABEL = "a1f0c3e5-0b2d-4e6f-8a1c-3e5f7a9b0c41"
LABELS = {
    _PROJECTS_LABEL: ("Projets clients", None),
    "b2e1d4f6-1c3e-4f70-9b2d-4f6a8b0c1d52": ("Hôtel Le Marais", _PROJECTS_LABEL),
    "c3d2e5a7-2d4f-4a81-8c3e-5a7b9c1d2e63": ("Boutique Lumen", _PROJECTS_LABEL),
    "d4c3f6b8-3e5a-4b92-9d4f-6b8c0d2e3f74": ("Frais généraux", None),
    "e5b4a7c9-4f6b-4ca3-8e5a-7c9d1e3f4a85": ("Déplacements", None),
}

# Card merchants: (label, clean name, category, local currency, min €, max €, VAT %, weight,
# account position). USD/GBP lines get a local amount at a realistic rate.
CARD_MERCHANTS = (
    ("LE PETIT CLER PARIS", "Le Petit Cler", "restaurant_and_bar", "EUR", 14, 85, 10.0, 9, MAIN),
    ("CAFE OBERKAMPF", "Café Oberkampf", "restaurant_and_bar", "EUR", 4, 28, 10.0, 8, MAIN),
    ("BIG MAMMA GROUP", "Big Mamma", "restaurant_and_bar", "EUR", 25, 140, 10.0, 4, MAIN),
    ("PRET A MANGER LONDON", "Pret A Manger", "restaurant_and_bar", "GBP", 6, 24, 0.0, 1, MAIN),
    ("TOTALENERGIES ST 4512", "TotalEnergies", "gas_station", "EUR", 45, 95, 20.0, 5, MAIN),
    ("ESSO EXPRESS BAGNOLET", "Esso", "gas_station", "EUR", 40, 90, 20.0, 2, MAIN),
    ("SNCF CONNECT", "SNCF Connect", "transport", "EUR", 29, 240, 10.0, 4, MAIN),
    ("AIR FRANCE", "Air France", "transport", "EUR", 120, 620, 0.0, 1, MAIN),
    ("UBER *TRIP", "Uber", "transport", "EUR", 12, 48, 10.0, 5, MAIN),
    ("G7 TAXI", "G7", "transport", "EUR", 15, 65, 10.0, 3, MAIN),
    ("EUROSTAR INTERNATIONAL", "Eurostar", "transport", "GBP", 80, 320, 0.0, 1, MAIN),
    ("HOTEL CITIZENM LONDON", "citizenM", "hotel_and_lodging", "GBP", 140, 380, 0.0, 1, MAIN),
    ("BOOKING.COM", "Booking.com", "hotel_and_lodging", "EUR", 90, 420, 10.0, 1, MAIN),
    ("AMAZON EU SARL", "Amazon", "office_supply", "EUR", 9, 180, 20.0, 5, MAIN),
    ("BUREAU VALLEE PARIS 11", "Bureau Vallée", "office_supply", "EUR", 7, 95, 20.0, 3, MAIN),
    ("FNAC DARTY", "Fnac", "it_and_electronics", "EUR", 19, 650, 20.0, 1, MAIN),
    ("APPLE STORE OPERA", "Apple", "it_and_electronics", "EUR", 29, 1900, 20.0, 1, MAIN),
    ("FIGMA", "Figma", "online_service", "USD", 14, 70, 0.0, 1, MAIN),
    ("LEROY MERLIN IVRY", "Leroy Merlin", "hardware_and_equipment", "EUR", 12, 460, 20.0, 6,
     PROJECTS),
    ("CASTORAMA MONTREUIL", "Castorama", "hardware_and_equipment", "EUR", 10, 380, 20.0, 4,
     PROJECTS),
    ("POINT P PANTIN", "Point.P", "hardware_and_equipment", "EUR", 60, 1400, 20.0, 2, PROJECTS),
    ("REXEL FRANCE", "Rexel", "hardware_and_equipment", "EUR", 40, 980, 20.0, 3, PROJECTS),
    ("BRICO DEPOT", "Brico Dépôt", "hardware_and_equipment", "EUR", 15, 300, 20.0, 2, PROJECTS),
    ("AMAZON MKTPL", "Amazon", "hardware_and_equipment", "EUR", 12, 240, 20.0, 2, PROJECTS),
)

# Monthly card subscriptions: (label, clean, category, currency, local cents, day, VAT %)
SUBSCRIPTIONS = (
    ("NOTION LABS", "Notion Labs", "online_service", "USD", 4800, 3, 0.0),
    ("OVH SAS", "OVHcloud", "online_service", "EUR", 2999, 7, 20.0),
    ("ADOBE SYSTEMS", "Adobe", "online_service", "EUR", 7199, 9, 20.0),
    ("SLACK TECHNOLOGIES", "Slack", "online_service", "USD", 2625, 14, 0.0),
    ("GITHUB INC", "GitHub", "online_service", "USD", 2100, 21, 0.0),
    ("GOOGLE WORKSPACE", "Google", "online_service", "EUR", 4140, 24, 20.0),
)

# Suppliers paid by SEPA transfer: (name, category, min €, max €, VAT %, account, invoice prefix)
SUPPLIERS = (
    ("Imprimerie Moderne", "marketing", 180, 2400, 20.0, MAIN, "FACT"),
    ("Studio Graphique Bastille", "other_service", 600, 4800, 20.0, MAIN, "F"),
    ("Cabinet Comptable Martin", "legal_and_accounting", 420, 1200, 20.0, MAIN, "HON"),
    ("Transports Legrand", "logistics", 150, 1300, 20.0, MAIN, "FACT"),
    ("Lumiverre SARL", "manufacturing", 800, 7200, 20.0, PROJECTS, "FACT"),
    ("Menuiserie Durand & Fils", "manufacturing", 1200, 9800, 20.0, PROJECTS, "FA"),
    ("Électricité Générale Roux", "other_service", 400, 5200, 20.0, PROJECTS, "FACT"),
)
# Customers paying by incoming transfer: (name, min €, max €, account)
CUSTOMERS = (
    ("Hôtel Le Marais SAS", 2400, 18000, MAIN),
    ("Galeries Lafayette Haussmann", 3000, 22000, MAIN),
    ("Maison Ferrand", 900, 6800, MAIN),
    ("Boutique Lumen", 600, 4200, MAIN),
    ("Restaurant La Coupole", 1200, 9500, MAIN),
    ("Agence Nova Architecture", 1800, 12000, PROJECTS),
    ("Cabinet Verdier Immobilier", 1500, 9000, PROJECTS),
)
# Monthly direct debits of the main account: (creditor, category, min €, max €, VAT %, day)
DIRECT_DEBITS = (
    ("SCI Bastille Immobilier - Loyer", "office_rental", 2400, 2400, 20.0, 1),
    ("URSSAF Ile-de-France", "tax", 3900, 4800, 0.0, 5),
    ("Orange Business", "utility", 89.99, 109.99, 20.0, 12),
    ("EDF Entreprises", "utility", 120, 260, 20.0, 18),
)
EMPLOYEES = (("Julien Moreau", 285000), ("Sarah Benali", 264000), ("Léa Martin", 232000))
FX_RATES = {"USD": 0.92, "GBP": 1.17}  # euros for one unit, jittered a little per payment
BANKS = (
    ("30004", "BNPAFRPPXXX"), ("30003", "SOGEFRPPXXX"), ("10107", "BREDFRPPXXX"),
    ("20041", "PSSTFRPPPAR"), ("30002", "CRLYFRPPXXX"), ("10278", "CMCIFRPPXXX"),
)


def _rib_key(bank, branch, account):
    """The French RIB key (all-digit account numbers only)."""
    return 97 - ((89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97)


def french_iban(bank, branch, account):
    """A French IBAN with a valid RIB key and valid ISO 13616 check digits."""
    bban = f"{bank}{branch}{account}{_rib_key(bank, branch, account):02d}"
    numeric = "".join(str(int(ch, 36)) for ch in bban + "FR00")
    return f"FR{98 - int(numeric) % 97:02d}{bban}"


def iban_is_valid(iban):
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(ch, 36)) for ch in moved)) % 97 == 1


def counterparty_bank(name):
    """A stable (IBAN, BIC) for a counterparty name."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    bank, bic = BANKS[int(digest[:4], 16) % len(BANKS)]
    branch = f"{int(digest[4:8], 16) % 100000:05d}"
    account = f"{int(digest[8:20], 16) % 10**11:011d}"
    return french_iban(bank, branch, account), bic


def account_iban(account_number):
    return french_iban(QONTO_BANK, QONTO_BRANCH, account_number)


@lru_cache(maxsize=1024)
def slugify(text):
    table = str.maketrans("àâäéèêëîïôöùûüçÀÂÉÈÊÎÔÛÇ", "aaaeeeeiioouuucAAEEEIOUC")
    cleaned = "".join(ch if ch.isalnum() else "-" for ch in text.translate(table).lower())
    return "-".join(part for part in cleaned.split("-") if part)
