"""Suppliers recognised by who they are, and taxes checked against the document.

- zoho_contact.vat_number: the VAT or tax registration number Zoho gives for a contact
  (vat_reg_no, tax_reg_no or gst_no, depending on the edition);
- zoho_contact.identifiers: what Bookbridge learned itself about a contact from the
  documents matched to it (VAT numbers, registration numbers, IBANs);
- document.supplier_registration: the seller's company registration number (SIREN/SIRET...);
- document.recognition: how the supplier was recognised (by VAT number, by name...);
- document.tax_confirmed: the tax difference a person accepted on purpose.
"""
from peewee import CharField

from models.base import JSONField


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('zoho_contact', 'vat_number', CharField(default='')),
        migrator.add_column('zoho_contact', 'identifiers', JSONField(default=dict)),
        migrator.add_column('document', 'supplier_registration', CharField(default='')),
        migrator.add_column('document', 'recognition', JSONField(default=dict)),
        migrator.add_column('document', 'tax_confirmed', CharField(default='')),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('zoho_contact', 'vat_number'),
        migrator.drop_column('zoho_contact', 'identifiers'),
        migrator.drop_column('document', 'supplier_registration'),
        migrator.drop_column('document', 'recognition'),
        migrator.drop_column('document', 'tax_confirmed'),
    )
