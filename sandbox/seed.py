"""Deterministic seed data: the demo user, two organisations and their settings.

Everything comes from fixed tables and a fixed random seed, so two fresh sandboxes hold
the same ids and records (tests and screenshots can rely on them).
"""

import random
from datetime import UTC, datetime

from sandbox import store
from sandbox import zoho_records as records
from sandbox.runtime import zoho_date, zoho_timestamp

DEMO_USER = "demo@bookbridge.test"
OTHER_USER = "someone-else@bookbridge.test"
SEED = 20240501
# Seeded records pretend to have been created on this date, whatever today is.
SEED_EPOCH = datetime(2024, 1, 15, 9, 0, tzinfo=UTC).timestamp()
# Demo organisations are on the Free plan: 1,000 Books calls a day (NOTES §2.2).
DEFAULT_LIMITS = {"per_minute": 100, "concurrency": 10, "daily": 1000}

CURRENCIES = {
    "EUR": ("Euro", "€", "1.0"), "USD": ("US Dollar", "$", "0.92"),
    "GBP": ("Pound Sterling", "£", "1.17"), "CHF": ("Swiss Franc", "CHF", "1.04"),
}

ORG_SPECS = [
    {
        "name": "Atelier Lumière SAS", "contact_name": "Camille Durand", "email": DEMO_USER,
        "is_default_org": True, "language_code": "fr", "time_zone": "Europe/Paris",
        "base_currency": "EUR", "other_currencies": ("USD", "GBP", "CHF"),
        "industry_type": "Design", "company_id_label": "SIRET",
        "company_id_value": "85234567800014", "vat_number": "FR40852345678",
        "phone": "+33 1 42 68 53 00", "website": "https://atelier-lumiere.example",
        "address": {"street_address1": "12 rue des Lilas", "street_address2": "",
                    "city": "Paris", "state": "Île-de-France", "country": "France",
                    "zip": "75011"},
        "taxes": [("TVA 20 %", 20.0, True), ("TVA 10 %", 10.0, False),
                  ("TVA 5,5 %", 5.5, False), ("TVA 2,1 %", 2.1, False),
                  ("Exonéré 0 %", 0.0, False)],
        "bank": {"account_name": "Compte courant BNP", "bank_name": "BNP Paribas",
                 "account_number": "FR7630004000031234567890143", "account_code": "512100",
                 "is_primary_account": True},
        "suppliers": 40, "customers": 20, "items": 30, "chart": "fr",
    },
    {
        "name": "Lumière Export Ltd", "contact_name": "Oliver Bennett", "email": DEMO_USER,
        "is_default_org": False, "language_code": "en", "time_zone": "Europe/London",
        "base_currency": "GBP", "other_currencies": ("EUR", "USD"),
        "industry_type": "Wholesale", "company_id_label": "Company Number",
        "company_id_value": "12345678", "vat_number": "GB123456789",
        "phone": "+44 20 7946 0000", "website": "https://lumiere-export.example",
        "address": {"street_address1": "221 Shoreditch High Street", "street_address2": "",
                    "city": "London", "state": "", "country": "United Kingdom",
                    "zip": "E1 6PJ"},
        "taxes": [("Standard Rate 20%", 20.0, True), ("Reduced Rate 5%", 5.0, False),
                  ("Zero Rate 0%", 0.0, False)],
        "bank": {"account_name": "Business Current Account", "bank_name": "Barclays",
                 "account_number": "GB33BUKB20201555555555", "account_code": "1200",
                 "is_primary_account": True},
        "suppliers": 10, "customers": 8, "items": 10, "chart": "uk",
    },
]

# An organisation the demo user does NOT belong to, so "not associated" (6041) is testable.
FOREIGN_ORG_SPEC = dict(
    ORG_SPECS[1], name="Concurrent Fantôme SARL", contact_name="Someone Else",
    email=OTHER_USER, is_default_org=True, suppliers=0, customers=0, items=0,
)

