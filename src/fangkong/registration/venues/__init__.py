"""Venues and their venue codes (场所码): the registry, public check-in (出入登记), visits, inspections."""
