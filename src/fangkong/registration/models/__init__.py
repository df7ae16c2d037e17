"""Registration tables, split by subject."""

from fangkong.registration.models.arrivals import Arrival
from fangkong.registration.models.gatherings import Gathering, GatheringAttendee

__all__ = ["Arrival", "Gathering", "GatheringAttendee"]