# PCG-style chart of accounts: (code, name, Zoho account_type, active). Bank accounts are
# not listed: the only one is created with its bank details by `seed_bank_account`.
FR_CHART = [
    ("101300", "Capital souscrit - appelé, versé", "equity", True),
    ("106100", "Réserve légale", "equity", True),
    ("110000", "Report à nouveau (solde créditeur)", "equity", True),
    ("120000", "Résultat de l'exercice (bénéfice)", "equity", True),
    ("164000", "Emprunts auprès des établissements de crédit", "long_term_liability", True),
    ("168800", "Intérêts courus sur emprunts", "other_current_liability", True),
    ("205000", "Concessions, brevets, licences, logiciels", "intangible_asset", True),
    ("207000", "Fonds commercial", "intangible_asset", True),
    ("213500", "Installations générales, agencements", "fixed_asset", True),
    ("215400", "Matériel industriel", "fixed_asset", True),
    ("218200", "Matériel de transport", "fixed_asset", True),
    ("218300", "Matériel de bureau et matériel informatique", "fixed_asset", True),
    ("218400", "Mobilier", "fixed_asset", True),
    ("275000", "Dépôts et cautionnements versés", "other_asset", True),
    ("280500", "Amortissements des logiciels", "fixed_asset", True),
    ("281830", "Amortissements du matériel informatique", "fixed_asset", True),
    ("281840", "Amortissements du mobilier", "fixed_asset", True),
    ("310000", "Stocks de matières premières", "other_current_asset", True),
    ("355000", "Stocks de produits finis", "other_current_asset", True),
    ("370000", "Stocks de marchandises", "other_current_asset", True),
    ("401000", "Fournisseurs", "accounts_payable", True),
    ("403000", "Fournisseurs - Effets à payer", "accounts_payable", True),
    ("404000", "Fournisseurs d'immobilisations", "accounts_payable", True),
    ("408100", "Fournisseurs - Factures non parvenues", "other_current_liability", True),
    ("409100", "Fournisseurs - Avances et acomptes versés", "other_current_asset", True),
    ("411000", "Clients", "accounts_receivable", True),
    ("413000", "Clients - Effets à recevoir", "accounts_receivable", True),
    ("416000", "Clients douteux ou litigieux", "accounts_receivable", True),
    ("418100", "Clients - Factures à établir", "other_current_asset", True),
    ("419100", "Clients - Avances et acomptes reçus", "other_current_liability", True),
    ("421000", "Personnel - Rémunérations dues", "other_current_liability", True),
    ("425000", "Personnel - Avances et acomptes", "other_current_asset", True),
    ("428200", "Dettes provisionnées pour congés payés", "other_current_liability", True),
    ("431000", "Sécurité sociale", "other_current_liability", True),
    ("437100", "Caisse de retraite complémentaire", "other_current_liability", True),
    ("437200", "Mutuelle et prévoyance", "other_current_liability", True),
    ("442100", "Prélèvement à la source", "other_current_liability", True),
    ("444000", "État - Impôt sur les bénéfices", "other_current_liability", True),
    ("445510", "TVA à décaisser", "other_current_liability", True),
    ("445620", "TVA déductible sur immobilisations", "other_current_asset", True),
    ("445660", "TVA déductible sur autres biens et services", "other_current_asset", True),
    ("445670", "Crédit de TVA à reporter", "other_current_asset", True),
    ("445710", "TVA collectée", "other_current_liability", True),
    ("445800", "TVA à régulariser", "other_current_liability", True),
    ("447000", "Autres impôts, taxes et versements assimilés", "other_current_liability", True),
    ("455000", "Associés - Comptes courants", "other_current_liability", True),
    ("467000", "Autres comptes débiteurs ou créditeurs", "other_current_asset", True),
    ("471000", "Compte d'attente", "other_current_asset", True),
    ("486000", "Charges constatées d'avance", "other_current_asset", True),
    ("487000", "Produits constatés d'avance", "other_current_liability", True),
    ("530000", "Caisse", "cash", True),
    ("580000", "Virements internes", "other_current_asset", True),
    ("601000", "Achats stockés - Matières premières", "cost_of_goods_sold", True),
    ("602200", "Fournitures consommables", "expense", True),
    ("604000", "Achats d'études et prestations de services", "expense", True),
    ("606100", "Fournitures non stockables (eau, énergie)", "expense", True),
    ("606300", "Fournitures d'entretien et de petit équipement", "expense", True),
    ("606400", "Fournitures administratives", "expense", True),
    ("607000", "Achats de marchandises", "cost_of_goods_sold", True),
    ("609000", "Rabais, remises et ristournes obtenus sur achats", "cost_of_goods_sold", True),
    ("611000", "Sous-traitance générale", "expense", True),
    ("612200", "Crédit-bail mobilier", "lease_expense", True),
    ("613200", "Locations immobilières", "expense", True),
    ("613500", "Locations mobilières", "expense", True),
    ("614000", "Charges locatives et de copropriété", "expense", True),
    ("615200", "Entretien et réparations sur biens immobiliers", "expense", True),
    ("615500", "Entretien et réparations sur biens mobiliers", "expense", True),
    ("615600", "Maintenance informatique", "expense", True),
    ("616000", "Primes d'assurances", "expense", True),
    ("618100", "Documentation générale", "expense", True),
    ("618500", "Frais de colloques, séminaires, conférences", "expense", True),
    ("621100", "Personnel intérimaire", "expense", True),
    ("622600", "Honoraires", "expense", True),
    ("622700", "Frais d'actes et de contentieux", "expense", True),
    ("623100", "Annonces et insertions", "expense", True),
    ("623400", "Cadeaux à la clientèle", "expense", True),
    ("623600", "Catalogues et imprimés", "expense", True),
    ("623800", "Dons et cotisations", "expense", True),
    ("624100", "Transports sur achats", "expense", True),
    ("624200", "Transports sur ventes", "expense", True),
    ("625100", "Voyages et déplacements", "expense", True),
    ("625600", "Missions", "expense", True),
    ("625700", "Réceptions", "expense", True),
    ("626000", "Frais postaux et de télécommunications", "expense", True),
    ("626100", "Abonnements internet et téléphonie", "expense", True),
    ("627000", "Services bancaires et assimilés", "expense", True),
    ("627800", "Commissions sur cartes bancaires", "expense", True),
    ("628100", "Concours divers (cotisations)", "expense", True),
    ("628400", "Frais de recrutement de personnel", "expense", True),
    ("631100", "Taxe sur les salaires", "tax_expense", True),
    ("633300", "Participation des employeurs à la formation continue", "tax_expense", True),
    ("635110", "Cotisation foncière des entreprises", "tax_expense", True),
    ("635140", "Taxe sur les véhicules de société", "tax_expense", False),
    ("637800", "Taxes diverses", "tax_expense", True),
    ("641100", "Salaires, appointements", "employee_benefit_expense", True),
    ("641200", "Congés payés", "employee_benefit_expense", True),
    ("641400", "Indemnités et avantages divers", "employee_benefit_expense", True),
    ("645100", "Cotisations à l'URSSAF", "employee_benefit_expense", True),
    ("645300", "Cotisations aux caisses de retraite", "employee_benefit_expense", True),
    ("647500", "Médecine du travail, pharmacie", "employee_benefit_expense", True),
    ("648000", "Autres charges de personnel", "employee_benefit_expense", True),
    ("651000", "Redevances pour concessions, brevets, licences, logiciels", "expense", True),
    ("651600", "Droits d'auteur et de reproduction (SACEM)", "expense", False),
    ("654000", "Pertes sur créances irrécouvrables", "other_expense", True),
    ("658000", "Charges diverses de gestion courante", "other_expense", True),
    ("661100", "Intérêts des emprunts et dettes", "finance_expense", True),
    ("661600", "Intérêts bancaires et sur opérations de financement", "finance_expense", True),
    ("666000", "Pertes de change financières", "finance_expense", True),
    ("671200", "Pénalités, amendes fiscales et pénales", "other_expense", True),
    ("675000", "Valeurs comptables des éléments d'actif cédés", "other_expense", True),
    ("681100", "Dotations aux amortissements des immobilisations", "depreciation_expense",
     True),
    ("681700", "Dotations aux provisions pour dépréciation des actifs circulants",
     "impairment_expense", True),
    ("695000", "Impôts sur les bénéfices", "tax_expense", True),
    ("701000", "Ventes de produits finis", "income", True),
    ("704000", "Travaux", "income", True),
    ("706000", "Prestations de services", "income", True),
    ("706100", "Prestations de conseil", "income", True),
    ("706200", "Prestations de conception lumière", "income", True),
    ("706300", "Locations de matériel d'éclairage", "income", True),
    ("707000", "Ventes de marchandises", "income", True),
    ("707100", "Ventes de marchandises - UE", "income", True),
    ("707200", "Ventes de marchandises - Export", "income", True),
    ("708500", "Ports et frais accessoires facturés", "income", True),
    ("708800", "Autres produits d'activités annexes", "other_income", True),
    ("709000", "Rabais, remises et ristournes accordés", "income", True),
    ("740000", "Subventions d'exploitation", "other_income", True),
    ("758000", "Produits divers de gestion courante", "other_income", True),
    ("761000", "Produits de participations", "finance_income", False),
    ("764000", "Revenus des valeurs mobilières de placement", "finance_income", True),
    ("766000", "Gains de change financiers", "finance_income", True),
    ("768000", "Autres produits financiers", "finance_income", True),
    ("771800", "Autres produits exceptionnels sur opérations de gestion", "other_income",
     True),
    ("775000", "Produits des cessions d'éléments d'actif", "other_income", True),
    ("781100", "Reprises sur amortissements des immobilisations", "other_income", True),
    ("791000", "Transferts de charges d'exploitation", "other_income", True),
    ("104000", "Primes liées au capital social", "equity", True),
    ("108000", "Compte de l'exploitant", "equity", False),
    ("151000", "Provisions pour risques", "other_liability", True),
    ("208000", "Autres immobilisations incorporelles", "intangible_asset", True),
    ("261000", "Titres de participation", "financial_asset", True),
    ("401100", "Fournisseurs - Achats de biens et prestations", "accounts_payable", True),
    ("411100", "Clients - Ventes de biens et prestations", "accounts_receivable", True),
    ("445200", "TVA due intracommunautaire", "other_current_liability", True),
    ("445860", "TVA sur factures non parvenues", "other_current_asset", True),
    ("606800", "Autres matières et fournitures", "expense", True),
    ("613400", "Locations de véhicules", "expense", True),
    ("615000", "Entretien et réparations", "expense", True),
    ("618300", "Documentation technique", "expense", True),
    ("622800", "Rémunérations d'intermédiaires divers", "expense", True),
    ("623700", "Échantillons", "expense", False),
    ("625110", "Indemnités kilométriques", "expense", True),
    ("626300", "Affranchissements", "expense", True),
]

