"""Registration tables, one module per subject (venues and visits here; arrivals and gatherings beside)."""

from fangkong.registration.models.venues import Inspection, Venue, Visit

__all__ = ["Inspection", "Venue", "Visit"]
