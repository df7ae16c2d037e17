"""Registration tables, one module per subject."""

from fangkong.registration.models.arrivals import Arrival
from fangkong.registration.models.gatherings import Gathering, GatheringAttendee
from fangkong.registration.models.venues import Inspection, Venue, Visit

__all__ = ["Arrival", "Gathering", "GatheringAttendee", "Inspection", "Venue", "Visit"]