UK_CHART = [
    ("0030", "Office Equipment", "fixed_asset", True),
    ("0040", "Furniture and Fixtures", "fixed_asset", True),
    ("0050", "Motor Vehicles", "fixed_asset", True),
    ("1001", "Stock", "other_current_asset", True),
    ("1100", "Debtors Control Account", "accounts_receivable", True),
    ("1103", "Prepayments", "other_current_asset", True),
    ("1210", "Petty Cash", "cash", True),
    ("2100", "Creditors Control Account", "accounts_payable", True),
    ("2109", "Accruals", "other_current_liability", True),
    ("2200", "VAT Liability", "other_current_liability", True),
    ("2210", "PAYE and NIC", "other_current_liability", True),
    ("2300", "Bank Loan", "long_term_liability", True),
    ("3000", "Share Capital", "equity", True),
    ("3200", "Retained Earnings", "equity", True),
    ("4000", "Sales - Lighting Products", "income", True),
    ("4010", "Sales - Export EU", "income", True),
    ("4900", "Other Income", "other_income", True),
    ("5000", "Cost of Goods Sold", "cost_of_goods_sold", True),
    ("5100", "Carriage Inwards", "cost_of_goods_sold", True),
    ("6100", "Advertising and Marketing", "expense", True),
    ("7000", "Wages and Salaries", "employee_benefit_expense", True),
    ("7100", "Rent", "expense", True),
    ("7200", "Light and Heat", "expense", True),
    ("7500", "Office Stationery", "expense", True),
    ("7502", "Telephone and Internet", "expense", True),
    ("7600", "Legal and Professional Fees", "expense", True),
    ("7700", "Software Subscriptions", "expense", True),
    ("7900", "Bank Charges", "expense", True),
    ("8000", "Depreciation", "depreciation_expense", True),
    ("8200", "Travel and Subsistence", "expense", True),
    ("8300", "Insurance", "expense", True),
]

