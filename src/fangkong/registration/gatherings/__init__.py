"""Gathering registration (密集人员登记): an organiser's event and its attendees, for the staff who check them."""