FR_SUPPLIERS = [
    "OVHcloud", "Orange Business", "Papeterie Martin SARL", "Bouygues Telecom Entreprises",
    "EDF Entreprises", "Engie Pro", "La Poste Solutions Business", "Free Pro", "SNCF Voyageurs",
    "Air France", "Manutan", "Lyreco France", "Bureau Vallée Paris 11", "Leroy Merlin Pro",
    "Rexel France", "Sonepar Paris", "Würth France", "Axa Assurances IARD",
    "MAAF Pro", "Cabinet Lefèvre Expertise Comptable", "Fidal Avocats", "Qonto",
    "Alan Assurance Santé", "Swile", "Indy", "Pennylane", "Scaleway", "Adobe Systems France",
    "Microsoft France", "Google Cloud France", "Leboncoin Pro", "Uber France", "G7 Taxis",
    "Imprimerie Nouvelle Lyonnaise", "Transports Dubois & Fils", "Menuiserie Girard SARL",
    "Luminaires Bertrand SAS", "Électricité Moreau", "Atelier Verrier Petit", "Café Richard",
]
FR_CUSTOMERS = [
    "Musée des Arts Décoratifs", "Hôtel Le Marais", "Galeries Lafayette Haussmann",
    "Théâtre du Châtelet", "Maison Chaumet", "Restaurant Le Comptoir", "Opéra de Lyon",
    "Studio Harcourt", "Boutique Sézane", "Mairie du 11e arrondissement",
    "Fondation Cartier", "Hôtel de Crillon", "Cinéma Le Grand Rex", "Agence Havas Paris",
    "Cabinet d'architectes Roux", "Librairie Gallimard", "Brasserie Lipp",
    "Palais de Tokyo", "Boulangerie Poilâne", "Domaine Chandon",
]
UK_SUPPLIERS = [
    "BT Business", "Octopus Energy for Business", "Royal Mail Group", "Screwfix Direct",
    "Viking Office Supplies", "DHL Express UK", "Aviva Insurance", "Xero UK",
    "Wickes Trade", "Brighton Glassworks Ltd",
]
UK_CUSTOMERS = [
    "The Savoy Hotel", "Tate Modern", "Liberty London", "Soho House", "Selfridges & Co",
    "Royal Albert Hall", "Dishoom Covent Garden", "National Theatre",
]
# Vendors' VAT numbers, as a Zoho contact carries them in `vat_reg_no` (contacts.yml). The
# sample invoices of the tests use OVHcloud's; the others are made up, with a valid key.
KNOWN_VAT_NUMBERS = {"OVHcloud": "FR22424761419"}


def vendor_vat_number(name, spec, index):
    if name in KNOWN_VAT_NUMBERS:
        return KNOWN_VAT_NUMBERS[name]
    siren = 812000000 + index * 1031
    if spec["chart"] == "fr":
        return f"FR{(12 + 3 * (siren % 97)) % 97:02d}{siren}"
    return f"GB{siren}"


ITEM_NAMES = [
    ("Suspension laiton Lumière", "goods", "pcs"), ("Applique murale Opaline", "goods", "pcs"),
    ("Lampadaire Arc", "goods", "pcs"), ("Ruban LED 5 m", "goods", "pcs"),
    ("Ampoule filament E27", "goods", "pcs"), ("Variateur DALI", "goods", "pcs"),
    ("Projecteur sur rail", "goods", "pcs"), ("Câble textile 10 m", "goods", "m"),
    ("Douille porcelaine", "goods", "pcs"), ("Transformateur 24 V", "goods", "pcs"),
    ("Abat-jour lin naturel", "goods", "pcs"), ("Lanterne extérieure", "goods", "pcs"),
    ("Spot encastrable", "goods", "pcs"), ("Plafonnier verre soufflé", "goods", "pcs"),
    ("Lampe de bureau Atelier", "goods", "pcs"), ("Kit éclairage vitrine", "goods", "pcs"),
    ("Étude d'éclairage", "service", "h"), ("Conception lumière scénographique", "service", "h"),
    ("Installation sur site", "service", "h"), ("Maintenance annuelle", "service", "pcs"),
    ("Location projecteurs (jour)", "service", "day"), ("Déplacement technicien", "service", "km"),
    ("Formation éclairagiste", "service", "day"), ("Rendu 3D lumière", "digital_service", "pcs"),
    ("Fiche technique PDF", "digital_service", "pcs"), ("Audit énergétique", "service", "pcs"),
    ("Restauration de luminaire", "service", "h"), ("Emballage caisse bois", "goods", "pcs"),
    ("Livraison Paris intra-muros", "service", "pcs"), ("Consommables atelier", "goods", "pcs"),
]


class _Seeder:
    """Builds one organisation's records with ids reserved in a fixed order."""

    def __init__(self, db, rng):
        self.db = db
        self.rng = rng
        self.rows = []

    def created(self, offset_days=0):
        return zoho_timestamp(SEED_EPOCH + offset_days * 86400, self.time_zone)

    def add(self, kind, org_id, record, record_id, columns):
        self.rows.append((kind, org_id, record_id, record, columns))

    def seed_org(self, spec, member):
        self.time_zone = spec["time_zone"]
        org_id = store.new_id(self.db)
        currencies = self.seed_currencies(org_id, spec)
        base = currencies[spec["base_currency"]]
        org = records.organization(org_id, dict(spec, currency=base),
                                   zoho_date(SEED_EPOCH, self.time_zone))
        self.add("organization", org_id, org, org_id, {"name": spec["name"]})
        self.db.execute("INSERT INTO org_member VALUES (?, ?)", (org_id, member))
        self.db.execute("INSERT INTO org_limit VALUES (?, ?, ?, ?)",
                        (org_id, *DEFAULT_LIMITS.values()))
        accounts = self.seed_chart(org_id, FR_CHART if spec["chart"] == "fr" else UK_CHART)
        self.seed_bank_account(org_id, spec["bank"], base)
        taxes = self.seed_taxes(org_id, spec["taxes"], accounts)
        self.seed_contacts(org_id, spec, base)
        self.seed_items(org_id, spec["items"], taxes)
        store.insert_records(self.db, self.rows)
        self.rows = []
        return org_id

    def seed_currencies(self, org_id, spec):
        codes = (spec["base_currency"], *spec["other_currencies"])
        base_rate = float(CURRENCIES[spec["base_currency"]][2])
        result = {}
        for code in codes:
            name, symbol, eur_rate = CURRENCIES[code]
            rate = round(float(eur_rate) / base_rate, 4)
            currency_id = store.new_id(self.db)
            record = records.currency(
                currency_id, code, name, symbol, is_base=code == spec["base_currency"],
                exchange_rate=rate, effective_date=zoho_date(SEED_EPOCH, self.time_zone),
            )
            self.add("currency", org_id, record, currency_id, {"name": code})
            result[code] = record
        return result

    def seed_chart(self, org_id, chart):
        ids = store.reserve_ids(self.db, len(chart))
        by_code = {}
        for account_id, (code, name, account_type, active) in zip(ids, chart, strict=True):
            record = records.account(account_id, name, code, account_type, is_active=active,
                                     created_time=self.created())
            record["is_system_account"] = account_type in ("accounts_payable",
                                                           "accounts_receivable")
            self.add("account", org_id, record, account_id, records.account_columns(record))
            by_code[code] = record
        return by_code

    def seed_bank_account(self, org_id, bank, base_currency):
        account_id = store.new_id(self.db)
        record = records.account(account_id, bank["account_name"], bank["account_code"], "bank",
                                 is_active=True, created_time=self.created())
        records.add_bank_details(record, base_currency, bank)
        record["balance"] = record["bcy_balance"] = 12840.37
        self.add("account", org_id, record, account_id, records.account_columns(record))

    def seed_taxes(self, org_id, taxes, accounts):
        vat_accounts = [a for a in accounts.values() if "VAT" in a["account_name"]
                        or "TVA" in a["account_name"]]
        output_id = vat_accounts[0]["account_id"] if vat_accounts else ""
        result = []
        for name, percentage, is_default in taxes:
            tax_id = store.new_id(self.db)
            record = records.tax(tax_id, name, percentage, is_default=is_default,
                                 tax_account_id=output_id, purchase_tax_account_id=output_id)
            self.add("tax", org_id, record, tax_id, {"name": name})
            result.append(record)
        return result

    def seed_contacts(self, org_id, spec, base_currency):
        fr = spec["chart"] == "fr"
        suppliers = (FR_SUPPLIERS if fr else UK_SUPPLIERS)[: spec["suppliers"]]
        customers = (FR_CUSTOMERS if fr else UK_CUSTOMERS)[: spec["customers"]]
        named = [(n, "vendor") for n in suppliers] + [(n, "customer") for n in customers]
        for index, (name, contact_type) in enumerate(named):
            contact_id = store.new_id(self.db)
            details = self.contact_details(name, spec, index)
            if contact_type == "vendor":
                details["vat_reg_no"] = vendor_vat_number(name, spec, index)
            record = records.contact(contact_id, name, contact_type, base_currency,
                                     created_time=self.created(index), details=details)
            if index % 17 == 16:  # a few archived contacts, as in any real ledger
                record["status"] = "inactive"
            self.add("contact", org_id, record, contact_id, records.contact_columns(record))

    def contact_details(self, name, spec, index):
        slug = "".join(ch for ch in name.lower() if ch.isalnum())[:20]
        city = spec["address"]["city"]
        return {
            "email": f"compta@{slug}.example",
            "phone": spec["phone"][:-4] + f"{self.rng.randint(1000, 9999)}",
            "billing_address": records.address(f"{self.rng.randint(1, 180)} avenue "
                                               "de la République", city,
                                               spec["address"]["zip"],
                                               spec["address"]["country"]),
            "payment_terms": self.rng.choice((0, 30, 45, 60)),
            "payment_terms_label": "Net 30",
            "contact_number": f"C-{index + 1:05d}",
        }

    def seed_items(self, org_id, count, taxes):
        for index, (name, product_type, unit) in enumerate(ITEM_NAMES[:count]):
            item_id = store.new_id(self.db)
            rate = float(self.rng.randint(5, 900)) + self.rng.choice((0.0, 0.5, 0.9))
            record = records.item(item_id, name, rate, taxes[0], sku=f"SKU-{index + 1:04d}",
                                  product_type=product_type, unit=unit)
            if index % 11 == 10:
                record["status"] = "inactive"
            self.add("item", org_id, record, item_id, records.item_columns(record))


def seed_database(db):
    """Fill an empty database with the demo data; returns the organisation ids."""
    seeder = _Seeder(db, random.Random(SEED))
    with store.transaction(db):
        org_ids = [seeder.seed_org(spec, DEMO_USER) for spec in ORG_SPECS]
        seeder.seed_org(FOREIGN_ORG_SPEC, OTHER_USER)
    return org_ids


def is_seeded(db):
    return db.execute("SELECT 1 FROM record WHERE kind = 'organization' LIMIT 1").fetchone()
